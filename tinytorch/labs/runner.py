"""Run pytest tests in a child process and record each one's outcome as it ends.

Grading and the lab checks never run tests in their own process: a student's
infinite loop or crash must cost one test, not the whole grade.  This script
is that child process.  It is run *as a script* (``python runner.py ...``) and
imports nothing from ``tinytorch`` itself, so it works even when the code
under test does not import.

It decides where ``tinytorch`` comes from:

* by default the tree given with ``--root`` goes first on ``sys.path``, as
  ``python -m pytest`` run in that directory would do; ``tinytorch.kernels``
  and ``tinytorch.codegen`` then come from wherever the installation maps them,
  which is why the grader first asks (``--where``) and refuses a mismatch;
* with ``--map-imports`` an import finder serves ``tinytorch``,
  ``tinytorch.kernels`` and ``tinytorch.codegen`` from the folders of
  ``--root`` (``tinytorch/``, ``kernels/``, ``codegen/``), and any other
  package of the tree from its folder, looking first in an ``--overlay``
  folder that holds only the files that differ.  The lab checks
  use this to test stubbed copies without copying the whole tree: every file
  they did not change keeps its path, so Numba's on-disk cache stays valid.

Each test runs under an alarm of ``--timeout`` seconds (a loop in Python code
is interrupted with an exception).  Every event is appended to ``--events`` as
one JSON line, flushed at once, so that the parent knows which test was
running if the process dies or has to be killed.
"""
from __future__ import annotations

import argparse
import importlib.abc
import importlib.util
import json
import os
import re
import signal
import sys
from pathlib import Path

PACKAGE_FOLDERS = {"tinytorch.kernels": "kernels", "tinytorch.codegen": "codegen", "tinytorch": "tinytorch"}


class TreeFinder(importlib.abc.MetaPathFinder):
    """Serve ``tinytorch`` and its layers from one source tree (plus an overlay)."""

    def __init__(self, root: Path, overlay: Path | None) -> None:
        self.bases = [folder for folder in (overlay, root) if folder is not None]

    def _relative_parts(self, fullname: str) -> list[str] | None:
        for package, folder in PACKAGE_FOLDERS.items():
            if fullname == package or fullname.startswith(package + "."):
                rest = fullname[len(package):].lstrip(".")
                return [folder, *(rest.split(".") if rest else [])]
        top = fullname.split(".")[0]  # any other package of the tree (its root is on sys.path)
        if any((base / top / "__init__.py").is_file() or (base / f"{top}.py").is_file()
               for base in self.bases):
            return fullname.split(".")
        return None

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001, ANN201
        parts = self._relative_parts(fullname)
        if parts is None:
            return None
        for base in self.bases:
            package_init = base.joinpath(*parts, "__init__.py")
            if package_init.is_file():
                locations = [str(b.joinpath(*parts)) for b in self.bases if b.joinpath(*parts).is_dir()]
                return importlib.util.spec_from_file_location(
                    fullname, package_init, submodule_search_locations=locations)
            module = base.joinpath(*parts[:-1], parts[-1] + ".py")
            if module.is_file():
                return importlib.util.spec_from_file_location(fullname, module)
        return None


class TestTimeout(Exception):
    """Raised inside a test that ran longer than its time limit."""


class Recorder:
    """A pytest plugin: one JSON line per event, a time limit per test."""

    def __init__(self, events_path: Path, timeout: float) -> None:
        self.events = open(events_path, "a", encoding="utf-8", buffering=1)
        self.timeout = timeout
        self.outcomes: dict[str, dict] = {}

    def write(self, **event) -> None:
        self.events.write(json.dumps(event) + "\n")
        self.events.flush()

    def pytest_collectreport(self, report) -> None:  # noqa: ANN001
        if report.failed:
            self.write(event="collect_error", nodeid=report.nodeid,
                       message=_first_line(report), output=_output(report))

    def pytest_collection_finish(self, session) -> None:  # noqa: ANN001
        self.write(event="collected", nodeids=[item.nodeid for item in session.items])

    def pytest_runtest_logstart(self, nodeid, location) -> None:  # noqa: ANN001
        self.outcomes[nodeid] = {"outcome": "passed", "message": "", "output": ""}
        self.write(event="start", nodeid=nodeid)

        def interrupt(signum, frame):  # noqa: ANN001
            raise TestTimeout(f"the test took longer than {self.timeout:g} s "
                              "(an infinite loop, or far too slow)")

        signal.signal(signal.SIGALRM, interrupt)
        signal.setitimer(signal.ITIMER_REAL, self.timeout)

    def pytest_runtest_logreport(self, report) -> None:  # noqa: ANN001
        outcome = self.outcomes.setdefault(report.nodeid, {"outcome": "passed", "message": "",
                                                           "output": ""})
        if outcome["outcome"] != "passed":
            return
        if report.failed:
            outcome.update(outcome="failed" if report.when == "call" else "error",
                           message=_first_line(report), output=_output(report))
        elif report.skipped:
            outcome.update(outcome="skipped", message=_first_line(report), output="")

    def pytest_runtest_logfinish(self, nodeid, location) -> None:  # noqa: ANN001
        signal.setitimer(signal.ITIMER_REAL, 0)
        self.write(event="result", nodeid=nodeid, **self.outcomes.get(nodeid, {"outcome": "passed"}))


def _first_line(report) -> str:  # noqa: ANN001
    """The line a student should read first: the exception and its message."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (file, line, reason)
        return str(longrepr[2])
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and crash.message:
        lines = [line for line in crash.message.splitlines() if line.strip()]
        return lines[0] if lines else crash.message
    text = str(longrepr or "").strip().splitlines()
    errors = [line[1:].strip() for line in text if line.startswith("E ")]
    exceptions = [line for line in errors if re.match(r"^[\w.]+(Error|Exception|Exit)\b", line)]
    places = [match.groups() for line in errors
              for match in [re.match(r'^File "(.+)", line (\d+)', line)] if match]
    if exceptions and places:  # a module that does not even parse: say where
        return f"{exceptions[-1]} ({places[-1][0]}:{places[-1][1]})"
    return exceptions[-1] if exceptions else errors[0] if errors else text[-1] if text else ""


def _output(report) -> str:  # noqa: ANN001
    text = getattr(report, "longreprtext", "") or ""
    return text[-6000:]


def where() -> dict[str, str]:
    """The folders ``tinytorch`` and its layers would import from, found without running them.

    Nothing is imported: a student's half-written package may fail to import,
    and that must show up test by test, not stop the question.
    """
    found = {}
    spec = importlib.util.find_spec("tinytorch")
    if spec is None or spec.origin is None:
        return {"tinytorch": "error: no module named tinytorch"}
    found["tinytorch"] = os.path.dirname(os.path.abspath(spec.origin))
    for name in ("tinytorch.kernels", "tinytorch.codegen"):
        for finder in sys.meta_path:
            layer = getattr(finder, "find_spec", lambda *args: None)(
                name, list(spec.submodule_search_locations or []))
            if layer is not None and layer.origin:
                found[name] = os.path.dirname(os.path.abspath(layer.origin))
                break
        else:
            found[name] = f"error: no module named {name}"
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--overlay", type=Path)
    parser.add_argument("--map-imports", action="store_true")
    parser.add_argument("--where", action="store_true", help="print where tinytorch imports from")
    parser.add_argument("--events", type=Path)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("tests", nargs="*")
    args = parser.parse_args()
    root = args.root.resolve()
    sys.path[0] = str(root)  # the script's own folder must not shadow anything
    if args.map_imports:
        sys.meta_path.insert(0, TreeFinder(root, args.overlay.resolve() if args.overlay else None))
    if args.where:
        print(json.dumps(where()))
        return 0
    import pytest

    recorder = Recorder(args.events, args.timeout)
    return pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", str(root), "-o",
                        "console_output_style=classic", *args.tests], plugins=[recorder])


if __name__ == "__main__":
    sys.exit(main())
