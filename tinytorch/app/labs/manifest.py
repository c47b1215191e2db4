"""The graded tests of each lab, listed from the reference before any student code runs.

Why a list made in advance
--------------------------
Grading could score whatever tests the student's run reports, but that run is
the student's: a syntax error in their package stops pytest from even
*collecting* the tests that import it, and a test that is never collected is
never reported.  Scored that way, breaking the code would shrink the total.
So the tests a lab is graded on, and their points, are listed once from the
reference tree, by collecting (never running) the registry's selectors, with
every parametrized case spelled out
(``tests/labs/test_lab01_broadcasting.py::test_unbroadcast_sums_the_broadcast_axes[a bias added to every row]``).
Grading then scores exactly that list: a test missing from the student's
run scores 0 with the reason, and the maximum is always the list's total.

Where the list lives
--------------------
* in a student release, ``MANIFEST_FILE`` (``tests/labs/graded_tests.json``):
  every lab's visible tests, and for the hidden ones only how many there are
  and their points (``withheld_tests``, ``withheld_points``), so a student's
  table can say what the autograder adds without naming them;
* in the Gradescope bundle, ``graded_tests.json`` beside the grader: the lab's
  visible and hidden tests, out of the student's reach;
* in the instructor's tree, nowhere: ``tinytorch grade`` collects the list
  there, the tree being the reference.

A manifest is JSON::

    {"format": "tinytorch-graded-tests", "version": 1,
     "labs": {"01": {"tests": [{"nodeid": "...", "points": 1.0, "hidden": false}, ...],
                     "withheld_tests": 2, "withheld_points": 2.0}}}
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .registry import LABS, Lab
from .sandbox import run_tests

MANIFEST_FORMAT = "tinytorch-graded-tests"
MANIFEST_VERSION = 1
COLLECT_SECONDS = 300.0  # importing every lab's test files, once


class ManifestError(RuntimeError):
    """The graded tests cannot be listed, or a manifest cannot be read; the message says why."""


class GradedTestId(NamedTuple):
    """One graded test: its pytest node id, what it is worth, and whether it is hidden."""

    nodeid: str
    points: float
    hidden: bool


@dataclass
class LabManifest:
    """The tests a lab is graded on here, and the hidden ones left out of this copy."""

    tests: list[GradedTestId] = field(default_factory=list)
    withheld_tests: int = 0
    withheld_points: float = 0.0

    @property
    def total(self) -> float:
        return sum(test.points for test in self.tests)


def _exists(root: Path, selector: str) -> bool:
    return (root / selector.split("::")[0]).exists()


def collect_graded_tests(root: Path, labs: list[Lab], *,
                         include_hidden: bool = True) -> dict[int, LabManifest]:
    """Collect ``labs``' graded tests in the tree ``root`` (one pytest process, nothing run).

    Hidden tests are listed only with ``include_hidden``; without, they are
    counted as withheld (if their files are here at all).  ManifestError if a
    test file is missing or does not load: the tree must be the reference.
    """
    root = Path(root).resolve()
    wanted = [selector for lab in labs for group in lab.tests for selector in group.selectors
              if include_hidden or not group.hidden or _exists(root, selector)]
    missing = sorted({s.split("::")[0] for s in wanted if not _exists(root, s)})
    if missing:
        raise ManifestError(f"test files not found in {root}: {', '.join(missing)}")
    run = run_tests(root, list(dict.fromkeys(wanted)), timeout=COLLECT_SECONDS,
                    map_imports=True, collect_only=True)
    if run.collect_errors:
        problems = "; ".join(f"{error['nodeid'] or 'pytest'}: {error['message']}"
                             + (f" (in {error['where']})" if error.get("where") else "")
                             for error in run.collect_errors)
        raise ManifestError(f"the graded tests cannot be collected in {root}: {problems}")
    if not run.collected:
        raise ManifestError(f"no test collected in {root}; pytest said:\n{run.log[-2000:]}")
    manifests = {}
    for lab in labs:
        manifest = LabManifest()
        for nodeid in run.collected:
            group = lab.group_of(nodeid)
            if group is None:
                continue
            if group.hidden and not include_hidden:
                manifest.withheld_tests += 1
                manifest.withheld_points += group.points
            else:
                manifest.tests.append(GradedTestId(nodeid, group.points, group.hidden))
        if not manifest.tests and not manifest.withheld_tests:
            raise ManifestError(f"lab {lab.tag} selects no test in {root}")
        manifests[lab.number] = manifest
    return manifests


def graded_tests(lab: Lab, root: Path, *, include_hidden: bool = True) -> list[GradedTestId]:
    """Lab ``lab``'s graded tests as collected in the reference tree ``root``."""
    return collect_graded_tests(root, [lab], include_hidden=include_hidden)[lab.number].tests


def manifest_text(root: Path, labs: list[Lab] | None = None, *,
                  include_hidden: bool = False) -> str:
    """The manifest of ``labs`` (default: all), collected in the reference ``root``, as JSON text;
    a student's copy leaves the hidden tests out (``include_hidden=False``)."""
    manifests = collect_graded_tests(root, list(LABS if labs is None else labs),
                                     include_hidden=include_hidden)
    document = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "labs": {
        f"{number:02d}": {"tests": [test._asdict() for test in manifest.tests],
                          "withheld_tests": manifest.withheld_tests,
                          "withheld_points": manifest.withheld_points}
        for number, manifest in manifests.items()}}
    return json.dumps(document, indent=1) + "\n"


def write_manifest(root: Path, path: Path, labs: list[Lab] | None = None, *,
                   include_hidden: bool = False) -> None:
    """Write ``manifest_text`` to ``path`` (a student release: ``out / MANIFEST_FILE``)."""
    text = manifest_text(root, labs, include_hidden=include_hidden)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def read_manifest(path: Path, lab: Lab) -> LabManifest:
    """Lab ``lab``'s entry of the manifest at ``path``; ManifestError if it has none or is damaged."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        if document.get("format") != MANIFEST_FORMAT or document.get("version") != MANIFEST_VERSION:
            raise ValueError("not a TinyTorch manifest of graded tests (format, version)")
        entry = document["labs"].get(lab.tag)
        if entry is None:
            raise ManifestError(f"{path} does not list lab {lab.tag}'s tests")
        tests = [GradedTestId(str(test["nodeid"]), float(test["points"]), bool(test["hidden"]))
                 for test in entry["tests"]]
        return LabManifest(tests, int(entry.get("withheld_tests", 0)),
                           float(entry.get("withheld_points", 0.0)))
    except ManifestError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ManifestError(f"cannot read the graded tests from {path}: {error}") from None
