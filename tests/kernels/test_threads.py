"""set_num_threads / get_num_threads: round trip, validation, and a cheap import."""
import subprocess
import sys

import numba
import numpy as np
import pytest

from tinytorch.kernels.threads import get_num_threads, set_num_threads

CEILING = numba.config.NUMBA_NUM_THREADS


@pytest.fixture
def restore_threads():
    before = get_num_threads()
    yield
    set_num_threads(before)


@pytest.mark.parametrize("count", sorted({1, CEILING}))
def test_round_trip(restore_threads, count):
    set_num_threads(count)
    assert get_num_threads() == count
    assert numba.get_num_threads() == count  # it really is Numba's setting


def test_numpy_integers_are_accepted(restore_threads):
    set_num_threads(np.int64(1))
    assert get_num_threads() == 1
    assert type(get_num_threads()) is int


@pytest.mark.parametrize("count", [0, -1, CEILING + 1])
def test_out_of_range_raises_value_error_naming_the_ceiling(restore_threads, count):
    before = get_num_threads()
    message = f"between 1 and {CEILING}.*NUMBA_NUM_THREADS.*got {count}"
    with pytest.raises(ValueError, match=message):
        set_num_threads(count)
    assert get_num_threads() == before  # a refused value changes nothing


@pytest.mark.parametrize("count", [1.0, "2", None, True])
def test_non_integers_raise_type_error(restore_threads, count):
    with pytest.raises(TypeError, match="n must be an int"):
        set_num_threads(count)


def test_importing_the_module_does_not_import_numba():
    # Load this one file on its own, in a fresh interpreter, so that whatever
    # the rest of the package imports does not hide what this module does.
    import tinytorch.kernels.threads as threads_module

    path = threads_module.__file__
    code = ("import importlib.util, sys; "
            f"spec = importlib.util.spec_from_file_location('threads', {path!r}); "
            "spec.loader.exec_module(importlib.util.module_from_spec(spec)); "
            "print('numba' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
