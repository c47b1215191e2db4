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
Two, both first-class, chosen by ``toolchain="zig"`` or ``"gcc"`` (the
``--toolchain`` option of the commands), else by the environment variable
``TINYTORCH_TOOLCHAIN``, else Zig:

* ``zig``: Zig's bundled clang from the pip package ``ziglang``
  (``python -m ziglang cc``), which needs nothing but pip, hence the
  default.  Its quirks: ``-g`` or the ELF has no symbol table; the FPU must
  be named in ``-mcpu`` (``+vfp4d16sp``) or it emits soft-float calls; no
  ``-nostdlib``, which would drop the 64-bit multiply helpers an M0+ needs;
  an explicit entry point; a cache directory of its own (the first link
  builds its runtime library, about 12 s, later ones take a fraction of a
  second); ``-mno-unaligned-access`` has no effect unless it is also
  named in ``-mcpu`` (``+strict_align``), which ``build_firmware`` does;
  and at ``-O2`` it keeps a frame pointer in r7, one register fewer for the
  DSP kernels' inner loops, which then spill to the stack (the fully
  connected layer took 3.0 instructions per multiply-add instead of 1.9), so
  the build asks for ``-fomit-frame-pointer``, which GCC and clang at
  ``-Os`` do anyway.
* ``gcc``: ``arm-none-eabi-gcc``, Arm's GNU toolchain, the one most embedded
  projects build with (Debian: ``apt-get install gcc-arm-none-eabi``).  No
  start-up files (ours are in ``c/``).  GCC may call ``memset`` and
  ``memcpy`` for code that never names them (zeroing a local array, a copy
  loop): GCC's manual requires even a freestanding environment to provide
  them.  So the firmware links the C library that comes with the compiler
  (newlib), of which the linker pulls in only those, plus ``libgcc`` for
  the M0+'s 64-bit helpers; and ``-fno-tree-loop-distribute-patterns``
  keeps the kernels' own short loops as loops instead of library calls.

A choice is never made silently for the user: an ``arm-none-eabi-gcc`` on
PATH does not change the default, so the same command builds the same ELF
on every machine until the user asks for the other compiler.

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
TOOLCHAINS = ("zig", "gcc")
TOOLCHAIN_VARIABLE = "TINYTORCH_TOOLCHAIN"


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

def chosen_toolchain(toolchain: str | None = None) -> str:
    """``toolchain`` if given, else $TINYTORCH_TOOLCHAIN, else "zig"; checked."""
    choice = toolchain or os.environ.get(TOOLCHAIN_VARIABLE) or "zig"
    if choice not in TOOLCHAINS:
        source = "toolchain" if toolchain else f"${TOOLCHAIN_VARIABLE}"
        raise ToolchainError(f"{source} must be one of {', '.join(TOOLCHAINS)}, got {choice!r}")
    return choice


def cross_compiler(toolchain: str | None = None) -> tuple[list[str], str]:
    """The cross compiler's command and its kind ("zig" or "gcc"); see the module essay."""
    kind = chosen_toolchain(toolchain)
    if kind == "gcc":
        gcc = shutil.which("arm-none-eabi-gcc")
        if not gcc:
            raise ToolchainError(
                "toolchain gcc: arm-none-eabi-gcc is not on PATH; install it (Debian/Ubuntu: "
                "apt-get install gcc-arm-none-eabi) or choose the toolchain zig")
        return [gcc], "gcc"
    try:
        import ziglang  # noqa: F401  (only to learn whether it is installed)
    except ImportError:
        raise ToolchainError(
            "toolchain zig: the ziglang package is not installed; pip install ziglang "
            "(or pip install -e \".[mcu]\"), or choose the toolchain gcc") from None
    return [sys.executable, "-m", "ziglang", "cc"], "zig"


def _zig_environment() -> dict:
    env = dict(os.environ)
    zig_cache = str(cache_dir() / "zig")
    env.setdefault("ZIG_GLOBAL_CACHE_DIR", zig_cache)
    env.setdefault("ZIG_LOCAL_CACHE_DIR", zig_cache)
    return env


def build_firmware(sources: list[Path], output: Path, target: str, include_dirs: list[Path] = (),
                   optimization: str = "-Os", keep_symbols: list[str] = (),
                   stack_size: int = 2048, extra_flags: list[str] = (),
                   toolchain: str | None = None) -> Path:
    """A bare-metal ELF for ``target``: ``sources`` + start-up code + our linker script.

    ``keep_symbols`` (e.g. the model's invoke function) survive section garbage
    collection although nothing in the firmware calls them.  ``toolchain``:
    "zig" or "gcc" (default: see ``chosen_toolchain``).
    """
    if target not in TARGETS:
        raise ToolchainError(f"unknown target {target!r}; choose one of {', '.join(TARGET_NAMES)}")
    if optimization not in OPTIMIZATIONS:
        raise ToolchainError(f"optimization must be one of {OPTIMIZATIONS}, got {optimization!r}")
    compiler, kind = cross_compiler(toolchain)
    spec = TARGETS[target]
    # Not every linker takes --defsym, so the stack size goes into a copy of the script.
    linker_script = output.with_suffix(".ld")
    linker_script.write_text(LINKER_SCRIPT.read_text().replace(
        "STACK_SIZE = 2048;", f"STACK_SIZE = {int(stack_size)};"))
    link = ["-Wl,--gc-sections", f"-Wl,-T,{linker_script}", "-Wl,-e,tt_reset_handler",
            *[f"-Wl,-u,{symbol}" for symbol in keep_symbols]]
    if kind == "zig":
        flags = [*spec.zig_flags, "-g", "-fomit-frame-pointer"]
        if "-mno-unaligned-access" in extra_flags:
            # zig cc passes the flag on, then its own CPU features, which turn it back off;
            # a feature named in -mcpu survives.
            flags = [f"{flag}+strict_align" if flag.startswith("-mcpu=") else flag
                     for flag in flags]
        env = _zig_environment()
    else:
        flags = [*spec.gcc_flags, "-g", "-nostartfiles", "-nodefaultlibs",
                 "-fno-tree-loop-distribute-patterns"]
        link += ["-lc", "-lgcc"]  # memset / memcpy; 64-bit helpers (M0+): see the essay
        env = None
    command = [*compiler, *flags, *STRICT_C, optimization, *SECTION_FLAGS, *extra_flags,
               *[f"-I{d}" for d in (KERNEL_DIR, *include_dirs)],
               *map(str, [*sources, STARTUP_SOURCE]), *link, "-o", str(output)]
    _run(command, f"{target} build ({kind})", env)
    return output
