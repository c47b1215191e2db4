"""Installs TinyTorch as one package.

The repository keeps the three layers of the stack side by side at its root
(``kernels/``, ``tinytorch/``, ``codegen/``) so that a reader sees them as
equals.  Installed, they become one package: ``tinytorch``,
``tinytorch.kernels`` and ``tinytorch.codegen``; no generic top-level name such
as ``kernels`` ever lands in a user's site-packages.
"""
from setuptools import find_packages, setup

layer_packages = {"tinytorch.kernels": "kernels", "tinytorch.codegen": "codegen"}

packages = find_packages(include=["tinytorch", "tinytorch.*"])
package_dir = {}
for installed_name, folder in layer_packages.items():
    package_dir[installed_name] = folder
    packages.append(installed_name)
    packages += [f"{installed_name}.{sub}" for sub in find_packages(where=folder)]

# Cortex-M cross compiler, emulator and ELF reader; plots and notebooks for the labs.
MCU = ["ziglang>=0.13", "unicorn==2.1.4", "pyelftools>=0.29"]
LABS = ["matplotlib>=3.6", "jupytext>=1.14"]
# Reading .tflite files (the schema's generated flatbuffer reader).
TFLITE = ["tflite>=2.18"]

setup(
    name="tinytorch",
    version="0.1.0",
    description="A from-scratch educational ML framework: tensors to int8 C on a Cortex-M.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=packages,
    package_dir=package_dir,
    package_data={"tinytorch.datasets": ["*.npz", "*.md"],
                  "tinytorch.app.mlperf_tiny": ["*.tflite", "*.md"],
                  "tinytorch.codegen": ["c/*.c", "c/*.h", "c/*.ld"]},
    install_requires=["numpy>=1.24", "numba>=0.59", "tqdm>=4.60"],
    extras_require={
        "mcu": MCU,
        "labs": LABS,
        "tflite": TFLITE,
        # The tests build and emulate the generated C, run every tutorial, and compare
        # imported models with TensorFlow Lite Micro, which runs the same .tflite files.
        "dev": ["pytest>=7", "hypothesis>=6", "tflite-micro"] + MCU + LABS + TFLITE,
    },
    entry_points={"console_scripts": ["tinytorch = tinytorch.app.cli:main"]},
)
