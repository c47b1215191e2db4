"""Compiling C for the host and for Cortex-M microcontrollers.

What
----
The same C source is built two ways.  For the *host* (the machine running
Python) the system C compiler makes a shared library that Python loads with
ctypes, or a small executable; that is how tests compare every kernel and every
generated model with the Python int8 kernels.  For a *target* (Cortex-M0+,
M4, M7) a cross compiler makes a bare-metal ELF: our start-up code
(``c/startup.c``), our linker script (``c/cortex_m.ld``), no C library.

Which cross compiler
--------------------
``arm-none-eabi-gcc`` when it is on PATH (Arm's own toolchain, the usual
choice in industry), otherwise Zig's bundled clang from the pip package
``ziglang`` (``python -m ziglang cc``), which needs nothing but pip.  Its
quirks: ``-g`` or the ELF has no symbol table; the FPU must be named in
``-mcpu`` (``+vfp4d16sp``) or it emits soft-float calls; no ``-nostdlib``,
which would drop the 64-bit multiply helpers an M0+ needs; an explicit entry
point; and a cache directory of its own (the first link builds its runtime
library, about 12 s, later ones take a fraction of a second).

Flags
-----
Every build is strict C99 with warnings as errors (``-std=c99 -Wall -Wextra
-Werror -pedantic``), so the generated code is portable, and optimized for
size (``-Os``, or ``-O2`` on request) with every function and variable in a
section of its own (``-ffunction-sections -fdata-sections``) so that the
linker drops what nothing uses (``--gc-sections``).

A missing tool raises ``ToolchainError`` saying what to install; nothing is
skipped silently.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

KERNEL_DIR = Path(__file__).resolve().parent / "c"
STARTUP_SOURCE = KERNEL_DIR / "startup.c"
LINKER_SCRIPT = KERNEL_DIR / "cortex_m.ld"
STRICT_C = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
SECTION_FLAGS = ["-ffunction-sections", "-fdata-sections"]
OPTIMIZATIONS = ("-Os", "-O2")


class ToolchainError(RuntimeError):
    """A compiler is missing or a build failed; the message says what to do."""


@dataclass(frozen=True)
class Target:
    name: str
    zig_flags: tuple[str, ...]
    gcc_flags: tuple[str, ...]
    has_dsp: bool


TARGETS = {
    "cortex-m0plus": Target("cortex-m0plus",
                            ("-target", "thumb-freestanding-eabi", "-mcpu=cortex_m0plus"),
                            ("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"), False),
    "cortex-m4": Target("cortex-m4",
                        ("-target", "thumb-freestanding-eabihf", "-mcpu=cortex_m4+vfp4d16sp"),
                        ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
                        True),
    "cortex-m7": Target("cortex-m7",
                        ("-target", "thumb-freestanding-eabihf", "-mcpu=cortex_m7+fp_armv8d16"),
                        ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"),
                        True),
}
TARGET_NAMES = ("host",) + tuple(TARGETS)


def cache_dir() -> Path:
    """Where build products and Zig's cache live: $TINYTORCH_CACHE_DIR or ~/.cache/tinytorch."""
    root = os.environ.get("TINYTORCH_CACHE_DIR") or Path.home() / ".cache" / "tinytorch"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def kernel_sources() -> list[Path]:
    """Every kernel file, start-up code excepted."""
    return sorted(p for p in KERNEL_DIR.glob("*.c") if p != STARTUP_SOURCE)


def _run(command: list[str], what: str, env: dict | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise ToolchainError(f"{what} failed (exit {result.returncode}):\n  {' '.join(command)}\n"
                             f"{result.stdout}{result.stderr}")


# --- The host -------------------------------------------------------------

def host_compiler() -> str:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    raise ToolchainError("no host C compiler: install gcc or clang (e.g. apt-get install gcc) "
                         "or set CC")


def build_host_library(sources: list[Path], output: Path, include_dirs: list[Path] = (),
                       optimization: str = "-O2", extra_flags: list[str] = ()) -> Path:
    """A shared library of ``sources`` for ctypes."""
    command = [host_compiler(), *STRICT_C, optimization, "-shared", "-fPIC",
               *[f"-I{d}" for d in (KERNEL_DIR, *include_dirs)], *extra_flags,
               *map(str, sources), "-o", str(output)]
    _run(command, "host build")
    return output


def build_host_executable(sources: list[Path], output: Path, include_dirs: list[Path] = (),
                          optimization: str = "-O1", extra_flags: list[str] = ()) -> Path:
    """An executable (the caller brings main), e.g. with sanitizers in ``extra_flags``."""
    command = [host_compiler(), *STRICT_C, optimization,
               *[f"-I{d}" for d in (KERNEL_DIR, *include_dirs)], *extra_flags,
               *map(str, sources), "-o", str(output)]
    _run(command, "host build")
    return output


# --- Cortex-M -------------------------------------------------------------

def cross_compiler() -> tuple[list[str], str]:
    """The cross compiler's command and its kind ("gcc" or "zig")."""
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc:
        return [gcc], "gcc"
    try:
        import ziglang  # noqa: F401  (only to learn whether it is installed)
    except ImportError:
        raise ToolchainError(
            "no Cortex-M compiler: pip install ziglang (or pip install -e \".[mcu]\"), "
            "or put arm-none-eabi-gcc on PATH") from None
    return [sys.executable, "-m", "ziglang", "cc"], "zig"


def _zig_environment() -> dict:
    env = dict(os.environ)
    zig_cache = str(cache_dir() / "zig")
    env.setdefault("ZIG_GLOBAL_CACHE_DIR", zig_cache)
    env.setdefault("ZIG_LOCAL_CACHE_DIR", zig_cache)
    return env


def build_firmware(sources: list[Path], output: Path, target: str, include_dirs: list[Path] = (),
                   optimization: str = "-Os", keep_symbols: list[str] = (),
                   stack_size: int = 2048, extra_flags: list[str] = ()) -> Path:
    """A bare-metal ELF for ``target``: ``sources`` + start-up code + our linker script.

    ``keep_symbols`` (e.g. the model's invoke function) survive section garbage
    collection although nothing in the firmware calls them.
    """
    if target not in TARGETS:
        raise ToolchainError(f"unknown target {target!r}; choose one of {', '.join(TARGET_NAMES)}")
    if optimization not in OPTIMIZATIONS:
        raise ToolchainError(f"optimization must be one of {OPTIMIZATIONS}, got {optimization!r}")
    compiler, kind = cross_compiler()
    spec = TARGETS[target]
    # Not every linker takes --defsym, so the stack size goes into a copy of the script.
    linker_script = output.with_suffix(".ld")
    linker_script.write_text(LINKER_SCRIPT.read_text().replace(
        "STACK_SIZE = 2048;", f"STACK_SIZE = {int(stack_size)};"))
    link = ["-Wl,--gc-sections", f"-Wl,-T,{linker_script}", "-Wl,-e,tt_reset_handler",
            *[f"-Wl,-u,{symbol}" for symbol in keep_symbols]]
    if kind == "zig":
        flags = [*spec.zig_flags, "-g"]
        env = _zig_environment()
    else:
        flags = [*spec.gcc_flags, "-g", "-nostdlib", "-nostartfiles"]
        link.append("-lgcc")  # 64-bit multiply and shift helpers (M0+)
        env = None
    command = [*compiler, *flags, *STRICT_C, optimization, *SECTION_FLAGS, *extra_flags,
               *[f"-I{d}" for d in (KERNEL_DIR, *include_dirs)],
               *map(str, [*sources, STARTUP_SOURCE]), *link, "-o", str(output)]
    _run(command, f"{target} build ({kind})", env)
    return output
