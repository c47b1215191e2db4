"""Submissions that try to game the autograder, graded by the real bundle's run_autograder.

Each attack below once scored above 0 on an unimplemented lab 01; each must
score 0 for the tests it touches, leave the grader standing (results.json is
the grader's, with every graded test), and a correct submission must still
score full marks.  The layout is Gradescope's (source, submission, results)
in a temporary folder; as root the tests run as the sandbox user, as
Gradescope's autograder does.
"""
import os
import re
import shutil
import textwrap
from pathlib import Path

import pytest

from tinytorch.app.labs.regions import find_regions
from tinytorch.app.labs.release import release

from autograder_layout import autograder_layout, run_autograder

ROOT = Path(__file__).resolve().parent.parent
TOTAL = 10  # lab 01's graded tests: 8 visible, 2 hidden


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    os.environ["TINYTORCH_TEST_TIMEOUT"] = "5"  # the per-test limit run_autograder passes on
    yield autograder_layout(ROOT, 1, tmp_path_factory.mktemp("layout"))
    os.environ.pop("TINYTORCH_TEST_TIMEOUT", None)


@pytest.fixture(scope="module")
def stubbed(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "lab"
    release(ROOT, out, [1])
    return out


@pytest.fixture(scope="module")
def solved(stubbed, tmp_path_factory):
    tree = Path(shutil.copytree(stubbed, tmp_path_factory.mktemp("solved") / "lab"))
    for relative in find_regions(ROOT, {1}):
        shutil.copy(ROOT / relative, tree / relative)
    return tree


def attacked(tree: Path, tmp_path: Path, files: dict[str, str], append: dict[str, str] = {}) -> Path:
    """A copy of ``tree`` with ``files`` written and ``append`` added to the end of files."""
    copy = Path(shutil.copytree(tree, tmp_path / "attack"))
    for name, text in files.items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_text(textwrap.dedent(text), encoding="utf-8")
    for name, text in append.items():
        with open(copy / name, "a", encoding="utf-8") as file:
            file.write("\n" + textwrap.dedent(text))
    return copy


def assert_grader_result(results: dict, score: float) -> None:
    assert len(results["tests"]) == TOTAL
    assert sum(test["max_score"] for test in results["tests"]) == TOTAL
    assert results["score"] == score == sum(test["score"] for test in results["tests"])


def test_a_correct_submission_scores_full_marks(layout, solved):
    assert_grader_result(run_autograder(layout, solved), TOTAL)


PASSING_PLUGIN = """
import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
"""


def test_a_plugin_that_marks_every_test_passed_scores_nothing(layout, stubbed, tmp_path):
    submission = attacked(stubbed, tmp_path, {
        "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-p always_passing"\n',
        "setup.cfg": "[tool:pytest]\naddopts = -p always_passing\n",
        "tests/labs/.pytest.ini": "[pytest]\naddopts = -p always_passing\n",
        "tests/labs/conftest.py": PASSING_PLUGIN,
        "always_passing.py": PASSING_PLUGIN,
    })
    assert_grader_result(run_autograder(layout, submission), 0)


def test_fake_events_then_exiting_score_nothing(layout, stubbed, tmp_path):
    submission = attacked(stubbed, tmp_path, {}, {"tinytorch/__init__.py": """
        import json as _json, os as _os, sys as _sys
        if "--events" in _sys.argv:
            _path = _sys.argv[_sys.argv.index("--events") + 1]
            _names = [a for a in _sys.argv if a.startswith("tests/")]
            with open(_path, "a") as _events:
                _events.write(_json.dumps({"event": "collected", "nodeids": _names}) + "\\n")
                for _name in _names:
                    _events.write(_json.dumps({"event": "result", "nodeid": _name,
                                               "outcome": "passed", "completed": True,
                                               "records": []}) + "\\n")
            _os._exit(0)
    """})
    assert_grader_result(run_autograder(layout, submission), 0)


def test_writing_results_json_and_killing_the_grader_scores_nothing(layout, stubbed, tmp_path):
    submission = attacked(stubbed, tmp_path, {}, {"tinytorch/__init__.py": """
        import json as _json, os as _os, signal as _signal
        _results = _os.path.join(_os.environ.get("AUTOGRADER_ROOT", "/autograder"),
                                 "results", "results.json")
        try:
            with open(_results, "w") as _file:
                _json.dump({"score": 999, "tests": []}, _file)
        except OSError:
            pass
        for _pid in [_os.getppid()] + [int(p) for p in _os.listdir("/proc") if p.isdigit()]:
            if _pid not in (0, 1, _os.getpid()):
                try:
                    _os.kill(_pid, _signal.SIGKILL)
                except OSError:
                    pass
    """})
    assert_grader_result(run_autograder(layout, submission), 0)


def test_replacing_the_recorder_scores_nothing(layout, stubbed, tmp_path):
    submission = attacked(stubbed, tmp_path, {}, {"tinytorch/__init__.py": """
        import sys as _sys
        _main = _sys.modules.get("__main__")
        if hasattr(_main, "Recorder"):
            _write = _main.Recorder.write
            def _forged(self, **event):
                if event.get("event") == "result":
                    event.update(outcome="passed", completed=True, message="")
                _write(self, **event)
            _main.Recorder.write = _forged
        from tinytorch.app.labs import expect as _expect
        _expect.value = lambda *args, **kwargs: None
    """})
    assert_grader_result(run_autograder(layout, submission), 0)


def test_hidden_tests_never_reach_a_visible_tests_output(layout, stubbed, tmp_path):
    marker = "def test_matmul_of_a_vector_and_a_batch_of_matrices"
    submission = attacked(stubbed, tmp_path, {}, {"tinytorch/ops/arithmetic.py": """
        def unbroadcast(grad, shape):
            import glob as _glob, os as _os
            texts = []
            for pattern in ("tests/labs/hidden/*.py", "/**/test_lab01_hidden.py",
                            _os.environ.get("AUTOGRADER_ROOT", "/autograder") + "/**/*.py"):
                for path in _glob.glob(pattern, recursive=True):
                    try:
                        texts.append(open(path).read())
                    except OSError:
                        pass
            raise RuntimeError("\\n".join(texts) or "nothing to read")
    """})
    results = run_autograder(layout, submission)
    assert_grader_result(results, 0)
    for test in results["tests"]:
        assert marker not in test["output"], test["name"]


MISBEHAVIOUR = """
def unbroadcast(grad, shape):
    import ctypes, os, sys, numpy
    if shape == (10,):
        while True:                                   # an infinite loop
            pass
    if shape == (3, 1):
        os._exit(0)                                   # leaving without a word
    if shape == (1, 1):
        ctypes.string_at(0)                           # a segfault
    if shape == (6, 1, 1):
        for _ in range(100):                          # 100 MB of output
            os.write(1, b"x" * 1_000_000)
        sys.stdout.write("y" * 10_000_000)
    if shape == (2, 3):
        numpy.ones(2**40, dtype=numpy.uint8)          # a memory hog: a terabyte
    return _solved_unbroadcast(grad, shape)
"""


def test_loops_crashes_floods_and_hogs_cost_only_their_own_tests(layout, solved, tmp_path):
    arithmetic = (solved / "tinytorch/ops/arithmetic.py").read_text(encoding="utf-8")
    renamed = re.sub(r"^def unbroadcast\(", "def _solved_unbroadcast(", arithmetic, flags=re.M)
    submission = attacked(solved, tmp_path, {"tinytorch/ops/arithmetic.py": renamed},
                          {"tinytorch/ops/arithmetic.py": MISBEHAVIOUR})
    results = run_autograder(layout, submission)
    scores = {test["name"]: test["score"] for test in results["tests"]}
    broken = [name for name in scores if "test_unbroadcast_sums_the_broadcast_axes" in name
              or "test_unbroadcast_of_an_unbroadcast" in name]
    assert len(broken) == 5 and all(scores[name] == 0 for name in broken)
    assert all(score == 1 for name, score in scores.items() if name not in broken), scores
    assert_grader_result(results, TOTAL - 5)
    assert all(len(test["output"]) < 50_000 for test in results["tests"])
