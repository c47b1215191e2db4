"""The student release: a copy of the repository with the chosen labs to write.

``tinytorch lab release --labs 1-5 --out DIR`` writes a fresh repository for
students:

* the files git tracks in the working tree (``git ls-files``: no caches, no
  build output, no untracked scratch), as they are now; no ``.git`` folder, so
  no history from which a solution could be checked out;
* every solution region of the chosen labs stubbed (``regions.py``), except the
  labs named by ``--keep-solutions``, whose code stays as a worked reference;
  regions of labs not chosen stay too (a course may release week by week);
* the student README (``student_readme.md`` beside this file) as ``README.md``:
  how to install, the first command, where the labs are, how grading works;
* left out, because they are for instructors or need the reference solution:
  the hidden tests (``tests/labs/hidden/``, their answer key included), the
  mutants (``tests/labs/mutants/``: near-solutions), the tests of this machinery
  (``tests/test_labs*.py``), the test that runs every tutorial on the
  reference (``tests/test_tutorials.py``), CI (``.ci/``) and the instructors'
  page on labs (``docs/labs.md``).

Before the release is moved into place, ``scan_release`` reads every line of
every file in it (code, docstrings, comments, Markdown, tests) looking for
every line of every stubbed region and for the ``def test_...`` line of every
hidden test, anywhere in the line: inside a comment, after a ``>>>``, between
backticks.  One hit stops the release.  Three kinds of line are not looked for:

* *short* lines, with fewer than ``MEANINGFUL_TOKENS`` (3) meaningful tokens.
  The meaningful tokens are names (Python's keywords are not names), numbers,
  strings and the operators that compute (``+ - * / // % ** @``, comparisons,
  bit operations, augmented assignments); brackets, commas, colons, dots and a
  plain ``=`` are punctuation.  The shortest line that computes something has
  three: two operands and an operator (``total / count``), or a target, a
  function and an argument (``size = len(items)``).  Lines with fewer only
  move a value or call one thing on one thing (``return result``,
  ``largest = value``, ``items.sort()``, ``)``, ``else:``): ordinary code has
  them everywhere, so finding one elsewhere is a coincidence, not a copy, and
  the docstring around the region says as much anyway.  A comment line counts
  its words.
* bare ``if``/``for``/``while`` headers over plain names, comparisons with
  constants and the loop helpers ``range``, ``len``, ``enumerate``, ``zip``,
  ``reversed``, ``prange`` (``for row in range(rows):``,
  ``if mode == "sum":``): they say what is visited or tested, which the
  docstring states, not what is computed;
* lines that the package's own source has *as code* outside every region:
  students read them anyway.  A line that appears only in a docstring or a
  comment does not count: prose about a solution is where a solution leaks.

A forbidden line is found anywhere inside a shipped line, whitespace runs
counted as one space and a leading ``#`` dropped, as long as it stands whole:
not glued to a longer name, and its edge names not continued by an
attribute, a call or an index (``total += step`` is not in
``total += step.size``).

A line of lab NN's solution may appear on purpose inside a *hint* region of
lab NN (``BEGIN HINT lab NN`` ... ``END HINT``, see ``regions.py``), and only
there.  The release is written to a temporary folder beside ``DIR`` and
renamed at the end, so a failed release leaves nothing half-written.
"""
from __future__ import annotations

import ast
import io
import keyword
import os
import re
import shutil
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path

from .regions import (Region, RegionError, find_regions, parse_hints, parse_source,
                      stub_source, tracked_files)
from .manifest import write_manifest
from .registry import HIDDEN_TESTS_DIRECTORY, LABS, MANIFEST_FILE

PACKAGE_FOLDERS = ("tinytorch", "kernels", "codegen")
STUDENT_README = Path(__file__).with_name("student_readme.md")
INSTRUCTOR_ONLY = (re.compile(r"^tests/labs/hidden/"), re.compile(r"^tests/labs/mutants/"),
                   re.compile(r"^tests/test_labs[^/]*\.py$"),
                   re.compile(r"^tests/test_tutorials\.py$"), re.compile(r"^\.ci/"),
                   re.compile(r"^docs/labs\.md$"))
MEANINGFUL_TOKENS = 3
TOKEN = re.compile(r"""(?P<punctuation>->|:=|[()\[\]{},:;.]|=(?!=))
                     |(?P<name>[A-Za-z_]\w*)
                     |(?P<number>\d[\w.]*)
                     |(?P<string>"[^"]*"?|'[^']*'?)
                     |(?P<operator>\*\*=?|//=?|<<=?|>>=?|[-+*/%@&|^<>!=]=|[-+*/%@&|^~<>])""",
                   re.VERBOSE)
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
PLAIN_NODES = (ast.Name, ast.Attribute, ast.Constant, ast.Compare, ast.BoolOp, ast.UnaryOp,
               ast.Tuple, ast.Load, ast.Store, ast.cmpop, ast.boolop, ast.unaryop)
LOOP_HELPERS = {"range", "len", "enumerate", "zip", "reversed", "prange"}


def meaningful_tokens(text: str) -> list[str]:
    """The names, numbers, strings and computing operators of a line (see the module doc)."""
    tokens = []
    for match in TOKEN.finditer(text):
        kind, token = match.lastgroup, match.group()
        if kind == "punctuation" or (kind == "name" and keyword.iskeyword(token)):
            continue
        tokens.append(token)
    return tokens


def _is_bare_header(text: str) -> bool:
    """``if``/``elif``/``for``/``while`` over plain names, constants and loop helpers."""
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


def is_trivial(text: str) -> bool:
    """A line that gives nothing away: fewer than ``MEANINGFUL_TOKENS`` meaningful tokens,
    or a bare ``if``/``for``/``while`` header (see the module docstring)."""
    return len(meaningful_tokens(text)) < MEANINGFUL_TOKENS or _is_bare_header(text)


def normalized(line: str) -> str:
    """A line as the scan compares it: whitespace runs made one space, a comment's ``#`` dropped."""
    text = " ".join(line.split())
    return text.lstrip("#").lstrip() if text.startswith("#") else text


class ReleaseError(RuntimeError):
    """The release would be wrong (it would leak a solution); nothing was written."""


@dataclass(frozen=True)
class Origin:
    """Where a forbidden line comes from: a region's location (and lab) or a hidden test file."""

    where: str
    lab: int | None = None

    def __str__(self) -> str:
        return self.where


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


STRING_TOKENS = {tokenize.STRING, *(getattr(tokenize, name) for name in (
    "FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, name))}
LAYOUT_TOKENS = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                 tokenize.DEDENT, tokenize.ENDMARKER}


def code_line_numbers(text: str) -> set[int]:
    """1-based numbers of the lines holding code: not blank, not only a comment, and not
    only the inside of a string (a docstring's lines are prose)."""
    numbers = set()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type not in STRING_TOKENS and token.type not in LAYOUT_TOKENS:
            numbers.add(token.start[0])
        elif token.type in STRING_TOKENS and token.start[0] == token.end[0]:
            numbers.add(token.start[0])  # a one-line string is part of a statement's line
    return numbers


def common_lines(root: Path) -> set[str]:
    """Lines (``normalized``) that the package source has as code outside every region."""
    lines: set[str] = set()
    for relative in tracked_files(root):
        if relative.suffix != ".py" or relative.parts[0] not in PACKAGE_FOLDERS:
            continue
        text = (root / relative).read_text(encoding="utf-8")
        inside = {number for region in parse_source(text, relative)
                  for number in range(region.begin, region.end + 1)}
        all_lines = text.splitlines()
        lines.update(normalized(all_lines[number - 1]) for number in code_line_numbers(text)
                     if number not in inside)
    return lines


def solution_lines(regions: list[Region], common: set[str]) -> dict[str, Origin]:
    """Region lines (``normalized``) that would give something away -> where they come from."""
    lines: dict[str, Origin] = {}
    for region in regions:
        for line in region.body:
            text = normalized(line)
            if text and not is_trivial(text) and text not in common:
                lines.setdefault(text, Origin(region.location, region.lab))
    return lines


def hidden_test_lines(root: Path) -> dict[str, Origin]:
    """The ``def test_...`` line of every hidden test -> its file (short or not: a name)."""
    lines: dict[str, Origin] = {}
    for path in sorted((root / HIDDEN_TESTS_DIRECTORY).glob("**/*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                line = normalized(source.splitlines()[node.lineno - 1])
                lines[line] = Origin(str(path.relative_to(root)))
    return lines


def _is_word(character: str) -> bool:
    return character.isalnum() or character == "_"


def _occurs(needle: str, line: str) -> bool:
    """``needle`` inside ``line`` as a whole: not glued to a longer name (``count`` is not
    in ``recount``), and a name at its edges not continued (``bias`` is not ``bias.T``)."""
    start = line.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = line[start - 1] if start > 0 else " "
        after = line[end] if end < len(line) else " "
        glued_before = _is_word(needle[0]) and (_is_word(before) or before == ".")
        glued_after = _is_word(needle[-1]) and (_is_word(after) or after in ".([")
        if not glued_before and not glued_after:
            return True
        start = line.find(needle, start + 1)
    return False


def scan_release(folder: Path, forbidden: dict[str, Origin | str],
                 package_code: set[str] = frozenset()) -> list[Leak]:
    """Every line of every file under ``folder`` holding one of the ``forbidden`` lines.

    A line is compared ``normalized``; a forbidden line counts anywhere inside it.
    Lines in ``package_code`` (the package's own code, ``common_lines``) are the
    package itself, not a copy of it; a hint region of lab NN may hold lab NN's lines.
    """
    by_name: dict[str, list[str]] = {}
    unnamed: list[str] = []
    for needle in forbidden:  # looked up by their longest name, found in a line's names
        names = IDENTIFIER.findall(needle)
        if names:
            by_name.setdefault(max(names, key=len), []).append(needle)
        else:
            unnamed.append(needle)
    leaks = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(folder)
        if is_instructor_only(relative):
            leaks.append(Leak(relative, 0, "", "an instructor-only file"))
        text = path.read_bytes().decode("utf-8", errors="replace")
        try:
            hints = parse_hints(text, relative)
        except RegionError as error:
            raise ReleaseError(str(error)) from None
        for number, line in enumerate(text.splitlines(), 1):
            line = normalized(line)
            if not line or line in package_code:
                continue
            candidates = [needle for name in set(IDENTIFIER.findall(line))
                          for needle in by_name.get(name, ())] + unnamed
            for needle in candidates:
                if not _occurs(needle, line):
                    continue
                origin = forbidden[needle]
                lab = getattr(origin, "lab", None)
                if lab is not None and any(hint.lab == lab and hint.begin < number < hint.end
                                           for hint in hints):
                    continue
                leaks.append(Leak(relative, number, needle, str(origin)))
    return leaks


def student_readme(root: Path, to_write: set[int]) -> str:
    """The student README, with the table of labs: tutorial, and whether this copy asks for it."""
    from .registry import LABS

    rows = ["| lab | title | tutorial | in this copy |", "|---|---|---|---|"]
    for lab in LABS:
        tutorial = f"`{lab.tutorial}`" if (root / lab.tutorial).is_file() else "(none yet)"
        status = "to write" if lab.number in to_write else "written for you"
        rows.append(f"| {lab.tag} | {lab.title} | {tutorial} | {status} |")
    template = root / "tinytorch" / "app" / "labs" / STUDENT_README.name  # the released tree's own
    text = (template if template.is_file() else STUDENT_README).read_text(encoding="utf-8")
    return text.replace("<!-- labs -->", "\n".join(rows))


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
    package_code = common_lines(root)
    forbidden = {**hidden_test_lines(root), **solution_lines(stubbed_regions, package_code)}
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
            elif relative == Path("README.md"):
                target.write_text(student_readme(root, to_stub), encoding="utf-8")
            else:
                shutil.copy2(root / relative, target)
        # The graded tests, listed from the reference: a copy whose code does not even
        # import still scores every test, 0 each, out of the full total.
        graded = [lab for lab in LABS if all((root / selector.split("::")[0]).exists()
                                             for selector in lab.selectors(include_hidden=False))]
        if graded:
            write_manifest(root, staging / MANIFEST_FILE, graded)
        leaks = scan_release(staging, forbidden, package_code)
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
