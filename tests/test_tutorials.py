"""Every tutorial runs headless, as a script, on the reference solution, and matches its lab.

`tinytorch lab verify` runs each tutorial again with every later lab stubbed
(invariant (c)); here, a repository made up for the purpose shows that it
notices a tutorial that needs a later lab.
"""
import ast
import os
import pathlib
import re
import subprocess
import sys

import pytest

from tinytorch.app.labs.regions import _enclosing_scopes, find_regions
from tinytorch.app.labs.registry import LABS, Lab, visible
from tinytorch.app.labs.verify import verify

ROOT = pathlib.Path(__file__).parent.parent
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))


def test_there_are_tutorials():
    assert TUTORIALS
    assert sorted(ROOT / lab.tutorial for lab in LABS) == TUTORIALS


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs(path, tmp_path):
    plots = tmp_path / "plots"
    result = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120,
                            env={**os.environ, "MPLBACKEND": "Agg", "TINYTORCH_PLOT_DIR": str(plots)})
    assert result.returncode == 0, result.stderr[-2000:]
    # A tutorial that draws figures saves each one as a PNG when there is no display.
    if "matplotlib" in path.read_text(encoding="utf-8"):
        saved = sorted(plots.glob("*.png"))
        assert saved, f"{path.name} drew no figure into {plots}"
        assert all(png.read_bytes().startswith(b"\x89PNG") for png in saved)


def functions_of_each_lab() -> dict[int, list[tuple[list[str], str]]]:
    """Lab -> (names of the scopes holding each region, e.g. [SGD, update]; their docstring)."""
    found: dict[int, list[tuple[list[str], str]]] = {}
    for relative, regions in find_regions(ROOT).items():
        tree = ast.parse((ROOT / relative).read_text(encoding="utf-8"))
        for region in regions:
            scopes = _enclosing_scopes(tree, region.begin)
            found.setdefault(region.lab, []).append(
                ([scope.name for scope in scopes], ast.get_docstring(scopes[-1]) or ""))
    return found


def where_you_write_code(lab: Lab) -> str:
    """The markdown of the tutorial's "Where you write code" section, up to the next heading."""
    text = (ROOT / lab.tutorial).read_text(encoding="utf-8")
    section = text.split("## Where you write code", 1)[1]
    lines = []
    for line in section.splitlines()[1:]:
        if line.startswith("# #") or not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(lines)


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.tag)
def test_the_tutorial_names_every_function_its_lab_asks_for(lab):
    section = where_you_write_code(lab)
    for names, _ in functions_of_each_lab()[lab.number]:
        assert all(name in section for name in names), (names, lab.tutorial)
    # and the cell after it shows where they are in the student's own copy
    assert f"print_solution_regions({lab.number})" in (ROOT / lab.tutorial).read_text(encoding="utf-8")


WORKED_EXAMPLE = re.compile(r"(?i)\bexample\s*:")
PROMISE = re.compile(r"(?i)docstring[^()]*?\b(gives?|ends? with) a worked example")


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.tag)
def test_a_docstring_promised_to_hold_a_worked_example_holds_one(lab):
    """A sentence of the section saying that docstrings give a worked example is a
    promise about the functions it names, or about all of the lab's when it names none."""
    functions = functions_of_each_lab()[lab.number]
    for sentence in re.split(r"(?<=[.:;])\s+(?=[A-Z`])", where_you_write_code(lab)):
        promise = PROMISE.search(sentence)
        if not promise:
            continue
        named = set(re.findall(r"`([\w.]+)`", sentence[:promise.end()]))
        promised = [(names, doc) for names, doc in functions
                    if ".".join(names) in named or names[-1] in named] or functions
        for names, docstring in promised:
            assert WORKED_EXAMPLE.search(docstring), (".".join(names), lab.tutorial)


def test_lab_verify_runs_each_tutorial_with_the_later_labs_stubbed(tmp_path):
    (tmp_path / "geometry").mkdir()
    (tmp_path / "geometry" / "__init__.py").write_text("")
    (tmp_path / "geometry" / "shapes.py").write_text(
        "def area(r):\n    # BEGIN SOLUTION lab 01\n    return 3 * r * r\n    # END SOLUTION\n\n\n"
        "def volume(r):\n    # BEGIN SOLUTION lab 02\n    return 4 * r ** 3\n    # END SOLUTION\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_shapes.py").write_text(
        "from geometry.shapes import area, volume\n\n"
        "def test_area():\n    assert area(1) == 3\n\n"
        "def test_volume():\n    assert volume(1) == 4\n")
    (tmp_path / "tutorials").mkdir()
    (tmp_path / "tutorials" / "01_areas.py").write_text(
        "# %%\nfrom geometry.shapes import area, volume\n\nprint(area(2))\nprint(volume(2))\n")
    (tmp_path / "tutorials" / "02_volumes.py").write_text(
        "# %%\nimport matplotlib.pyplot as plt\nfrom geometry.shapes import volume\n\n"
        "plt.plot([volume(1), volume(2)])\n")  # headless: no display is needed
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    labs = [Lab(1, "Areas", "tutorials/01_areas.py", (visible("tests/test_shapes.py::test_area"),)),
            Lab(2, "Volumes", "tutorials/02_volumes.py", (visible("tests/test_shapes.py::test_volume"),))]
    checks = {(c.lab.number, c.invariant): c for c in verify(tmp_path, labs, timeout=60, stream=None)}
    assert checks[(1, "c")].problems == [
        "tutorial tutorials/01_areas.py fails: NotImplementedError: Lab 02: implement volume"]
    assert all(check.ok for key, check in checks.items()
               if key != (1, "c") and key[1] != "d"), checks  # (d): no mutants here
