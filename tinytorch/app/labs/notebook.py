"""What every tutorial needs: showing a figure, and finding the code its lab asks for.

A tutorial is a notebook in Jupyter and a script on the command line (and in
the tests, which run every tutorial headless).  Two small services make that
work, and live here so that every tutorial shares one copy:

* ``show(figure, name)``: in Jupyter the figure appears inline; without a
  display (matplotlib's Agg backend) it is saved as ``name.png`` in
  ``$TINYTORCH_PLOT_DIR`` (default: ``tinytorch-plots`` in the temporary
  directory) and the path is printed.
* ``print_solution_regions(lab)``: asks the source itself where the lab's
  regions are (the ``BEGIN SOLUTION`` markers in the reference, or in a
  student copy the ``NotImplementedError("Lab NN: ...")`` each region became),
  so the list a tutorial prints is never stale.
"""
from __future__ import annotations

import ast
import importlib.util
import os
import pathlib
import tempfile
from typing import Any

# The packages whose source holds solution regions.
PACKAGES = ("tinytorch", "tinytorch.kernels", "tinytorch.codegen")


def plot_directory() -> pathlib.Path:
    return pathlib.Path(os.environ.get("TINYTORCH_PLOT_DIR",
                                       pathlib.Path(tempfile.gettempdir()) / "tinytorch-plots"))


def show(figure: Any, name: str) -> None:
    """Show ``figure`` inline, or save it as ``<name>.png`` when there is no display."""
    import matplotlib
    import matplotlib.pyplot as plt

    if matplotlib.get_backend().lower() == "agg":
        directory = plot_directory()
        directory.mkdir(parents=True, exist_ok=True)
        figure.savefig(directory / f"{name}.png", dpi=90, bbox_inches="tight")
        plt.close(figure)
        print(f"figure saved to {directory / name}.png")
    else:
        plt.show()


def solution_regions(lab: int) -> list[tuple[str, int, str]]:
    """(file, line, enclosing function) of every place lab ``lab`` asks a student to fill in."""
    markers = (f"BEGIN SOLUTION lab {lab:02d}", f"NotImplementedError('Lab {lab:02d}",
               f'NotImplementedError("Lab {lab:02d}')
    roots = set()
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        roots |= {pathlib.Path(location).resolve()
                  for location in spec.submodule_search_locations}
    files = sorted({path.resolve() for root in roots for path in root.rglob("*.py")})
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        if not any(marker in text for marker in markers):
            continue
        definitions = [node for node in ast.walk(ast.parse(text))
                       if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
        for number, line in enumerate(text.splitlines(), start=1):
            if any(marker in line for marker in markers):
                around = sorted((node for node in definitions
                                 if node.lineno <= number <= node.end_lineno),
                                key=lambda node: node.lineno)
                name = ".".join(node.name for node in around) or "(module level)"
                found.append((f"{path.parent.name}/{path.name}", number, name))
    return found


def print_solution_regions(lab: int) -> None:
    for file, line, function in solution_regions(lab):
        print(f"{file}:{line:<5} {function}")
