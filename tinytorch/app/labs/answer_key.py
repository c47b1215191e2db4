"""The answer key of a lab: what its probes produce on the reference solution.

A graded lab test is a probe (``expect``): it hands the results of the code
under test to ``expect.value`` and ``expect.raises`` and holds no expected
values itself.  Those come from here.  Running the lab's graded tests on the
reference solution with ``$TINYTORCH_CHECKS=reference`` records every check
(the value, its tolerance, the exception and message pattern required); the
key is that record, one JSON file per lab:

* ``tests/labs/answers/labNN.json``: the visible tests, shipped with a
  student release, so that a student's own ``pytest`` run can say
  "expected ..., got ...";
* ``tests/labs/hidden/answers/labNN.json``: the hidden tests, which only the
  autograder bundle carries.

The keys are files of the repository, made by ``tinytorch lab answers`` and
checked by ``tinytorch lab verify`` to equal what the reference produces
today, so a key cannot silently drift from the code.  Every probe must pass
on the reference and make at least one check.

Why the reference, and not an independent formula in the test: a test that
computed the right answer would hand it to the code under test, which runs
in the same process.  The reference itself is held to independent formulas
(central differences, plain numpy, integer references) by the package's own
test suite.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import expect
from .registry import Lab, get_lab

KEY_FORMAT = "tinytorch-answer-key"
VISIBLE_KEYS = "tests/labs/answers"
HIDDEN_KEYS = "tests/labs/hidden/answers"


class AnswerKeyError(RuntimeError):
    """The reference fails a probe, a probe checks nothing, or a key is stale."""


def key_path(root: Path, lab: Lab, hidden: bool) -> Path:
    return Path(root) / (HIDDEN_KEYS if hidden else VISIBLE_KEYS) / f"lab{lab.tag}.json"


def make_key(root: Path, lab: Lab, hidden: bool) -> dict[str, Any]:
    """Run lab ``lab``'s visible (or hidden) graded tests on the reference in ``root``."""
    selectors = [s for group in lab.tests if group.hidden == hidden for s in group.selectors]
    if not selectors:
        return {"format": KEY_FORMAT, "lab": lab.number, "hidden": hidden, "tests": {}}
    with tempfile.TemporaryDirectory(prefix="tinytorch-answers-") as scratch:
        out = Path(scratch) / "key.json"
        environment = {**os.environ, expect.MODE_VARIABLE: "reference",
                       "PYTHONDONTWRITEBYTECODE": "1"}
        process = subprocess.run(
            [sys.executable, "-m", "tinytorch.app.labs.answer_key", "--out", str(out), *selectors],
            cwd=root, env=environment, capture_output=True, text=True)
        if not out.exists():
            raise AnswerKeyError(f"lab {lab.tag}: the reference run failed:\n"
                                 f"{process.stdout[-3000:]}{process.stderr[-3000:]}")
        tests = json.loads(out.read_text(encoding="utf-8"))
    problems = [f"{nodeid}: {entry['message']}" for nodeid, entry in tests.items()
                if not entry["passed"]]
    problems += [f"{nodeid}: the probe makes no check" for nodeid, entry in tests.items()
                 if entry["passed"] and not entry["checks"]]
    if problems:
        raise AnswerKeyError(f"lab {lab.tag}: the reference does not pass its probes:\n  "
                             + "\n  ".join(problems))
    return {"format": KEY_FORMAT, "lab": lab.number, "hidden": hidden,
            "tests": {nodeid: {"checks": entry["checks"]} for nodeid, entry in sorted(tests.items())}}


def write_keys(root: Path, numbers: list[int]) -> list[Path]:
    """Make and write the keys of labs ``numbers``; returns the files written."""
    from tinytorch.serialization import write_atomically

    written = []
    for number in numbers:
        lab = get_lab(number)
        for hidden in (False, True):
            key = make_key(root, lab, hidden)
            if not key["tests"]:
                continue
            path = key_path(root, lab, hidden)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(str(path), (json.dumps(key, indent=1) + "\n").encode("utf-8"),
                             op="lab answers")
            written.append(path)
    return written


def stale_keys(root: Path, lab: Lab) -> list[str]:
    """Why lab ``lab``'s key files differ from what the reference produces now (empty: current)."""
    reasons = []
    for hidden in (False, True):
        fresh = make_key(root, lab, hidden)
        path = key_path(root, lab, hidden)
        if not fresh["tests"] and not path.exists():
            continue
        stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
        if stored != fresh:
            reasons.append(f"{path.relative_to(root)} is not what the reference produces now "
                           f"(run `tinytorch lab answers {lab.tag}`)")
    return reasons


def load_entries(*key_files: Path) -> dict[str, dict]:
    """{node id: key entry} from answer key files (missing files are skipped)."""
    entries: dict[str, dict] = {}
    for path in key_files:
        if Path(path).exists():
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            if document.get("format") != KEY_FORMAT:
                raise AnswerKeyError(f"{path}: not an answer key")
            entries.update(document["tests"])
    return entries


# ---- the reference run (a child process: ``python -m tinytorch.app.labs.answer_key``) ----------

class _Recorder:
    """A pytest plugin: each test's records and whether the reference passed it."""

    def __init__(self) -> None:
        self.tests: dict[str, dict] = {}

    def pytest_runtest_setup(self, item) -> None:  # noqa: ANN001
        expect.begin(item.nodeid, None)

    def pytest_runtest_logreport(self, report) -> None:  # noqa: ANN001
        entry = self.tests.setdefault(report.nodeid, {"passed": True, "message": "",
                                                      "checks": []})
        if report.when == "call":
            entry["checks"] = expect.take_records()
        if report.failed or report.skipped:
            entry["passed"] = False
            entry["message"] = entry["message"] or str(report.longrepr).strip().splitlines()[-1]


def main(arguments: list[str]) -> int:
    out = Path(arguments[arguments.index("--out") + 1])
    selectors = [a for a in arguments if a not in ("--out", str(out))]
    import pytest

    recorder = _Recorder()
    code = pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", os.getcwd(),
                        *selectors], plugins=[recorder])
    if code not in (0, 1):  # 1: some test failed, which the key reports by name
        return code
    out.write_text(json.dumps(recorder.tests), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
