"""Plausible wrong solutions, to prove that a lab's tests catch them.

A lab's graded tests are only as good as the mistakes they catch.  Stubbing
the lab (``lab verify``'s invariant b) shows that doing nothing scores
nothing; it says nothing of the student who forgets the size-1 axes in
``unbroadcast`` or divides by n instead of n - 1.  So each lab keeps a few
*mutants* in ``tests/labs/mutants/labNN.py``: the code of one solution
region, rewritten with one plausible mistake.

    MUTANTS = [
        Mutant("unbroadcast keeps the size-1 axes' sums apart",
               "tinytorch/ops/arithmetic.py", "unbroadcast", '''
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    return grad
'''),
    ]

``path`` is the file, ``function`` the function (``Class.method`` for a
method) holding the region, and ``code`` the region's replacement, indented
as it would be inside the function (the first line's indentation is
removed from every line, then the region's own is put back).  ``lab verify``
runs the lab's graded tests (visible and hidden) with each mutant in place and
the rest of the reference unchanged: at least one test must fail.

Mutants are near-solutions, so, like the hidden tests, they never ship in a
student release.
"""
from __future__ import annotations

import ast
import importlib.util
import textwrap
from dataclasses import dataclass
from pathlib import Path

from .regions import parse_source

MUTANTS_DIRECTORY = "tests/labs/mutants"


@dataclass(frozen=True)
class Mutant:
    name: str        # the mistake, in words
    path: str        # the source file, relative to the repository
    function: str    # the function holding the region: "name" or "Class.method"
    code: str        # what replaces the region's lines


def load_mutants(root: Path, lab_tag: str) -> list[Mutant]:
    """The mutants of lab ``lab_tag`` ("01"), from ``tests/labs/mutants/labNN.py`` (may be none)."""
    path = Path(root) / MUTANTS_DIRECTORY / f"lab{lab_tag}.py"
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"tinytorch_mutants_lab{lab_tag}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.MUTANTS)


def _function_spans(tree: ast.Module) -> dict[str, tuple[int, int]]:
    spans = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    spans[name] = (child.lineno, child.end_lineno)
                visit(child, name + ".")

    visit(tree, "")
    return spans


def mutated_source(root: Path, mutant: Mutant, lab: int) -> str:
    """The text of ``mutant.path`` with the lab's region inside ``mutant.function`` replaced."""
    path = Path(root) / mutant.path
    text = path.read_text(encoding="utf-8")
    spans = _function_spans(ast.parse(text))
    if mutant.function not in spans:
        raise ValueError(f"mutant {mutant.name!r}: no function {mutant.function} in {mutant.path}")
    first, last = spans[mutant.function]
    regions = [r for r in parse_source(text, mutant.path)
               if r.lab == lab and first <= r.begin <= last]
    if len(regions) != 1:
        raise ValueError(f"mutant {mutant.name!r}: {mutant.path}:{mutant.function} holds "
                         f"{len(regions)} regions of lab {lab:02d}, not one")
    region = regions[0]
    code = textwrap.dedent(mutant.code.strip("\n")).splitlines()
    lines = text.splitlines()
    lines[region.begin - 1:region.end] = [region.indent + line if line else line for line in code]
    mutated = "\n".join(lines) + "\n"
    ast.parse(mutated)  # a mutant must at least be Python
    return mutated


def surviving_mutants(root: Path, lab, timeout: float = 120.0) -> list[str]:
    """The mutants of ``lab`` that pass every graded test (each should fail at least one)."""
    import tempfile

    from .sandbox import run_tests

    root = Path(root).resolve()
    survivors = []
    for mutant in load_mutants(root, lab.tag):
        with tempfile.TemporaryDirectory(prefix="tinytorch-mutant-") as scratch:
            overlay = Path(scratch)
            target = overlay / mutant.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(mutated_source(root, mutant, lab.number), encoding="utf-8")
            env = {"NUMBA_DISABLE_JIT": "1"} if mutant.path.startswith("kernels/") else {}
            run = run_tests(root, lab.selectors(include_hidden=True), timeout=timeout,
                            map_imports=True, overlay=overlay, env=env)
        if run.collected and all(run.outcome(nodeid) == "passed" for nodeid in run.collected):
            survivors.append(f"lab {lab.tag}: mutant {mutant.name!r} ({mutant.path}, "
                             f"{mutant.function}) passes every graded test")
        elif not run.collected:
            survivors.append(f"lab {lab.tag}: mutant {mutant.name!r}: no test ran "
                             f"({run.log[-300:].strip()})")
    return survivors
