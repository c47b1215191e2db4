"""The walls around a submission's test process: another user, and limits on what it may use.

Why
---
The grader never believes what the student's process says (``verdict``),
but that process still runs with whatever rights it is given.  Left alone,
a submission could kill the grader, write ``results.json`` itself, read the
answer key or the hidden tests, fill the disk or the memory.  So, where the
platform allows it (Gradescope runs the autograder as root), the test
process runs

* as another user, ``nobody``, who owns nothing the grader needs: it can
  neither signal the grader's processes nor read or write its files
  (``lock_down`` makes the autograder's own folders private to root first);
* with resource limits: address space (a memory hog gets MemoryError, not
  the machine), the size of any file it writes (100 MB of output stops at
  the limit), no core dumps;
* in a PID namespace of its own (``unshare``), where no process of the
  grader exists to be signalled;
* in a session of its own, so that the whole process group, and anything it
  started, is killed after a time limit or at the end (as root: every
  process of the sandbox user).

The sandbox user must be able to run Python and read its packages; where the
grader's interpreter lies in a folder private to root, the system's
``python3`` with the grader's site-packages on its path is tried instead, and
if neither works the grader runs without another user (and says so).
Without root (a student grading at home, a test suite) the limits and, where
the system allows unprivileged namespaces, the PID namespace apply; the
verdict is still the grader's, computed from data, and what another user
adds (the grader's files out of reach) is then missing.
"""
from __future__ import annotations

import os
import pwd
import resource
import shutil
import signal
import site
import stat
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

SANDBOX_USER = "nobody"


@dataclass(frozen=True)
class Confinement:
    """How to start the test process: limits, the user to become (None: stay), the
    interpreter it runs, folders for its import path, and a command to run it under."""
    memory_bytes: int = 8 * 1024**3      # address space; Numba and BLAS reserve a lot of it
    file_bytes: int = 64 * 1024**2       # any single file written, output included
    uid: int | None = None
    gid: int | None = None
    python: str = sys.executable
    import_path: tuple[str, ...] = ()
    prefix: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def command(self, command: list[str]) -> list[str]:
        """``command`` (an interpreter, then its arguments) as the confined process runs it."""
        return [*self.prefix, self.python, *command[1:]]

    def environment(self, home: Path) -> dict[str, str]:
        """Variables the confined process needs: a home and caches it may write."""
        variables = {"HOME": str(home), "NUMBA_CACHE_DIR": str(home / "numba-cache"),
                     "TINYTORCH_CACHE_DIR": str(home / "tinytorch-cache"),
                     "MPLCONFIGDIR": str(home / "matplotlib"), "PYTHONDONTWRITEBYTECODE": "1"}
        if self.import_path:
            variables["PYTHONPATH"] = os.pathsep.join(self.import_path)
        return variables

    def end_all(self) -> None:
        """Kill every process of the sandbox user (what a test process left running)."""
        if self.uid is None:
            return
        pid = os.fork()
        if pid == 0:  # the child becomes the sandbox user, then signals all its processes
            try:
                os.setgroups([])
                os.setgid(self.gid)
                os.setuid(self.uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)

    def enter(self) -> None:
        """Run in the child between fork and exec (``preexec_fn``): limits, then the user."""
        resource.setrlimit(resource.RLIMIT_AS, (self.memory_bytes, self.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_bytes, self.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if self.uid is not None:
            os.setgroups([])
            os.setgid(self.gid)
            os.setuid(self.uid)


def default_confinement() -> Confinement:
    """The strongest confinement this machine allows (see the module essay)."""
    notes = []
    candidates = [Confinement()]
    if os.geteuid() == 0:
        user = pwd.getpwnam(SANDBOX_USER)
        packages = tuple(path for path in site.getsitepackages() if os.path.isdir(path))
        candidates = [Confinement(uid=user.pw_uid, gid=user.pw_gid),
                      Confinement(uid=user.pw_uid, gid=user.pw_gid, python="/usr/bin/python3",
                                  import_path=packages), Confinement()]
    chosen = next(c for c in candidates if c is candidates[-1] or _works(c))
    if os.geteuid() == 0 and chosen.uid is None:
        notes.append(f"the user {SANDBOX_USER} cannot run {sys.executable} or the system's "
                     f"python3 with the grader's packages: tests run as root")
    namespace = ["unshare", "--pid", "--fork", "--kill-child"]
    if chosen.uid is not None or os.geteuid() != 0:
        namespace[1:1] = ["--user", "--map-current-user"]
    isolated = replace(chosen, prefix=tuple(namespace))
    if shutil.which("unshare") and _works(isolated):
        chosen = isolated
    else:
        notes.append("no PID namespace (unshare is missing or not allowed here)")
    return replace(chosen, notes=tuple(notes))


def _works(confinement: Confinement) -> bool:
    """Whether a process confined so can start Python and import what the tests need."""
    environment = {**os.environ, **({"PYTHONPATH": os.pathsep.join(confinement.import_path)}
                                    if confinement.import_path else {})}
    try:
        result = subprocess.run(confinement.command([sys.executable, "-c",
                                                     "import numpy, pytest"]),
                                env=environment, cwd="/", capture_output=True, timeout=120,
                                preexec_fn=confinement.enter)
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def hand_over(path: Path, confinement: Confinement) -> None:
    """Give the sandbox user ``path`` and everything under it (a copy of the submission, the
    scratch folder), so that the confined process can work there and nowhere else."""
    if confinement.uid is None:
        return
    for folder, directories, files in os.walk(path):
        for name in [folder, *(os.path.join(folder, f) for f in directories + files)]:
            os.lchown(name, confinement.uid, confinement.gid)


def lock_down(*paths: Path) -> None:
    """Make ``paths`` private to their owner (root): no one else may read, list or enter."""
    for path in paths:
        if Path(path).exists():
            mode = os.stat(path).st_mode
            os.chmod(path, stat.S_IMODE(mode) & 0o700)
