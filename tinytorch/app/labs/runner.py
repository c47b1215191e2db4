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
running if the process dies or has to be killed.  A test file that does not
load is reported and the others still run; ``--collect-only`` lists the
tests without running any.

Graded tests are probes (``tinytorch.app.labs.expect``): the runner tells
``expect`` which test starts and adds the test's records of what the code
produced to its ``result`` event, with ``completed`` (the test ran to its
end).  With ``$TINYTORCH_CHECKS=record`` those records are all the grader
uses (``verdict.py``); pytest's own outcome, which code in this process
could forge, decides nothing there.  ``--sealed`` runs pytest with nothing
the tree under test could configure: the grader's empty ini (``-c``), no
``conftest.py``, no plugins from ``addopts`` or installed packages
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD``, set by the caller).

A failure is recorded as a student should read it: the line to read first
(``first_line``: numpy's comparisons summed up in one line, expected and got
named) and the place it points to, the deepest line of the student's own
package the error passed through (``student_place``), else the test's line
that found it.
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
import traceback
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


class TestTimeout(BaseException):
    """Raised inside a test that ran longer than its time limit.

    A BaseException, like KeyboardInterrupt: neither ``except Exception`` in the
    code under test nor ``expect.raises`` may swallow it."""


class Recorder:
    """A pytest plugin: one JSON line per event, a time limit per test.

    A failure is recorded with the line to read first (``first_line``) and two
    places: ``where``, the deepest line of the student's package the error
    passed through (``tinytorch/``, ``kernels/``, ``codegen/`` of the tree),
    and ``checked_at``, the test's own line that failed.
    """

    def __init__(self, events_path: Path, timeout: float, student_folders: list[Path]) -> None:
        self.events = open(events_path, "a", encoding="utf-8", buffering=1)
        self.timeout = timeout
        self.student_folders = student_folders
        self.outcomes: dict[str, dict] = {}
        self.collect_places: dict[str, str] = {}

    def write(self, **event) -> None:
        self.events.write(json.dumps(event) + "\n")
        self.events.flush()

    def pytest_exception_interact(self, node, call, report) -> None:  # noqa: ANN001
        error = call.excinfo.value if call.excinfo is not None else None
        if error is None:
            return
        where = student_place(error, self.student_folders)
        if report.nodeid not in self.outcomes:  # a collection error: reported next
            self.collect_places[report.nodeid] = where
            return
        outcome = self.outcomes[report.nodeid]
        if outcome.get("where") is None:  # the first failure of the test is the one shown
            test_file = str(getattr(node, "path", ""))
            outcome["where"] = where
            outcome["checked_at"] = _relative(_deepest(error, lambda name: name == test_file),
                                              self.student_folders)

    def pytest_collectreport(self, report) -> None:  # noqa: ANN001
        if report.failed:
            self.write(event="collect_error", nodeid=report.nodeid,
                       message=_first_line(report), output=_output(report),
                       where=self.collect_places.get(report.nodeid, ""))

    def pytest_collection_finish(self, session) -> None:  # noqa: ANN001
        self.write(event="collected", nodeids=[item.nodeid for item in session.items])

    def pytest_runtest_logstart(self, nodeid, location) -> None:  # noqa: ANN001
        self.outcomes[nodeid] = {"outcome": "passed", "message": "", "output": ""}
        self.write(event="start", nodeid=nodeid)
        expect = _expect()
        if expect is not None:
            expect.begin(nodeid, None)

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
        outcome = self.outcomes.get(nodeid, {"outcome": "passed"})
        expect = _expect()
        records = expect.take_records() if expect is not None else []
        self.write(event="result", nodeid=nodeid, records=records,
                   completed=outcome["outcome"] == "passed", **outcome)


def _expect():  # noqa: ANN202
    """The module ``tinytorch.app.labs.expect`` of the tree under test, or None if it will not load
    (a package that does not import: its tests fail on their own)."""
    module = sys.modules.get("tinytorch.app.labs.expect")
    if module is None:
        try:
            import tinytorch.app.labs.expect as module
        except BaseException:  # noqa: BLE001  (anything the student's package raises)
            return None
    return module


# ---- what a student reads first -------------------------------------------------------

NUMPY_HEADERS = ("Not equal to tolerance", "Arrays are not equal", "Arrays are not almost equal",
                 "Items are not equal")
NUMPY_DETAILS = re.compile(r"^(Mismatched elements|Max absolute difference|Max relative difference|"
                           r"Mismatch at ind|First \d+ mismatches|\(shapes |\[|ACTUAL:|DESIRED:|x:|y:)")


def first_line(message: str) -> str:
    """The one line to read first from an exception's message.

    Mostly its first line.  A bare ``AssertionError:`` takes the line below;
    numpy's comparisons are summed up in one line, expected and got named:
    ``Mismatched elements: 3 / 10 (30%); Max absolute difference: 1.5; first
    at [2]: got 2.0, expected 3.5`` or ``shapes differ: expected (3,), got (2, 3)``,
    after the ``err_msg`` the test gave.
    """
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    name, colon, rest = lines[0].partition(":")
    prefix = f"{name}: " if colon and re.fullmatch(r"[\w.]+", name) else ""
    if prefix and not rest.strip():  # the message starts on the next line
        lines = lines[1:]
        if not lines:
            return name
    elif prefix:
        lines = [rest.strip(), *lines[1:]]
    if lines[0].startswith(NUMPY_HEADERS):
        return prefix + _numpy_comparison(lines)
    head = lines[0]
    if "Mismatched elements" in head:  # the same words from another comparison
        head += "".join(f"; {line}" for line in lines[1:]
                        if line.startswith("Max absolute difference"))[:1000]
    return prefix + head


def _numpy_comparison(lines: list[str]) -> str:
    """numpy.testing's several lines as one: what differs, by how much, where first."""
    parts, first_mismatch = [], []
    for line in lines[1:]:
        shapes = re.match(r"^\(shapes (.+), (\(.*\)) mismatch\)$", line)
        first = re.match(r"^\[(.*)\]: (.+) \((?:ACTUAL|x)\), (.+) \((?:DESIRED|y)\)$", line)
        if shapes:  # numpy names the actual side first, the desired (expected) one second
            parts.append(f"shapes differ: expected {shapes.group(2)}, got {shapes.group(1)}")
        elif line.startswith(("Mismatched elements", "Max absolute difference")):
            parts.append(line)
        elif first and not first_mismatch:
            first_mismatch.append(f"first at [{first.group(1)}]: got {first.group(2)}, "
                                  f"expected {first.group(3)}")
    summary = "; ".join(parts + first_mismatch) or lines[0]
    notes = []  # the test's err_msg, between numpy's header and its details: which case this was
    for line in lines[1:]:
        if NUMPY_DETAILS.match(line):
            break
        notes.append(line)
    note = " ".join(notes)[:300]
    return f"{note}: {summary}" if note else summary


def _first_line(report) -> str:  # noqa: ANN001
    """The line a student should read first for a failed or skipped report."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (file, line, reason)
        return str(longrepr[2])
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and crash.message:
        return first_line(crash.message)
    text = str(longrepr or "").strip().splitlines()
    errors = [line[1:].strip() for line in text if line.startswith("E ")]
    exceptions = [line for line in errors if re.match(r"^[\w.]+(Error|Exception|Exit)\b", line)]
    return exceptions[-1] if exceptions else errors[0] if errors else text[-1] if text else ""


def _output(report) -> str:  # noqa: ANN001
    text = getattr(report, "longreprtext", "") or ""
    return text[-OUTPUT_LIMIT:]


OUTPUT_LIMIT = 20_000  # characters of pytest's report kept per test, the end of it


# ---- where in the student's code ------------------------------------------------------

def student_folders(root: Path, overlay: Path | None) -> list[Path]:
    """The package folders a student writes, in the tree and in its overlay (not ``tinytorch/app``)."""
    return [base / folder for base in (overlay, root) if base is not None
            for folder in PACKAGE_FOLDERS.values()]


def _in_student_code(filename: str, folders: list[Path]) -> bool:
    path = os.path.realpath(filename)
    return any(path.startswith(str(folder) + os.sep) for folder in folders) and not any(
        path.startswith(str(folder / "app") + os.sep) for folder in folders
        if folder.name == "tinytorch")


def _relative(place: tuple[str, int] | None, folders: list[Path]) -> str:
    """``file:line``, relative to the tree (or overlay) it is in."""
    if place is None:
        return ""
    path = os.path.realpath(place[0])
    for base in {folder.parent for folder in folders}:
        if path.startswith(str(base) + os.sep):
            path = os.path.relpath(path, base)
            break
    return f"{Path(path).as_posix()}:{place[1]}"


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and the exceptions it was raised from (or while handling), root cause last."""
    chain: list[BaseException] = []
    while error is not None and all(error is not seen for seen in chain) and len(chain) < 20:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def _deepest(error: BaseException, wanted) -> tuple[str, int] | None:  # noqa: ANN001
    """The deepest (file, line) of ``error``'s traceback whose file is ``wanted``."""
    places = [(frame.f_code.co_filename, line) for frame, line in traceback.walk_tb(error.__traceback__)]
    return next((place for place in reversed(places) if wanted(place[0])), None)


def student_place(error: BaseException, folders: list[Path]) -> str:
    """``file:line`` of the student's code where ``error`` arose, or "" if it never passed there.

    The root cause counts first: a syntax error's own place, else the deepest
    frame inside the student's package, not the tests', numpy's or pytest's.
    """
    for cause in reversed(_chain(error)):
        if isinstance(cause, SyntaxError) and cause.filename and cause.lineno \
                and _in_student_code(cause.filename, folders):
            return _relative((cause.filename, cause.lineno), folders)
        place = _deepest(cause, lambda name: _in_student_code(name, folders))
        if place is not None:
            return _relative(place, folders)
    return ""


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
    parser.add_argument("--collect-only", action="store_true", help="list the tests, run none")
    parser.add_argument("--sealed", type=Path, metavar="INI",
                        help="run pytest with this ini file and nothing the tree configures")
    parser.add_argument("tests", nargs="*")
    args = parser.parse_args()
    root = args.root.resolve()
    overlay = args.overlay.resolve() if args.overlay else None
    sys.path[0] = str(root)  # the script's own folder must not shadow anything
    if args.map_imports:
        sys.meta_path.insert(0, TreeFinder(root, overlay))
    if args.where:
        print(json.dumps(where()))
        return 0
    import pytest

    recorder = Recorder(args.events, args.timeout, student_folders(root, overlay))
    # A test file that does not load costs its own tests, not the others' (the grader
    # knows every graded test from its manifest, so nothing it hides goes unscored).
    options = ["--collect-only"] if args.collect_only else []
    if args.sealed:
        options += ["-c", str(args.sealed), "--noconftest"]
    return pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", str(root), "-o",
                        "console_output_style=classic", "--continue-on-collection-errors",
                        *options, *args.tests], plugins=[recorder])


if __name__ == "__main__":
    sys.exit(main())
