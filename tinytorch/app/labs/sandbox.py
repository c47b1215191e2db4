"""Run a lab's tests in child processes so that one bad test costs only itself.

``run_tests`` starts ``runner.py`` (a pytest run that writes one JSON line per
event) and watches it.  Three things can go wrong in a student's code, and
each is charged to the test that was running:

* an exception or a failed assertion: pytest records it, as usual;
* a loop in Python code: the runner's alarm raises inside the test;
* a loop inside compiled code (the alarm cannot interrupt it) or a crash of
  the interpreter (a segfault, ``os._exit``): the watcher sees no result for
  the running test, kills the process group, records that test as timed out
  or crashed, and starts a new process for the tests that have not run yet.

With ``collect_only`` the child only lists the tests (pytest's collection):
how the grader learns, from the reference, which tests a lab has.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .confinement import Confinement, hand_over
from .expect import MODE_VARIABLE

RUNNER = Path(__file__).with_name("runner.py")
GRACE_SECONDS = 15.0  # beyond the per-test limit, for collection and the alarm to act
LOG_LIMIT = 200_000  # bytes of a test process's output kept (the end of it)
EVENTS_LIMIT = 256 * 1024 * 1024


@dataclass
class TestRun:
    """What happened to the selected tests: node id -> outcome, message, output."""

    collected: list[str] = field(default_factory=list)
    results: dict[str, dict] = field(default_factory=dict)
    collect_errors: list[dict] = field(default_factory=list)
    log: str = ""
    exit_code: int | None = None  # of the last test process

    def outcome(self, nodeid: str) -> str:
        return self.results.get(nodeid, {}).get("outcome", "not run")


def runner_command(root: Path, *, map_imports: bool = False, overlay: Path | None = None,
                   runner: Path = RUNNER) -> list[str]:
    command = [sys.executable, str(runner), "--root", str(root)]
    if map_imports:
        command.append("--map-imports")
    if overlay is not None:
        command += ["--overlay", str(overlay)]
    return command


def _tail(path: Path, limit: int) -> str:
    """The last ``limit`` bytes of a file the test process wrote (it may be huge)."""
    with open(path, "rb") as file:
        file.seek(max(0, os.path.getsize(path) - limit))
        return file.read().decode("utf-8", errors="replace")


def _read_events(path: Path) -> list[dict]:
    """The events the test process wrote: untrusted, so only well-formed ones, with the fields
    the run needs of the right types, and never more than EVENTS_LIMIT bytes."""
    if not path.exists():
        return []
    events = []
    with open(path, "rb") as file:
        data = file.read(EVENTS_LIMIT)
    for line in data.splitlines():
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):  # a line cut short by a crash, or garbage
            continue
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            continue
        if event["event"] in ("start", "result", "collect_error") and \
                not isinstance(event.get("nodeid"), str):
            continue
        if event["event"] == "collected" and not (
                isinstance(event.get("nodeids"), list)
                and all(isinstance(n, str) for n in event["nodeids"])):
            continue
        events.append(event)
    return events


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def run_tests(root: Path, selectors: list[str], *, timeout: float = 60.0, map_imports: bool = False,
              overlay: Path | None = None, env: dict[str, str] | None = None,
              collect_only: bool = False, record: bool = False,
              confinement: Confinement | None = None) -> TestRun:
    """Run ``selectors`` (pytest files or node ids, relative to ``root``) with ``root`` as cwd.

    ``record``: the tests' checks are recorded for the grader to judge
    (``$TINYTORCH_CHECKS=record``), and pytest runs sealed from anything the
    tree could configure (see runner.py).  ``confinement``: the test process
    runs inside it (``confinement.py``); the caller hands it ``root`` first.
    """
    run = TestRun()
    base = runner_command(root, map_imports=map_imports, overlay=overlay)
    if collect_only:
        base.append("--collect-only")
    environment = {**os.environ, **(env or {}), "PYTHONDONTWRITEBYTECODE": "1"}
    if record:
        environment[MODE_VARIABLE] = "record"
        environment["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        for variable in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONSTARTUP", "PYTHONPATH"):
            environment.pop(variable, None)
    remaining = list(selectors)
    with tempfile.TemporaryDirectory(prefix="tinytorch-tests-") as scratch:
        if record:
            sealed_ini = Path(scratch) / "sealed.ini"
            sealed_ini.write_text("[pytest]\n", encoding="utf-8")
            base += ["--sealed", str(sealed_ini)]
        if confinement is not None:
            # The confined user may read nothing of the grader's: it gets a copy of the runner.
            shutil.copy(RUNNER, Path(scratch) / RUNNER.name)
            base[1] = str(Path(scratch) / RUNNER.name)
            home = Path(scratch) / "home"
            home.mkdir()
            environment.update(confinement.environment(home))
            hand_over(Path(scratch), confinement)
            os.chmod(scratch, 0o755)  # the confined user reads the ini and writes its events
        for attempt in range(1000):
            events_path = Path(scratch) / f"events-{attempt}.jsonl"
            log_path = Path(scratch) / f"log-{attempt}.txt"
            with open(log_path, "w", encoding="utf-8") as log:
                command = [*base, "--events", str(events_path), "--timeout", str(timeout),
                           *remaining]
                process = subprocess.Popen(
                    confinement.command(command) if confinement is not None else command,
                    cwd=root, env=environment, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=confinement.enter if confinement is not None else None)
                killed = _watch(process, events_path, timeout)
            if confinement is not None:
                confinement.end_all()  # nothing it started outlives the run
            run.log += _tail(log_path, LOG_LIMIT)
            run.exit_code = process.returncode
            running = None
            for event in _read_events(events_path):
                kind = event["event"]
                if kind == "collected" and not run.collected:
                    run.collected = event["nodeids"]
                elif kind == "collect_error":
                    run.collect_errors.append(event)
                elif kind == "start":
                    running = event["nodeid"]
                elif kind == "result":
                    run.results[event["nodeid"]] = event
                    running = None
            if running is not None and running not in run.results:
                message = (f"killed after {timeout:g} s without finishing (an infinite loop?)"
                           if killed else
                           f"the test process died (exit code {process.returncode}): a crash")
                run.results[running] = {"nodeid": running, "outcome": "timeout" if killed else
                                        "crashed", "message": message, "output": run.log[-4000:]}
            remaining = [nodeid for nodeid in run.collected if nodeid not in run.results]
            if not remaining or running is None:
                break
    return run


def _watch(process: subprocess.Popen, events_path: Path, timeout: float) -> bool:
    """Wait for ``process``; kill it when one test (or collection) overruns. True if killed."""
    last_progress, seen = time.monotonic(), 0
    while process.poll() is None:
        time.sleep(0.1)
        size = events_path.stat().st_size if events_path.exists() else 0
        if size != seen:
            seen, last_progress = size, time.monotonic()
        elif time.monotonic() - last_progress > timeout + GRACE_SECONDS:
            _kill(process)
            return True
    return False
