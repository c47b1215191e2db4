"""Grading: the graded tests come from the reference, and a failure says what to fix.

The trees graded here are copies of the package (every lab solved) with lab
01's test files replaced by the small ones below, written the way lab tests
are (cases named in words, shapes labelled, numpy's comparisons), so that
what a student reads does not depend on how the real lab tests evolve.  The
reference copy makes the manifest; the student's copy gets that manifest, no
hidden tests, and deliberate bugs: a syntax error, a crash, wrong values, a
wrong shape, an exception, a deleted test.
"""
import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tinytorch.app.labs import commands
from tinytorch.app.labs import grade as grading
from tinytorch.app.labs.manifest import collect_graded_tests, graded_tests, read_manifest, write_manifest
from tinytorch.app.labs.registry import LABS, MANIFEST_FILE, get_lab, selects
from tinytorch.app.labs.runner import first_line

from autograder_layout import autograder_layout, run_autograder

ROOT = Path(__file__).resolve().parent.parent
LAB = get_lab(1)
LAB_TESTS = "tests/labs/test_lab01_broadcasting.py"
UNBROADCAST = f"{LAB_TESTS}::test_unbroadcast_sums_the_broadcast_axes"

VISIBLE_TESTS = """\
import numpy as np
import pytest

import tinytorch
from tinytorch.ops.arithmetic import unbroadcast


def summed_by_broadcast_position(grad, shape):
    labels = np.broadcast_to(np.arange(int(np.prod(shape))).reshape(shape), grad.shape)
    return np.bincount(labels.ravel(), weights=grad.ravel()).reshape(shape)


@pytest.mark.parametrize("grad_shape, shape", [
    pytest.param((32, 10), (10,), id="a bias added to every row"),
    pytest.param((2, 3), (1, 1), id="a matrix summed down to 1x1"),
])
def test_unbroadcast_sums_the_broadcast_axes(grad_shape, shape):
    grad = np.random.default_rng(0).standard_normal(grad_shape)
    result = unbroadcast(grad, shape)
    assert result.shape == shape, f"expected shape {shape}, got {result.shape}"
    np.testing.assert_allclose(result, summed_by_broadcast_position(grad, shape), rtol=1e-12)


def test_unbroadcast_of_an_unbroadcast_gradient_is_unchanged():
    grad = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(unbroadcast(grad, (2, 3)), grad)


def test_expand_replaces_minus_one_by_the_input_size():
    expanded = tinytorch.tensor([[1.0], [2.0], [3.0]]).expand(2, -1, 4)
    assert expanded.shape == (2, 3, 4), f"expected shape (2, 3, 4), got {expanded.shape}"


def test_matmul_of_a_matrix_and_a_vector_follows_numpy():
    a, v = np.arange(12.0).reshape(3, 4), np.array([1.0, -1.0, 2.0, 0.5])
    np.testing.assert_allclose((tinytorch.tensor(a) @ tinytorch.tensor(v)).numpy(), a @ v)
"""
HIDDEN_TESTS = """\
import numpy as np

from tinytorch.ops.arithmetic import unbroadcast


def test_unbroadcast_to_a_scalar_shape():
    assert float(unbroadcast(np.ones((2, 3)), ())) == 6.0


def test_unbroadcast_of_a_column():
    assert unbroadcast(np.ones((4, 3)), (4, 1)).tolist() == [[3.0]] * 4
"""


def copy_package(destination: Path) -> Path:
    """The package, and lab 01's tests as above."""
    skip = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc")
    destination.mkdir(parents=True)
    shutil.copy(ROOT / "setup.py", destination / "setup.py")
    for folder in ("tinytorch", "kernels", "codegen"):
        shutil.copytree(ROOT / folder, destination / folder, ignore=skip)
    (destination / "tests/labs/hidden").mkdir(parents=True)
    (destination / LAB_TESTS).write_text(VISIBLE_TESTS, encoding="utf-8")
    (destination / "tests/labs/hidden/test_lab01_hidden.py").write_text(HIDDEN_TESTS, encoding="utf-8")
    return destination


def change_line(path: Path, old: str, new: str) -> int:
    """Replace the one line holding ``old`` by ``new`` (same indentation); its line number."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    (index,) = [i for i, line in enumerate(lines) if old in line]
    indent = lines[index][:len(lines[index]) - len(lines[index].lstrip())]
    lines[index] = indent + new + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    return index + 1


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return copy_package(tmp_path_factory.mktemp("reference") / "tree")


@pytest.fixture(scope="module")
def student(reference, tmp_path_factory):
    """The student's copy: the manifest a release ships, no hidden tests."""
    tree = Path(shutil.copytree(reference, tmp_path_factory.mktemp("student") / "tree"))
    shutil.rmtree(tree / "tests/labs/hidden")
    write_manifest(reference, tree / MANIFEST_FILE, [LAB])
    return tree


@pytest.fixture
def submission(student, tmp_path):
    return Path(shutil.copytree(student, tmp_path / "submission"))


# ---- the list of graded tests -----------------------------------------------------------

def test_the_graded_tests_are_listed_from_the_reference_case_by_case(reference, student):
    listed = graded_tests(LAB, reference)
    assert [(test.nodeid.split("::")[1], test.hidden) for test in listed] == [
        ("test_unbroadcast_sums_the_broadcast_axes[a bias added to every row]", False),
        ("test_unbroadcast_sums_the_broadcast_axes[a matrix summed down to 1x1]", False),
        ("test_unbroadcast_of_an_unbroadcast_gradient_is_unchanged", False),
        ("test_expand_replaces_minus_one_by_the_input_size", False),
        ("test_matmul_of_a_matrix_and_a_vector_follows_numpy", False),
        ("test_unbroadcast_to_a_scalar_shape", True), ("test_unbroadcast_of_a_column", True)]
    assert all(test.points == 1 for test in listed)
    # A student's copy lists the visible tests and only counts the hidden ones.
    shipped = read_manifest(student / MANIFEST_FILE, LAB)
    assert shipped.tests == listed[:5] and (shipped.withheld_tests, shipped.withheld_points) == (2, 2)


def test_every_labs_graded_tests_are_listed_and_their_cases_named_in_words():
    every_lab = collect_graded_tests(ROOT, LABS)
    assert sorted(every_lab) == [lab.number for lab in LABS]
    assert all(manifest.tests for manifest in every_lab.values())
    # A node id in the registry stands for all of its parametrized cases.
    assert selects("tests/t.py::test_step", "tests/t.py::test_step[SGD momentum]")
    assert not selects("tests/t.py::test_step", "tests/t.py::test_step_two")
    for manifest in every_lab.values():
        for test in manifest.tests:
            if test.nodeid.startswith("tests/labs/") and "[" in test.nodeid:
                case = test.nodeid[test.nodeid.index("[") + 1:-1]
                assert " " in case or case.replace("_", "").replace("-", "").isalnum() \
                    and case[0].isalpha(), test.nodeid


# ---- scoring against the list ---------------------------------------------------------------

def test_a_syntax_error_costs_every_test_it_hides_and_never_the_total(submission):
    line = change_line(submission / "tinytorch/ops/arithmetic.py", "added_axes = grad.ndim",
                       "added_axes = grad.ndim - len(shape) +")
    result = grading.grade(1, submission, import_from_tree=True)
    expected = read_manifest(submission / MANIFEST_FILE, LAB)
    assert [test.name for test in result.tests] == [test.nodeid for test in expected.tests]
    assert result.max_score == expected.total == 5 and result.score == 0
    assert (result.withheld_tests, result.withheld_points) == (2, 2)
    assert sum(UNBROADCAST + "[" in test.name for test in result.tests) == 2
    for test in result.tests:
        assert test.outcome == "error", test
        assert test.message.startswith(f"not run: {LAB_TESTS} cannot be loaded: SyntaxError: ")
        assert test.message.endswith(f"(in tinytorch/ops/arithmetic.py:{line})")
    # A conftest.py of the submission is never loaded: the same verdicts with one that would
    # stop pytest before any file loads.
    (submission / "tests/labs/conftest.py").write_text("import tinytorch\n", encoding="utf-8")
    again = grading.grade(1, submission, import_from_tree=True)
    assert [(t.name, t.message) for t in again.tests] == [(t.name, t.message) for t in result.tests]


def test_a_process_that_dies_while_loading_the_tests_costs_every_test(submission):
    path = submission / "tinytorch/ops/arithmetic.py"
    path.write_text(path.read_text(encoding="utf-8") + "\nimport os\nos._exit(3)\n", encoding="utf-8")
    result = grading.grade(1, submission, import_from_tree=True)
    assert result.max_score == 5 and result.score == 0
    assert all("exit code 3" in test.message for test in result.tests), result.tests


@pytest.fixture(scope="module")
def buggy(student, tmp_path_factory):
    """Lab 01 with four kinds of bug, graded by the command with --verbose and --results."""
    tree = Path(shutil.copytree(student, tmp_path_factory.mktemp("buggy") / "tree"))
    arithmetic = tree / "tinytorch/ops/arithmetic.py"
    change_line(arithmetic, "grad = np.add.reduce(grad, axis=tuple(range(added_axes)))",
                "grad = np.add.reduce(grad, axis=tuple(range(added_axes))) * 1.5")  # wrong values
    change_line(arithmetic, "grad = np.add.reduce(grad, axis=stretched_axes, keepdims=True)",
                "grad = np.add.reduce(grad, axis=stretched_axes)")  # the wrong shape
    index_error = change_line(  # an exception inside the student's code
        tree / "tinytorch/ops/shape.py", "shape = tuple(input.shape[i - leading] if size == -1",
        "shape = tuple(input.shape[i + 9] if size == -1 else size for i, size in enumerate(sizes))")
    tests = tree / LAB_TESTS  # and a graded test that is no longer there
    text = tests.read_text(encoding="utf-8")
    tests.write_text(text.replace("def test_matmul_of_a_matrix_and_a_vector_follows_numpy",
                                  "def renamed_matmul_check"), encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = commands.main(["grade", "01", "--root", str(tree), "--import-from-tree", "--verbose",
                                "--results", str(tree / "results.json")])
    assert status == 0
    results = json.loads((tree / "results.json").read_text(encoding="utf-8"))
    return {test["name"]: test for test in results["tests"]}, out.getvalue(), index_error


def test_wrong_values_show_numpys_mismatch_and_the_tests_line(buggy):
    tests, _, _ = buggy
    row = tests[f"{UNBROADCAST}[a bias added to every row]"]
    first = row["output"].splitlines()[0]
    assert first.startswith("AssertionError: Mismatched elements: 10 / 10 (100%); "
                            "Max absolute difference"), first
    assert "got " in first and ", expected " in first
    assert f"(checked at {LAB_TESTS}:" in first


def test_a_wrong_shape_is_labelled_expected_and_got(buggy):
    tests, _, _ = buggy
    first = tests[f"{UNBROADCAST}[a matrix summed down to 1x1]"]["output"].splitlines()[0]
    assert first.startswith("AssertionError: expected shape (1, 1), got ()"), first


def test_an_exception_names_the_line_of_the_students_code(buggy):
    tests, _, line = buggy
    first = tests[f"{LAB_TESTS}::test_expand_replaces_minus_one_by_the_input_size"]["output"]
    assert first.splitlines()[0] == \
        f"IndexError: tuple index out of range (in tinytorch/ops/shape.py:{line})"


def test_a_deleted_test_scores_zero_and_the_total_stays(buggy):
    tests, _, _ = buggy
    row = tests[f"{LAB_TESTS}::test_matmul_of_a_matrix_and_a_vector_follows_numpy"]
    assert row["score"] == 0 and row["max_score"] == 1 and "no such test" in row["output"]
    assert sum(test["max_score"] for test in tests.values()) == 5
    assert sum(test["score"] for test in tests.values()) == 1  # the one test the bugs miss


def test_verbose_shows_each_failures_traceback_once(buggy):
    _, printed, line = buggy
    table, _, reports = printed.partition("\n\n---- ")
    assert "Score: 1 / 5" in printed and "the autograder also runs 2 hidden test(s) worth 2" in printed
    assert "E       AssertionError" in reports and "Mismatched elements" in reports
    assert f"tinytorch/ops/shape.py:{line}: IndexError" in reports  # pytest's traceback
    assert "Traceback" not in table


def test_numpys_comparisons_in_one_line_expected_and_got():
    for compare in (np.testing.assert_allclose, np.testing.assert_array_equal):
        with pytest.raises(AssertionError) as error:
            compare(np.ones((2, 3)), np.ones(3), err_msg="case 2")
        assert first_line(f"AssertionError: {error.value}") == \
            "AssertionError: case 2: shapes differ: expected (3,), got (2, 3)"
    with pytest.raises(AssertionError) as error:
        np.testing.assert_allclose([1.0, 2.0, 4.0], [1.0, 2.0, 3.0])
    line = first_line(f"AssertionError: {error.value}")
    assert line.startswith("AssertionError: Mismatched elements: 1 / 3 (33.3%); Max absolute difference")
    assert line.endswith("first at [2]: got 4.0, expected 3.0")
    older_numpy = ("AssertionError: \nNot equal to tolerance rtol=1e-07, atol=0\n\n"
                   "Mismatched elements: 1 / 3 (33.3%)\nMax absolute difference: 1.\n"
                   "Max relative difference: 0.33333333\n x: array([1., 2., 4.])\n y: array([1., 2., 3.])")
    assert first_line(older_numpy) == \
        "AssertionError: Mismatched elements: 1 / 3 (33.3%); Max absolute difference: 1."
    assert first_line("NotImplementedError: Lab 01: implement unbroadcast") == \
        "NotImplementedError: Lab 01: implement unbroadcast"


def test_a_damaged_manifest_refuses_to_grade(submission):
    (submission / MANIFEST_FILE).write_text('{"format": "something else"}', encoding="utf-8")
    with pytest.raises(grading.GradingRefused, match="cannot list lab 01's graded tests"):
        grading.grade(1, submission, import_from_tree=True)


# ---- the same total at home and in the autograder ----------------------------------------

def test_the_total_at_home_is_the_autograders(reference, student, tmp_path):
    layout = autograder_layout(reference, 1, tmp_path)
    at_home = grading.grade(1, student, import_from_tree=True)
    solved = run_autograder(layout, student)
    total = sum(test["max_score"] for test in solved["tests"])
    assert total == sum(test.points for test in graded_tests(LAB, reference)) == 7
    assert total == at_home.max_score + at_home.withheld_points
    assert solved["score"] == total and at_home.score == at_home.max_score
    visible = {test["name"]: test["score"] for test in solved["tests"] if test["visibility"] == "visible"}
    assert visible == {test.name: test.score for test in at_home.tests}
    # A submission that does not even parse: every test, hidden ones too, scores 0 of the same total.
    broken = Path(shutil.copytree(student, tmp_path / "broken"))
    change_line(broken / "tinytorch/ops/arithmetic.py", "added_axes = grad.ndim", "added_axes = (")
    graded = run_autograder(layout, broken)
    assert sum(test["max_score"] for test in graded["tests"]) == total and graded["score"] == 0
    assert all("SyntaxError" in test["output"] for test in graded["tests"])


# ---- the command line ------------------------------------------------------------------------

BAD_ARGUMENTS = [
    (["grade", "99"], "no lab 99 in the registry (there are labs 01-11)"),
    (["grade", "one"], "a lab number, e.g. 03, not 'one'"),
    (["lab", "autograder", "77", "--out", "x.zip"], "no lab 77 in the registry"),
    (["lab", "verify", "--labs", "99"], "no lab 99 in the registry"),
    (["lab", "verify", "--labs", "9-13"], "no lab 12, 13 in the registry"),
    (["lab", "release", "--labs", "0", "--out", "x"], "not a range of positive numbers"),
    (["lab", "release", "--labs", "1-3", "--keep-solutions", "12", "--out", "x"], "no lab 12"),
    (["grade", "01", "--timeout", "0"], "the time limit must be a positive number of seconds, not 0"),
    (["grade", "01", "--timeout", "-5"], "the time limit must be a positive number"),
    (["grade", "01", "--timeout", "nan"], "the time limit must be a positive number"),
    (["lab", "verify", "--timeout", "inf"], "the time limit must be a positive number"),
]


@pytest.mark.parametrize("arguments, complaint", BAD_ARGUMENTS,
                         ids=[" ".join(arguments) for arguments, _ in BAD_ARGUMENTS])
def test_bad_lab_numbers_and_time_limits_are_refused(arguments, complaint, capsys):
    with pytest.raises(SystemExit) as exit_status:
        commands.main(arguments)
    assert exit_status.value.code == 2
    assert complaint in capsys.readouterr().err
