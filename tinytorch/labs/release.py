"""The student release: a copy of the repository with the chosen labs to write.

``tinytorch lab release --labs 1-5 --out DIR`` writes a fresh repository for
students:

* the files git tracks in the working tree (``git ls-files``: no caches, no
  build output, no untracked scratch), as they are now; no ``.git`` folder, so
  no history from which a solution could be checked out;
* every solution region of the chosen labs stubbed (``regions.py``), except the
  labs named by ``--keep-solutions``, whose code stays as a worked reference;
  regions of labs not chosen stay too (a course may release week by week);
* instructor-only tests left out: the hidden tests under ``tests/labs/hidden/``
  and the tests of this machinery (``tests/test_labs*.py``), which need the
  reference solution.

Before the release is moved into place, ``scan_release`` reads every file of
it, looking for every line of every stubbed region and for every hidden test
function; one hit stops the release.  Lines that give nothing away are not
looked for: blank ones, ``pass``, ``return``, ``else:``, a lone bracket, and
lines that the package's own source also contains outside every region
(``return out``, ``if bias is not None:``), which students read anyway.
The release is written to a temporary folder beside ``DIR`` and renamed at
the end, so a failed release leaves nothing half-written.
"""
from __future__ import annotations

import ast
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .regions import Region, find_regions, parse_source, stub_source, tracked_files
from .registry import HIDDEN_TESTS_DIRECTORY

PACKAGE_FOLDERS = ("tinytorch", "kernels", "codegen")
INSTRUCTOR_ONLY = (re.compile(r"^tests/labs/hidden/"), re.compile(r"^tests/test_labs[^/]*\.py$"))
TRIVIAL_LINE = re.compile(r"^(pass|return|return None|else:|try:|finally:|break|continue|"
                          r"[\s()\[\]{},:;]*)$")
PLAIN_NODES = (ast.Name, ast.Attribute, ast.Constant, ast.Compare, ast.BoolOp, ast.UnaryOp,
               ast.Tuple, ast.Load, ast.Store, ast.cmpop, ast.boolop, ast.unaryop)
LOOP_HELPERS = {"range", "len", "enumerate", "zip", "reversed"}


def is_trivial(text: str) -> bool:
    """A line that gives nothing away: syntax alone, or a bare ``if``/``for``/``while``
    header over plain names (``if bias is not None:``, ``for i in range(rows):``)."""
    if TRIVIAL_LINE.match(text):
        return True
    if not text.endswith(":") or not text.startswith(("if ", "elif ", "for ", "while ")):
        return False
    try:
        header = ast.parse(text.removeprefix("el") + " pass").body[0]
    except SyntaxError:
        return False
    parts = [header.test] if isinstance(header, (ast.If, ast.While)) else (
        [header.target, header.iter] if isinstance(header, ast.For) else [])
    for node in (inner for part in parts for inner in ast.walk(part)):
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in LOOP_HELPERS):
                return False
        elif not isinstance(node, PLAIN_NODES):
            return False
    return bool(parts)


class ReleaseError(RuntimeError):
    """The release would be wrong (it would leak a solution); nothing was written."""


@dataclass(frozen=True)
class Leak:
    path: Path
    line_number: int
    text: str
    source: str  # where the line comes from: a region location or a hidden test

    def __str__(self) -> str:
        return f"{self.path}:{self.line_number}: {self.text!r} (from {self.source})"


def is_instructor_only(relative: Path) -> bool:
    return any(pattern.search(relative.as_posix()) for pattern in INSTRUCTOR_ONLY)


def common_lines(root: Path) -> set[str]:
    """Stripped lines of the package source outside every region: code any student reads."""
    lines: set[str] = set()
    for relative in tracked_files(root):
        if relative.suffix != ".py" or relative.parts[0] not in PACKAGE_FOLDERS:
            continue
        text = (root / relative).read_text(encoding="utf-8")
        inside = {number for region in parse_source(text, relative)
                  for number in range(region.begin, region.end + 1)}
        lines.update(line.strip() for number, line in enumerate(text.splitlines(), 1)
                     if number not in inside)
    return lines


def solution_lines(regions: list[Region], common: set[str]) -> dict[str, str]:
    """Stripped region lines that would give something away -> the region they come from."""
    lines: dict[str, str] = {}
    for region in regions:
        for line in region.body:
            text = line.strip()
            if text and not is_trivial(text) and text not in common:
                lines.setdefault(text, region.location)
    return lines


def hidden_test_lines(root: Path) -> dict[str, str]:
    """The ``def test_...`` line of every hidden test -> its file."""
    lines: dict[str, str] = {}
    for path in sorted((root / HIDDEN_TESTS_DIRECTORY).glob("**/*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                lines[source.splitlines()[node.lineno - 1].strip()] = str(path.relative_to(root))
    return lines


def scan_release(folder: Path, forbidden: dict[str, str]) -> list[Leak]:
    """Every line of every file under ``folder`` that is one of the ``forbidden`` lines."""
    leaks = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(folder)
        if is_instructor_only(relative):
            leaks.append(Leak(relative, 0, "", "an instructor-only test file"))
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            source = forbidden.get(line.strip())
            if source is not None:
                leaks.append(Leak(relative, number, line.strip(), source))
    return leaks


def release(root: Path, out: Path, labs: list[int], keep_solutions: list[int] = ()) -> list[Path]:
    """Write the student repository for ``labs`` to ``out``; returns the stubbed files."""
    root, out = Path(root).resolve(), Path(out).resolve()
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"{out} exists and is not empty; give a new folder")
    if out == root:
        raise ReleaseError("the release cannot replace the working tree itself")
    to_stub = set(labs) - set(keep_solutions)
    regions_by_file = find_regions(root, to_stub)
    stubbed_regions = [region for regions in regions_by_file.values() for region in regions]
    forbidden = {**hidden_test_lines(root), **solution_lines(stubbed_regions, common_lines(root))}
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for relative in tracked_files(root):
            if is_instructor_only(relative):
                continue
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if relative in regions_by_file:
                text = (root / relative).read_text(encoding="utf-8")
                target.write_text(stub_source(text, relative, to_stub), encoding="utf-8")
            else:
                shutil.copy2(root / relative, target)
        leaks = scan_release(staging, forbidden)
        if leaks:
            shown = "\n  ".join(str(leak) for leak in leaks[:20])
            raise ReleaseError(f"the release would leak {len(leaks)} solution line(s); nothing "
                               f"was written:\n  {shown}")
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return sorted(regions_by_file)
