"""The autograder's own process: one submission in, ``results.json`` out, nothing believed.

``run_autograder`` (the Gradescope bundle's script, ``autograder.py``) calls
``main`` from the bundle's copy of this package, with the bundle unpacked in
``SOURCE`` (the grader, the instructor's tests, the answer key and the list of
graded tests) and the student's files in ``SUBMISSION``.  This process never
imports the student's code; what it knows of it comes from records it
validates (``verdict.py``).  In order:

1. find the student's repository in the submission (``setup.py`` beside
   ``tinytorch/``), and copy it to a fresh folder: the student's own
   ``tests/`` and every pytest configuration file are left out, and the
   instructor's *visible* tests are put in their place;
2. as root, make the bundle and the results folder private to root and hand
   the copy to the sandbox user (``confinement.py``);
3. run the visible tests there, confined, in record mode, and judge them;
4. only then add the hidden tests to the copy, run them in a new process,
   and judge them; their messages say nothing of what they check (they
   would show the answer key), and no process that saw a visible test's
   output ever had the hidden tests on disk;
5. write ``results.json`` atomically, as the last step: whatever a test
   process wrote there before is replaced.

Every graded test of the list scores, 0 when the run has no (valid) record of
it, so the total never shrinks.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .answer_key import HIDDEN_KEYS, VISIBLE_KEYS
from .autograder import MANIFEST_NAME
from .confinement import default_confinement, hand_over, lock_down
from .grade import Grade, grade, write_results
from .registry import HIDDEN_TESTS_DIRECTORY, get_lab

PYTEST_CONFIGURATION = ("conftest.py", "pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg",
                        "pyproject.toml")
NOT_COPIED = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", ".pytest_cache",
                                    *PYTEST_CONFIGURATION)


def find_repository(submission: Path) -> Path | None:
    """The shallowest folder of the submission holding ``setup.py`` and ``tinytorch/``."""
    candidates = sorted(submission.glob("**/setup.py"), key=lambda p: (len(p.parts), str(p)))
    for setup in candidates:
        if len(setup.relative_to(submission).parts) <= 4 and (setup.parent / "tinytorch").is_dir() \
                and not setup.is_symlink():
            return setup.parent
    return None


def prepare_copy(repository: Path, source: Path, work: Path) -> Path:
    """The student's repository copied into ``work`` without its tests or pytest configuration,
    with the instructor's visible tests and their answer key in their place."""
    tree = work / "tree"
    shutil.copytree(repository, tree, symlinks=True, ignore=NOT_COPIED)
    shutil.rmtree(tree / "tests", ignore_errors=True)
    shutil.copytree(source / "tests", tree / "tests",
                    ignore=shutil.ignore_patterns("hidden", "conftest.py"))
    return tree


def autograde(number: int, source: Path, submission: Path, results: Path,
              timeout: float = 60.0) -> Grade | None:
    """Grade one submission of lab ``number``; writes ``results`` (see the module essay)."""
    lab = get_lab(number)
    source, submission, results = Path(source), Path(submission), Path(results)
    results.parent.mkdir(parents=True, exist_ok=True)
    repository = find_repository(submission)
    if repository is None:
        _write_json(results, {"score": 0, "output": "No TinyTorch repository (setup.py beside "
                              "tinytorch/) in the submission.", "tests": []})
        return None
    confinement = default_confinement()
    if confinement.uid is not None:
        lock_down(source, results.parent)
    manifest = source / MANIFEST_NAME
    answers = [source / "answers" / VISIBLE_KEYS / f"lab{lab.tag}.json",
               source / "answers" / HIDDEN_KEYS / f"lab{lab.tag}.json"]
    work = Path(tempfile.mkdtemp(prefix="tinytorch-autograde-"))
    try:
        os.chmod(work, 0o755)
        tree = prepare_copy(repository, source, work)
        hand_over(work, confinement)
        visible = grade(number, tree, timeout=timeout, import_from_tree=True,
                        manifest=manifest, answers=answers, hidden=False,
                        confinement=confinement)
        hidden_tests = source / "tests" / Path(HIDDEN_TESTS_DIRECTORY).relative_to("tests")
        tests, seconds = visible.tests, visible.seconds
        if hidden_tests.is_dir():
            shutil.copytree(hidden_tests, tree / HIDDEN_TESTS_DIRECTORY, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("answers", "conftest.py"))
            hand_over(work, confinement)
            hidden = grade(number, tree, timeout=timeout, import_from_tree=True,
                           manifest=manifest, answers=answers, hidden=True,
                           confinement=confinement, conceal_hidden=True)
            tests, seconds = tests + hidden.tests, seconds + hidden.seconds
        result = Grade(lab, tests, seconds, [], 0, 0.0)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_results(result, results)
    return result


def _write_json(path: Path, document: dict) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document) + "\n", encoding="utf-8")
    os.replace(partial, path)


def main(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="autograde", description=__doc__.splitlines()[0])
    parser.add_argument("lab", type=int)
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--submission", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(arguments)
    result = autograde(args.lab, args.source, args.submission, args.results, args.timeout)
    if result is not None:
        print(f"lab {result.lab.tag}: {result.score:g} / {result.max_score:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
