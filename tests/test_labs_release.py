"""The student release, grading it, results.json, and the Gradescope bundle.

One release of every lab is written once for the module and shared by the tests.
"""
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tinytorch.labs import grade as grading
from tinytorch.labs.autograder import build_autograder
from tinytorch.labs.regions import find_regions
from tinytorch.labs.registry import get_lab
from tinytorch.labs.release import (
    ReleaseError, common_lines, hidden_test_lines, release, scan_release, solution_lines)

ROOT = Path(__file__).resolve().parent.parent
ALL_LABS = list(range(1, 11))


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "student"
    release(ROOT, out, ALL_LABS)
    return out


def test_no_solution_line_and_no_hidden_test_survives_anywhere(student):
    regions = [region for found in find_regions(ROOT).values() for region in found]
    forbidden = {**hidden_test_lines(ROOT), **solution_lines(regions, common_lines(ROOT))}
    assert len(forbidden) > 50  # the scan looks for something
    assert scan_release(student, forbidden) == []
    files = [path.relative_to(student).as_posix() for path in student.rglob("*") if path.is_file()]
    assert not [name for name in files if "/hidden/" in name or name.startswith("tests/test_labs")]
    assert not [name for name in files if "__pycache__" in name or name.endswith((".pyc", ".nbi", ".nbc"))]
    assert not (student / ".git").exists()


def test_every_region_is_stubbed_with_its_lab_number(student):
    for relative, regions in find_regions(ROOT).items():
        text = (student / relative).read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text
        for region in regions:
            assert f'NotImplementedError("Lab {region.lab:02d}: ' in text.replace("'", '"'), relative


def test_the_scan_finds_a_copied_solution_line(student, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(student / "tutorials", copy)
    region = find_regions(ROOT, {1})[Path("tinytorch/ops/arithmetic.py")][0]
    line = next(text for text in region.body if "stretched_axes" in text)
    (copy / "notes.md").write_text(f"a hint:\n    {line.strip()}\n", encoding="utf-8")
    leaks = scan_release(copy, solution_lines([region], set()))
    assert [(leak.path.name, leak.line_number) for leak in leaks] == [("notes.md", 2)]


def test_a_release_that_would_leak_is_refused_and_nothing_is_written(tmp_path):
    repository = tmp_path / "repository"
    (repository / "pkg").mkdir(parents=True)
    (repository / "pkg" / "area.py").write_text(
        "def area(r):\n    # BEGIN SOLUTION lab 01\n    return 3.14159 * r * r\n    # END SOLUTION\n")
    (repository / "README.md").write_text("The answer: return 3.14159 * r * r\n")
    (repository / "notes.md").write_text("    return 3.14159 * r * r\n")
    subprocess.run(["git", "init", "-q"], cwd=repository, check=True)
    subprocess.run(["git", "add", "."], cwd=repository, check=True)
    with pytest.raises(ReleaseError, match=r"notes\.md:1: 'return 3\.14159 \* r \* r'"):
        release(repository, tmp_path / "out", [1])
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["repository"]


def test_the_release_installs_as_the_readme_says_and_imports(student):
    assert 'pip install -e ".[dev]"' in (student / "README.md").read_text(encoding="utf-8")
    assert (student / "setup.py").is_file()
    runner = student / "tinytorch" / "labs" / "runner.py"
    where = subprocess.run([sys.executable, str(runner), "--root", str(student), "--map-imports",
                            "--where"], cwd=student, capture_output=True, text=True, check=True)
    origins = json.loads(where.stdout)
    assert origins == {"tinytorch": str(student / "tinytorch"),
                       "tinytorch.kernels": str(student / "kernels"),
                       "tinytorch.codegen": str(student / "codegen")}
    plain = subprocess.run([sys.executable, "-c", "import tinytorch; print(tinytorch.__file__)"],
                           cwd=student.parent, capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONPATH": str(student)})
    assert plain.stdout.strip() == str(student / "tinytorch" / "__init__.py")


def test_the_release_pip_installs_and_its_package_is_the_one_imported(student, tmp_path):
    # The README's command; the dependencies come from this interpreter's site-packages.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-e",
                    str(student)], check=True, capture_output=True)
    code = ("import tinytorch, tinytorch.kernels, tinytorch.codegen; "
            "print(tinytorch.__file__); print(tinytorch.kernels.__file__); "
            "print(tinytorch.codegen.__file__)")
    where = subprocess.run([str(python), "-c", code], cwd=tmp_path, capture_output=True,
                           text=True, check=True)
    assert where.stdout.split() == [str(student / "tinytorch" / "__init__.py"),
                                    str(student / "kernels" / "__init__.py"),
                                    str(student / "codegen" / "__init__.py")]


GRADESCOPE_TOP = {"score", "execution_time", "output", "output_format", "test_output_format",
                  "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests",
                  "leaderboard"}
GRADESCOPE_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output",
                   "output_format", "tags", "visibility", "extra_data"}
GRADESCOPE_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def check_gradescope_results(results: dict) -> None:
    """Gradescope's documented results.json format (autograder specifications)."""
    assert set(results) <= GRADESCOPE_TOP
    assert isinstance(results["tests"], list) and results["tests"]
    for test in results["tests"]:
        assert set(test) <= GRADESCOPE_TEST
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"]
        assert test["visibility"] in GRADESCOPE_VISIBILITY
        assert test.get("status", "passed") in {"passed", "failed"}
    assert "score" in results or all("score" in test for test in results["tests"])
    assert results["score"] == pytest.approx(sum(test["score"] for test in results["tests"]))
    for key in ("visibility", "stdout_visibility"):
        assert results.get(key, "visible") in GRADESCOPE_VISIBILITY


def test_grading_a_fresh_release_scores_zero_and_says_what_to_implement(student, tmp_path):
    with pytest.raises(grading.GradingRefused, match=r"pip install -e \."):
        grading.grade(1, student)  # tinytorch.kernels would come from the reference tree
    result = grading.grade(1, student, import_from_tree=True)
    assert result.score == 0 and result.max_score == len(result.tests) >= 5
    for test in result.tests:
        assert "Lab 01: " in test.message, test
    assert any(test.message.startswith("NotImplementedError: Lab 01: implement unbroadcast")
               for test in result.tests)
    grading.write_results(result, tmp_path / "results.json")
    results = json.loads((tmp_path / "results.json").read_text())
    check_gradescope_results(results)
    assert results["score"] == 0


def test_with_the_solutions_put_back_the_grade_is_full_marks(student, tmp_path):
    solved = tmp_path / "solved"
    shutil.copytree(student, solved)
    for relative in find_regions(ROOT, {1}):
        shutil.copy(ROOT / relative, solved / relative)
    result = grading.grade(1, solved, import_from_tree=True)
    assert result.score == result.max_score > 0, [(t.name, t.message) for t in result.tests]
    grading.write_results(result, tmp_path / "results.json")
    check_gradescope_results(json.loads((tmp_path / "results.json").read_text()))


def test_an_infinite_loop_or_a_crash_costs_only_its_own_test(tmp_path):
    tree = tmp_path / "tree"
    (tree / "tests").mkdir(parents=True)
    (tree / "tests" / "test_misbehaving.py").write_text(
        "import os\n\n"
        "def test_loops():\n    while True:\n        pass\n\n"
        "def test_crashes():\n    os._exit(3)\n\n"
        "def test_fine():\n    assert 1 + 1 == 2\n")
    from tinytorch.labs.sandbox import run_tests

    run = run_tests(tree, ["tests/test_misbehaving.py"], timeout=2, map_imports=True)
    outcomes = {nodeid.split("::")[1]: run.outcome(nodeid) for nodeid in run.collected}
    assert outcomes == {"test_loops": "failed", "test_crashes": "crashed", "test_fine": "passed"}
    assert "longer than 2 s" in run.results["tests/test_misbehaving.py::test_loops"]["message"]


def test_the_autograder_bundle_grades_visible_and_hidden_tests(student, tmp_path):
    bundle = tmp_path / "autograder.zip"
    names = build_autograder(1, ROOT, bundle)
    assert {"setup.sh", "run_autograder", "grader/grade.py", "grader/runner.py",
            "tests/labs/test_lab01_broadcasting.py", "tests/labs/hidden/test_lab01_hidden.py"} <= set(names)
    assert not (tmp_path / "autograder.zip.partial").exists()
    source = tmp_path / "source"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(source)
        mode = archive.getinfo("run_autograder").external_attr >> 16
        setup_script = archive.read("setup.sh").decode()
    assert mode & stat.S_IXUSR
    # The code-generation labs build C for the host and for an emulated Cortex-M.
    for package in ("numba", "pytest", "ziglang", "unicorn", "pyelftools"):
        assert package in setup_script
    assert "command -v cc" in setup_script
    # What run_autograder does, with the submission (the release, solved) somewhere else.
    submission = tmp_path / "submission"
    shutil.copytree(student, submission)
    for relative in find_regions(ROOT, {1}):
        shutil.copy(ROOT / relative, submission / relative)
    shutil.copytree(source / "tests", submission / "tests", dirs_exist_ok=True)
    results = tmp_path / "results.json"
    subprocess.run([sys.executable, "-c", "import sys; from grader.commands import main; "
                    "sys.exit(main(sys.argv[1:]))", "grade", "01", "--root", str(submission),
                    "--import-from-tree", "--results", str(results)],
                   cwd=source, check=True, capture_output=True, text=True)
    graded = json.loads(results.read_text())
    check_gradescope_results(graded)
    hidden = [test for test in graded["tests"] if test["visibility"] == "after_due_date"]
    assert hidden and all(test["score"] == test["max_score"] for test in graded["tests"])
    assert get_lab(1).tests[1].hidden
