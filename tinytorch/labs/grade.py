"""Grading one lab: its tests, run on the student's own code, scored and explained.

``tinytorch grade 03`` finds the working tree (the folder holding
``setup.py`` and ``tinytorch/``, from the current directory upwards), runs lab
03's tests there in a child process with a time limit per test (see
``sandbox.py``), and reports:

* a table, one row per test: passed or not, points, and for each failure the
  line to read first, e.g. ``NotImplementedError: Lab 03: implement Linear.forward``;
* optionally ``results.json`` in Gradescope's format: the total ``score`` and,
  per test, ``name``, ``score``, ``max_score``, ``status``, ``output`` and
  ``visibility`` (hidden tests are shown after the due date).

Before running anything it asks a child Python where ``tinytorch``,
``tinytorch.kernels`` and ``tinytorch.codegen`` would be imported from
(without importing them: broken student code must cost tests, not the
question), and refuses to grade when that is not the working tree: a reference copy
installed elsewhere would pass every test and grade the wrong code.  (The fix
is ``pip install -e .`` in the working tree; the autograder instead maps the
imports onto the submission with ``import_from_tree=True``.)

A skipped test scores nothing: a lab test must run everywhere it is graded.
"""
from __future__ import annotations

import ast
import json
import os
import sys
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .registry import Lab, Tests, get_lab
from .sandbox import run_tests, runner_command

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
    message: str
    output: str
    hidden: bool


@dataclass
class Grade:
    lab: Lab
    tests: list[GradedTest]
    seconds: float
    notes: list[str]

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
    return nodeid == selector or nodeid.startswith(selector.rstrip("/") + "::") or (
        selector.endswith("/") and nodeid.startswith(selector))


def _group_of(lab: Lab, nodeid: str) -> Tests | None:
    return next((group for group in lab.tests for selector in group.selectors
                 if _belongs(nodeid, selector)), None)


def _count_tests(path: Path) -> int:
    """How many test functions a file defines (for a file that fails to import)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return 1
    return max(1, sum(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.name.startswith("test") for node in ast.walk(tree)))


def grade(number: int, root: Path | None = None, *, timeout: float = 60.0,
          import_from_tree: bool = False, env: dict[str, str] | None = None) -> Grade:
    """Run lab ``number``'s tests on the working tree ``root`` and score them."""
    lab = get_lab(number)
    root = find_working_tree(root)
    check_imports(root, import_from_tree)
    notes, selectors = [], []
    for group in lab.tests:
        for selector in group.selectors:
            if (root / selector.split("::")[0]).exists():
                selectors.append(selector)
            elif group.hidden:
                notes.append(f"hidden tests {selector} are not here: the autograder runs them")
            else:
                notes.append(f"missing test file {selector}: it scores 0")
    started = time.monotonic()
    run = run_tests(root, selectors, timeout=timeout, map_imports=import_from_tree, env=env) \
        if selectors else None
    tests: list[GradedTest] = []
    for nodeid in (run.collected if run else []):
        group = _group_of(lab, nodeid)
        if group is None:
            continue
        result = run.results.get(nodeid, {"outcome": "not run", "message": "the test did not run"})
        passed = result["outcome"] == PASSING
        message = result.get("message", "")
        if result["outcome"] == "skipped":
            message = f"skipped ({message}): a graded test must run"
        tests.append(GradedTest(nodeid, group.points if passed else 0.0, group.points,
                                result["outcome"], message, result.get("output", ""), group.hidden))
    for error in (run.collect_errors if run else []):
        group = _group_of(lab, error["nodeid"]) or next(
            (g for g in lab.tests for s in g.selectors if s.startswith(error["nodeid"])), None)
        if group is None:
            continue
        worth = group.points * _count_tests(root / error["nodeid"].split("::")[0])
        tests.append(GradedTest(error["nodeid"], 0.0, worth, "error",
                                f"cannot load the tests: {error['message']}", error.get("output", ""),
                                group.hidden))
    for group in lab.tests:
        for selector in group.selectors:
            if not (root / selector.split("::")[0]).exists() and not group.hidden:
                tests.append(GradedTest(selector, 0.0, group.points, "missing",
                                        "the test file is missing", "", group.hidden))
    if run is not None and not tests:
        notes.append("no test ran; the test process said:\n" + run.log[-2000:])
    return Grade(lab, tests, time.monotonic() - started, notes)


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


def print_table(grade: Grade, stream: TextIO = sys.stdout) -> None:
    width = max([len(test.name) for test in grade.tests] + [10])
    print(f"Lab {grade.lab.tag}: {grade.lab.title}", file=stream)
    for test in grade.tests:
        mark = "PASS" if test.outcome == PASSING else test.outcome.upper()
        line = f"  {mark:<8} {test.score:>5g}/{test.max_score:<5g} {test.name:<{width}}"
        if test.outcome != PASSING:
            line += f"  {test.message}"
        print(line.rstrip(), file=stream)
    for note in grade.notes:
        print(f"  note: {note}", file=stream)
    print(f"Score: {grade.score:g} / {grade.max_score:g} ({grade.seconds:.1f} s)", file=stream)
