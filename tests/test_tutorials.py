"""Every tutorial runs headless, as a script, on the reference solution, and matches its lab."""
import ast
import os
import pathlib
import re
import subprocess
import sys

import pytest

from tinytorch.labs.regions import _enclosing_scopes, find_regions
from tinytorch.labs.registry import LABS, Lab

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

