"""Shared fixtures: every C build happens once per test session."""
import ctypes

import pytest

from tinytorch.codegen import toolchain


@pytest.fixture(scope="session")
def codegen_build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("codegen")


@pytest.fixture(scope="session")
def host_kernels(codegen_build_dir):
    """The C kernels built for the host (reference path), loaded through ctypes."""
    library = toolchain.build_host_library(toolchain.kernel_sources(),
                                           codegen_build_dir / "kernels.so")
    return ctypes.CDLL(str(library))
