"""`tinytorch lab verify`: the invariants hold for every registered lab, and a violation shows."""
import subprocess
from pathlib import Path

from tinytorch.app.labs.registry import Lab, visible
from tinytorch.app.labs.verify import verify

ROOT = Path(__file__).resolve().parent.parent


def test_every_registered_lab_keeps_the_four_invariants():
    checks = verify(ROOT, stream=None)
    failures = [f"lab {c.lab.tag} ({c.invariant}): " + "; ".join(c.problems) for c in checks if not c.ok]
    assert not failures, "\n".join(failures)
    assert {c.invariant for c in checks} == {"a", "b", "c", "d"}


def test_a_test_that_needs_no_lab_code_or_a_later_lab_is_reported(tmp_path):
    (tmp_path / "geometry").mkdir()
    (tmp_path / "geometry" / "__init__.py").write_text("")
    (tmp_path / "geometry" / "shapes.py").write_text(
        "def area(r):\n    # BEGIN SOLUTION lab 01\n    return 3 * r * r\n    # END SOLUTION\n\n\n"
        "def volume(r):\n    # BEGIN SOLUTION lab 02\n    return 4 * r ** 3\n    # END SOLUTION\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_shapes.py").write_text(
        "from geometry.shapes import area, volume\n\n"
        "def test_area():\n    assert area(1) == 3\n\n"
        "def test_free_points():\n    assert True\n\n"
        "def test_uses_the_future():\n    assert area(1) * volume(1) == 12\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    lab = Lab(1, "Areas", "tutorials/01.py", (visible("tests/test_shapes.py"),))
    checks = {c.invariant: c for c in verify(tmp_path, [lab], timeout=30, stream=None)}
    assert checks["a"].ok
    assert checks["b"].problems == ["passes with lab 01 stubbed: tests/test_shapes.py::test_free_points"]
    assert len(checks["c"].problems) == 1 and "test_uses_the_future" in checks["c"].problems[0]
    assert "NotImplementedError: Lab 02" in checks["c"].problems[0]
