"""Grading one lab: its tests, run on the student's own code, scored and explained.

``tinytorch grade 03`` finds the working tree (the folder holding
``setup.py`` and ``tinytorch/``, from the current directory upwards), runs lab
03's tests there in a child process with a time limit per test (see
``sandbox.py``), and reports:

* a table, one row per graded test: passed or not, points, and for each
  failure the line to read first, with the place in the student's code where
  it went wrong (or the test's line that found it), e.g.
  ``NotImplementedError: Lab 03: implement Linear.forward (in tinytorch/nn/linear.py:52)``;
  with ``verbose``, each failure's whole report (the traceback) below it;
* optionally ``results.json`` in Gradescope's format: the total ``score`` and,
  per test, ``name``, ``score``, ``max_score``, ``status``, ``output`` and
  ``visibility`` (hidden tests are shown after the due date).

What is graded is not what the run reports but the lab's list of graded
tests (``manifest.py``): a manifest passed in (the autograder's), else the
one a student release ships (``MANIFEST_FILE``), else the tests collected
here, in a tree without one (the instructor's, the reference).  A graded test
the run did not report (its file did not load, the process died first, the
test was deleted) scores 0 with the reason, so the maximum is always the
list's total.

Before running anything it asks a child Python where ``tinytorch``,
``tinytorch.kernels`` and ``tinytorch.codegen`` would be imported from
(without importing them: broken student code must cost tests, not the
question), and refuses to grade when that is not the working tree: a reference copy
installed elsewhere would pass every test and grade the wrong code.  (The fix
is ``pip install -e .`` in the working tree; the autograder instead maps the
imports onto the submission with ``import_from_tree=True``.)

A skipped test scores nothing: a lab test must run everywhere it is graded.

The verdict on a probe (a graded test written with ``expect``) is never the
run's: the tests run with ``$TINYTORCH_CHECKS=record``, so they only record
what the code produced, and this process, which never imports the code under
test, judges each record against the lab's answer key (``verdict.py``): the
same rule whether a student grades at home or the autograder does.  A test
with no entry in the key (a lab whose tests are not probes yet) is scored by
its pytest outcome, which code under test could forge.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .answer_key import key_path, load_entries
from .confinement import Confinement
from .manifest import GradedTestId, LabManifest, ManifestError, collect_graded_tests, read_manifest
from .registry import MANIFEST_FILE, Lab, get_lab, selects
from .sandbox import TestRun, run_tests, runner_command
from .verdict import judge_test

PASSING = "passed"
GRADESCOPE_VISIBILITY = {False: "visible", True: "after_due_date"}


class GradingRefused(RuntimeError):
    """Grading would not test the code in the working tree; the message says why."""


@dataclass
class GradedTest:
    name: str
    score: float
    max_score: float
    outcome: str
    message: str  # the line to read first, with the place it points to
    output: str   # pytest's whole report: the traceback
    hidden: bool
    where: str = ""  # file:line of the student's code where it failed, if it got there


@dataclass
class Grade:
    lab: Lab
    tests: list[GradedTest]
    seconds: float
    notes: list[str]
    withheld_tests: int = 0  # hidden tests not in this copy, which the autograder runs
    withheld_points: float = 0.0

    @property
    def score(self) -> float:
        return sum(test.score for test in self.tests)

    @property
    def max_score(self) -> float:
        return sum(test.max_score for test in self.tests)


def find_working_tree(start: Path | None = None) -> Path:
    """The nearest folder, from ``start`` upwards, holding ``setup.py`` and ``tinytorch/``."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "setup.py").is_file() and (folder / "tinytorch" / "__init__.py").is_file():
            return folder
    raise GradingRefused(f"no TinyTorch working tree (a folder with setup.py and tinytorch/) "
                         f"at or above {start}")


def check_imports(root: Path, import_from_tree: bool = False) -> None:
    """Refuse, saying why, unless the tests would import tinytorch from ``root``."""
    command = [*runner_command(root, map_imports=import_from_tree), "--where"]
    answer = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120)
    try:
        origins = json.loads(answer.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise GradingRefused(f"could not ask Python where tinytorch comes from:\n{answer.stderr}")
    expected = {"tinytorch": root / "tinytorch", "tinytorch.kernels": root / "kernels",
                "tinytorch.codegen": root / "codegen"}
    for name, folder in expected.items():
        origin = origins.get(name, "")
        if name != "tinytorch" and not folder.exists():
            continue
        if origin.startswith("error:"):
            raise GradingRefused(f"`import {name}` finds nothing here ({origin[7:]}); install the "
                                 f"working tree with `pip install -e .` in {root}")
        if Path(origin).resolve() != folder.resolve():
            raise GradingRefused(
                f"`import {name}` would load {origin}, not {folder}: the tests would grade "
                f"another copy of TinyTorch. Run `pip install -e .` in {root} and grade again.")


def _belongs(nodeid: str, selector: str) -> bool:
    return selects(selector, nodeid)


def graded_here(lab: Lab, root: Path, manifest: Path | None = None) -> tuple[LabManifest, list[str]]:
    """The tests lab ``lab`` is graded on in ``root``, and notes for the table.

    From ``manifest`` if given, else the tree's own ``MANIFEST_FILE`` (a student
    release), else collected in ``root`` (the reference), never from the run
    that is being graded.
    """
    notes: list[str] = []
    path = manifest or (root / MANIFEST_FILE if (root / MANIFEST_FILE).is_file() else None)
    try:
        if path is not None:
            return read_manifest(path, lab), notes
        missing = [s for s in lab.selectors() if not (root / s.split("::")[0]).exists()]
        visible_missing = [s for s in missing if s in lab.selectors(include_hidden=False)]
        if visible_missing:
            raise ManifestError(f"the test file {visible_missing[0].split('::')[0]} is missing")
        notes += [f"hidden tests {s} are not here: the autograder runs them" for s in missing]
        return collect_graded_tests(root, [lab], include_hidden=not missing)[lab.number], notes
    except ManifestError as error:
        where = f"{MANIFEST_FILE} is not in {root}, and " if path is None else ""
        raise GradingRefused(f"cannot list lab {lab.tag}'s graded tests: {where}{error}") from None


def _place(message: str, where: str = "", checked_at: str = "") -> str:
    if where:
        return f"{message} (in {where})"
    return f"{message} (checked at {checked_at})" if checked_at else message


PLACE_IN_LOG = re.compile(r'File "(.+)", line (\d+)|^(\S+\.py):(\d+): in ')


def _students_file(path: str, root: Path) -> str:
    """``path`` relative to ``root`` if it is in the student's package, else ""."""
    try:
        relative = (root / path).resolve().relative_to(root.resolve())
    except ValueError:
        return ""
    package = relative.parts[0] in ("tinytorch", "kernels", "codegen") and relative.parts[:2] != (
        "tinytorch", "app")
    return relative.as_posix() if package else ""


def _startup_failure(log: str, root: Path) -> tuple[str, str]:
    """The error that stopped pytest before it listed any test (a ``conftest.py`` that does not
    import, say) and the student's file:line it points to; ("", "") if the output shows none."""
    errors = [line[1:].strip() for line in log.splitlines() if line.startswith("E ")]
    exceptions = [line for line in errors if re.match(r"^[\w.]+(Error|Exception|Exit)\b", line)]
    if not exceptions:
        return "", ""
    places = [(match.group(1) or match.group(3), match.group(2) or match.group(4))
              for line in log.splitlines() for match in [PLACE_IN_LOG.search(re.sub(r"^E\s+", "", line))]
              if match]
    student = [f"{_students_file(path, root)}:{line}" for path, line in places
               if _students_file(path, root)]
    return exceptions[-1][:500], student[-1] if student else ""


def _last_words(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def _score(test: GradedTestId, run: TestRun, root: Path, answer: dict | None = None,
           conceal: bool = False) -> GradedTest:
    """One graded test against the run: its result (judged against ``answer``, its key entry,
    when it has one), or why the run has none.  ``conceal``: say nothing of what a hidden
    test found (its message would show the key's values)."""
    result = run.results.get(test.nodeid)
    file = test.nodeid.split("::")[0]
    if result is not None and answer is not None and result.get("outcome") not in (
            "timeout", "crashed"):
        verdict = judge_test(answer, {"checks": result.get("records"),
                                      "completed": result.get("completed") is True,
                                      "error": result.get("message", "")})
        outcome = PASSING if verdict.passed else "failed"
        message = "" if verdict.passed else _place("; ".join(
            line.strip() for line in verdict.message.splitlines()), result.get("where", ""))
        if conceal and not verdict.passed:
            message = "failed: a hidden test (what it checks is not shown)"
        return GradedTest(test.nodeid, test.points if verdict.passed else 0.0, test.points,
                          outcome, message, "" if conceal else result.get("output", ""),
                          test.hidden, result.get("where", ""))
    if result is not None and answer is None and result.get("records"):
        return GradedTest(test.nodeid, 0.0, test.points, "failed",
                          "no answer key for this test here (the instructor makes it with "
                          "`tinytorch lab answers`)", "", test.hidden, "")
    if result is not None:
        outcome, message = result["outcome"], result.get("message", "")
        if outcome == "skipped":
            message = f"skipped ({message}): a graded test must run"
        message = _place(message, result.get("where", ""), result.get("checked_at", ""))
        passed = outcome == PASSING and answer is None
        return GradedTest(test.nodeid, test.points if passed else 0.0, test.points,
                          outcome if outcome != PASSING or passed else "failed", message,
                          result.get("output", ""), test.hidden, result.get("where", ""))
    error = next((e for e in run.collect_errors if not e["nodeid"] or selects(e["nodeid"], test.nodeid)
                  or test.nodeid.startswith(e["nodeid"].rstrip("/") + "/")), None)
    if not (root / file).exists():
        outcome, message, output, where = "missing", f"not run: the test file {file} is missing", "", ""
    elif error is not None:
        outcome, where, output = "error", error.get("where", ""), error.get("output", "")
        message = _place(f"not run: {error['nodeid'] or 'the tests'} cannot be loaded: "
                         f"{error['message']}", where)
    elif not run.collected and _startup_failure(run.log, root)[0]:
        (error_line, where), output = _startup_failure(run.log, root), run.log[-4000:]
        outcome, message = "error", _place(f"not run: the tests could not start: {error_line}", where)
    elif test.nodeid in run.collected or not run.collected:
        outcome, where, output = "not run", "", run.log[-4000:]
        message = (f"not run: the test process ended before this test (exit code "
                   f"{run.exit_code}): {_last_words(run.log)}")
    else:
        outcome, where, output = "missing", "", ""
        message = (f"not run: {file} here has no such test (the graded tests are the "
                   f"instructor's; was the file changed?)")
    return GradedTest(test.nodeid, 0.0, test.points, outcome, message, output, test.hidden, where)


def grade(number: int, root: Path | None = None, *, timeout: float = 60.0,
          import_from_tree: bool = False, env: dict[str, str] | None = None,
          manifest: Path | None = None, answers: list[Path] | None = None,
          hidden: bool | None = None, confinement: Confinement | None = None,
          conceal_hidden: bool = False) -> Grade:
    """Run lab ``number``'s tests on the working tree ``root`` and score them against its
    graded tests (``manifest``, see ``graded_here``) and its answer key (``answers``: key
    files; by default the tree's own).  ``hidden``: only the hidden (True) or visible (False)
    tests; ``confinement``: run them inside it (``confinement.py``)."""
    lab = get_lab(number)
    root = find_working_tree(root)
    check_imports(root, import_from_tree)
    started = time.monotonic()
    listed, notes = graded_here(lab, root, manifest)
    if hidden is not None:
        listed = LabManifest([t for t in listed.tests if t.hidden == hidden],
                             listed.withheld_tests, listed.withheld_points)
    keys = load_entries(*(answers if answers is not None else
                          [key_path(root, lab, False), key_path(root, lab, True)]))
    selectors = [s for s in lab.selectors() if (root / s.split("::")[0]).exists()
                 and any(selects(s, test.nodeid) for test in listed.tests)]
    run = run_tests(root, selectors, timeout=timeout, map_imports=import_from_tree, env=env,
                    record=True, confinement=confinement) if selectors else TestRun()
    tests = [_score(test, run, root, keys.get(test.nodeid), conceal_hidden and test.hidden)
             for test in listed.tests]
    return Grade(lab, tests, time.monotonic() - started, notes, listed.withheld_tests,
                 listed.withheld_points)


def results_json(grade: Grade) -> dict:
    """The grade in Gradescope's results.json format."""
    return {
        "score": round(grade.score, 4),
        "execution_time": round(grade.seconds, 1),
        "output": f"Lab {grade.lab.tag}: {grade.lab.title}: {grade.score:g} / {grade.max_score:g}",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [{
            "name": test.name,
            "score": test.score,
            "max_score": test.max_score,
            "status": "passed" if test.outcome == PASSING else "failed",
            "output": test.message + ("\n\n" + test.output if test.output else ""),
            "visibility": GRADESCOPE_VISIBILITY[test.hidden],
        } for test in grade.tests],
    }


def write_results(grade: Grade, path: Path) -> None:
    """Write results.json atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(results_json(grade), indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


def print_table(grade: Grade, stream: TextIO | None = None, verbose: bool = False) -> None:
    """One row per graded test; with ``verbose``, every failure's whole report below."""
    stream = stream or sys.stdout
    width = max([len(test.name) for test in grade.tests] + [10])
    print(f"Lab {grade.lab.tag}: {grade.lab.title}", file=stream)
    for test in grade.tests:
        mark = "PASS" if test.outcome == PASSING else test.outcome.upper()
        line = f"  {mark:<8} {test.score:>5g}/{test.max_score:<5g} {test.name:<{width}}"
        if test.outcome != PASSING:
            line += f"  {test.message}"
        print(line.rstrip(), file=stream)
    if verbose:  # each report once: a file that does not load fails all its tests alike
        reports: dict[str, list[str]] = {}
        for test in grade.tests:
            if test.outcome != PASSING and test.output:
                reports.setdefault(test.output.rstrip(), []).append(test.name)
        for report, names in reports.items():
            also = f" (and {len(names) - 1} more with the same report)" if len(names) > 1 else ""
            print(f"\n---- {names[0]}{also} ----\n{report}", file=stream)
        print(file=stream)
    for note in grade.notes:
        print(f"  note: {note}", file=stream)
    if grade.withheld_tests:
        print(f"  note: the autograder also runs {grade.withheld_tests} hidden test(s) worth "
              f"{grade.withheld_points:g}: its total is {grade.max_score + grade.withheld_points:g}",
              file=stream)
    print(f"Score: {grade.score:g} / {grade.max_score:g} ({grade.seconds:.1f} s)", file=stream)
