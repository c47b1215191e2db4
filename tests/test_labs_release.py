"""The student release, grading it, results.json, and the Gradescope bundle.

One release of every lab is written once for the module and shared by the tests.
"""
import json
import os
import shlex
import shutil
import site
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tinytorch.app.labs import grade as grading
from tinytorch.app.labs.autograder import build_autograder
from tinytorch.app.labs.regions import find_regions
from tinytorch.app.labs.registry import LABS, get_lab
from tinytorch.app.labs.release import (
    ReleaseError, common_lines, hidden_test_lines, is_trivial, meaningful_tokens, release,
    scan_release, solution_lines)

ROOT = Path(__file__).resolve().parent.parent

from autograder_layout import autograder_layout, run_autograder  # noqa: E402
ALL_LABS = [lab.number for lab in LABS]
INSTRUCTOR_FILES = [".ci/run", "docs/labs.md", "tests/test_tutorials.py",
                    "tests/test_labs_release.py", "tests/labs/hidden/test_lab01_hidden.py"]


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "student"
    release(ROOT, out, ALL_LABS)
    return out


def test_no_solution_line_and_no_hidden_test_survives_anywhere(student):
    regions = [region for found in find_regions(ROOT).values() for region in found]
    package_code = common_lines(ROOT)
    forbidden = {**hidden_test_lines(ROOT), **solution_lines(regions, package_code)}
    assert len(forbidden) > 50  # the scan looks for something
    assert scan_release(student, forbidden, package_code) == []
    files = [path.relative_to(student).as_posix() for path in student.rglob("*") if path.is_file()]
    assert not [name for name in files if "/hidden/" in name or name.startswith("tests/test_labs")]
    assert not [name for name in files if "__pycache__" in name or name.endswith((".pyc", ".nbi", ".nbc"))]
    assert not (student / ".git").exists()


def test_instructor_files_are_left_out(student):
    for name in INSTRUCTOR_FILES:
        assert (ROOT / name).is_file(), name  # they exist, and are not shipped
        assert not (student / name).exists(), name
    assert not (student / ".ci").exists()


def test_the_steplr_solution_is_in_no_shipped_file(student):
    # Found by a plain text search, independent of the scan: the lines of the region
    # once appeared in a docstring and in the instructors' page, and shipped.
    (region,) = [region for region in find_regions(ROOT, {4})[Path("tinytorch/optim/lr_scheduler.py")]
                 if "step_size" in "".join(region.body)]
    lines = [line.strip() for line in region.body if line.strip()]
    assert len(lines) >= 2
    for path in student.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            assert not [line for line in lines if line in text], path


def make_repository(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "."], cwd=root, check=True)
    return root


AREA = "def area(r):\n    # BEGIN SOLUTION lab 01\n    return 3.14159 * r * r\n    # END SOLUTION\n"


def test_a_solution_line_in_a_docstring_or_a_comment_is_a_leak(tmp_path):
    files = {
        "tinytorch/__init__.py": "",
        "tinytorch/area.py": AREA,
        # Outside the region, but in a docstring or a comment: how a solution ships.
        "tinytorch/notes.py": (
            '"""How to compute an area::\n\n    return 3.14159 * r * r\n"""\n'
            "# the answer is `return 3.14159 * r * r`, see area.py\n"
            "# >>> return  3.14159 *  r * r\n"),
        "docs/guide.md": "Write `return 3.14159 * r * r` there.\n",
    }
    with pytest.raises(ReleaseError) as error:
        release(make_repository(tmp_path / "repository", files), tmp_path / "out", [1])
    reported = {line.split(": ")[0].strip() for line in str(error.value).splitlines()[1:]}
    assert reported == {"tinytorch/notes.py:3", "tinytorch/notes.py:5", "tinytorch/notes.py:6",
                        "docs/guide.md:1"}
    assert not (tmp_path / "out").exists()
    # The same line as *code* elsewhere in the package is the package's own code, which
    # students read anyway: then it is not a solution line at all.
    files["tinytorch/disc.py"] = "def disc(r):\n    return 3.14159 * r * r\n"
    release(make_repository(tmp_path / "with-code", files), tmp_path / "out", [1])
    assert "raise NotImplementedError" in (tmp_path / "out" / "tinytorch" / "area.py").read_text()


def test_a_hint_of_its_own_lab_may_show_a_solution_line(tmp_path):
    hint = ("# %% [markdown]\n# BEGIN HINT lab {lab}\n#     return 3.14159 * r * r\n"
            "# END HINT\n")
    files = {"tinytorch/__init__.py": "", "tinytorch/area.py": AREA}
    released = release(make_repository(tmp_path / "own", {**files, "tutorial.py": hint.format(lab="01")}),
                       tmp_path / "own-out", [1])
    assert released == [Path("tinytorch/area.py")]
    assert "3.14159" in (tmp_path / "own-out" / "tutorial.py").read_text()
    with pytest.raises(ReleaseError, match=r"tutorial\.py:3: 'return 3\.14159 \* r \* r'"):
        release(make_repository(tmp_path / "other", {**files, "tutorial.py": hint.format(lab="02")}),
                tmp_path / "other-out", [1])
    with pytest.raises(ReleaseError, match=r"tutorial\.py:2: malformed hint marker"):
        release(make_repository(tmp_path / "bad", {**files, "tutorial.py": "x = 1\n# BEGIN HINT lab 1\n"}),
                tmp_path / "bad-out", [1])


@pytest.mark.parametrize("line, trivial", [
    ("return out", True), ("return 0", True), (")", True), ("else:", True), ("pass", True),
    ("largest = value", True), ("items.sort()", True), ("return scale, zero_point", True),
    ("if bias is not None:", True), ("for row in range(rows):", True),
    ('if mode == "sum":', True), ("for tile in prange(tiles):", True),
    ("return grad / x", False), ("size = len(items)", False), ("count += 1", False),
    ("grad = -grad", False), ("if id(parent) not in visited:", False),
    ("return [base * rate ** k for base in bases]", False),
    ("# both rows are contiguous", False), ("# vectorizes.", True),
])
def test_the_rule_for_lines_that_give_nothing_away(line, trivial):
    assert is_trivial(line) == trivial, meaningful_tokens(line)


def test_meaningful_tokens_are_names_numbers_strings_and_computing_operators():
    assert meaningful_tokens("decays = self.last_epoch // self.step_size") == [
        "decays", "self", "last_epoch", "//", "self", "step_size"]
    assert meaningful_tokens('if x is not None and y[0] >= "a": return -1') == [
        "x", "y", "0", ">=", '"a"', "-", "1"]
    assert meaningful_tokens("def f(a) -> int: b := a") == ["f", "a", "int", "b", "a"]


@pytest.mark.parametrize("shipped, found", [
    ("count += 1", True), ("    # count += 1", True), (">>> count += 1  # one more", True),
    ("text `count += 1` text", True), ("if x: count  +=  1", True),
    ("recount += 1", False), ("count += 10", False), ("self.count += 1", False),
    ("count += 1.5", False),
])
def test_a_solution_line_is_found_whole_inside_a_line(tmp_path, shipped, found):
    (tmp_path / "file.txt").write_text(f"{shipped}\n", encoding="utf-8")
    leaks = scan_release(tmp_path, {"count += 1": "somewhere"})
    assert bool(leaks) == found


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
    line = next(text for text in region.body if "enumerate(shape)" in text)
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


def readme_commands(readme: str) -> list[str]:
    """The commands of the README's first ```bash block, one a line."""
    block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_the_student_readme_is_for_students(student):
    readme = (student / "README.md").read_text(encoding="utf-8")
    assert readme_commands(readme) == ['pip install -e ".[dev]"', "tinytorch grade 01"]
    for internal in ("SOLUTION", "docs/labs.md", "lab release", "autograder", "region", ".ci"):
        assert internal not in readme, internal
    for lab in ALL_LABS:  # the table of labs, filled in, with every tutorial
        assert f"| {lab:02d} | {get_lab(lab).title} | `{get_lab(lab).tutorial}` | to write |" in readme


def test_the_release_installs_as_the_readme_says_and_imports(student):
    assert 'pip install -e ".[dev]"' in (student / "README.md").read_text(encoding="utf-8")
    assert (student / "setup.py").is_file()
    runner = student / "tinytorch" / "app" / "labs" / "runner.py"
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


@pytest.fixture(scope="module")
def installed(student, tmp_path_factory):
    """A new virtual environment with the release installed as the README says (editable);
    the dependencies come from this interpreter's site-packages."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-e",
                    str(student)], check=True, capture_output=True)
    # Written after the install, so that pip never sees this interpreter's own packages.
    (site_packages,) = venv.glob("lib/python*/site-packages")
    (site_packages / "zz_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return venv


def test_the_readmes_first_command_works_in_a_fresh_student_copy(student, installed):
    install, first = readme_commands((student / "README.md").read_text(encoding="utf-8"))
    program, *arguments = shlex.split(first)
    result = subprocess.run([str(installed / "bin" / program), *arguments], cwd=student,
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PATH": f"{installed / 'bin'}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "NotImplementedError: Lab 01: " in result.stdout  # every lab is stubbed: it says what to write
    assert "Score: 0 / " in result.stdout


def test_the_release_pip_installs_and_its_package_is_the_one_imported(student, installed, tmp_path):
    python = installed / "bin" / "python"
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
    from tinytorch.app.labs.sandbox import run_tests

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
    # The code-generation labs build C for the host and for an emulated Cortex-M; lab 11
    # reads .tflite files.
    for package in ("numba", "pytest", "ziglang", "unicorn", "pyelftools", "tflite"):
        assert package in setup_script
    assert "command -v cc" in setup_script
    # run_autograder on a Gradescope layout, with the release, solved, as the submission.
    solved = tmp_path / "solved"
    shutil.copytree(student, solved)
    for relative in find_regions(ROOT, {1}):
        shutil.copy(ROOT / relative, solved / relative)
    graded = run_autograder(autograder_layout(ROOT, 1, tmp_path / "layout"), solved)
    check_gradescope_results(graded)
    hidden = [test for test in graded["tests"] if test["visibility"] == "after_due_date"]
    assert hidden and all(test["score"] == test["max_score"] for test in graded["tests"])
    assert get_lab(1).tests[1].hidden
