"""Process tuning is opt-in: importing changes nothing; tune_process() does, in the right order.

Each case runs in a fresh interpreter, since both settings belong to a whole
process and cannot be undone.  The memory setting is observed through glibc
itself: ``mallinfo2().hblks`` counts the blocks malloc served with their own
mmap, which the tuned process must no longer do for a 24 MiB block.
"""
import ctypes
import ctypes.util
import os
import subprocess
import sys
import textwrap

import pytest


def run(code: str, **environment: str) -> str:
    clean = {name: value for name, value in os.environ.items() if name != "OMP_WAIT_POLICY"}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                            env={**clean, **environment}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_leaves_the_environment_alone_and_tune_process_sets_the_wait_policy():
    out = run("""
        import os
        import tinytorch, tinytorch.kernels, tinytorch.app.cli
        print(os.environ.get("OMP_WAIT_POLICY"))
        tuning = tinytorch.kernels.tune_process()
        print(os.environ.get("OMP_WAIT_POLICY"), tuning.wait_policy)
    """)
    assert out.splitlines() == ["None", "passive passive"]


def test_an_explicit_wait_policy_is_respected():
    out = run("""
        import os, tinytorch.kernels
        print(tinytorch.kernels.tune_process().wait_policy, os.environ["OMP_WAIT_POLICY"])
    """, OMP_WAIT_POLICY="active")
    assert out == "active active"


def test_tune_process_refuses_once_numba_threads_have_started():
    out = run("""
        import os, tinytorch, tinytorch.kernels
        tinytorch.get_num_threads()  # starts Numba's thread pool
        try:
            tinytorch.kernels.tune_process()
        except RuntimeError as error:
            print("refused:", error)
        print(os.environ.get("OMP_WAIT_POLICY"))
    """)
    refused, policy = out.splitlines()
    assert refused.startswith("refused: tune_process: Numba's threads have already started")
    assert policy == "None"  # nothing half-applied


def test_the_wait_policy_set_first_reaches_numba_threads_started_later():
    out = run("""
        import tinytorch, tinytorch.kernels
        tinytorch.kernels.tune_process()
        tinytorch.get_num_threads()
        print(tinytorch.kernels.tune_process().wait_policy)  # a second call is harmless
    """)
    assert out == "passive"


glibc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


@pytest.mark.skipif(not hasattr(glibc, "mallinfo2"), reason="needs glibc 2.33+ (mallinfo2)")
def test_freed_memory_stays_in_the_process_only_after_tune_process():
    out = run("""
        import ctypes, ctypes.util
        import tinytorch, tinytorch.kernels

        class MallInfo2(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                "uordblks", "fordblks", "keepcost")]

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallinfo2.restype = MallInfo2
        libc.malloc.restype = ctypes.c_void_p

        def own_mappings_for_a_large_block():
            before = libc.mallinfo2().hblks
            libc.malloc(24 << 20)  # kept, not freed: freeing would move glibc's threshold
            return libc.mallinfo2().hblks - before

        print(own_mappings_for_a_large_block())
        assert tinytorch.kernels.tune_process().keeps_freed_memory
        print(own_mappings_for_a_large_block())
    """)
    assert out.splitlines() == ["1", "0"]
