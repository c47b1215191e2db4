"""Solution regions: the lines a student writes, marked inside the real source.

The reference solution of every lab is the package itself.  What a student
writes in lab NN is fenced by two comment lines, at the indentation of the
code they enclose::

    def hypotenuse(a: float, b: float) -> float:
        \"\"\"The long side of a right triangle with legs ``a`` and ``b``.\"\"\"
        # BEGIN SOLUTION lab 07
        squares = a * a + b * b
        return math.sqrt(squares)
        # END SOLUTION

The signature, the docstring and the hints stay outside the fence, so they
survive into the student's copy.  *Stubbing* a region replaces everything
between (and including) the markers by one line::

        raise NotImplementedError("Lab 07: implement hypotenuse: The long side of ...")

whose message says what to build: the comment line right above the region
(``# the longest side, by Pythagoras``), else the region's opening comment,
else the name and docstring summary of the function that holds it.  In the
source that comment reads as a plain comment on the code below it; the
student's copy turns it into ``# TODO: the longest side, by Pythagoras`` above
the stub, so the task stands where the code will go.  A region that is
only part of a function also names what the lines after it need from it: the
variables it assigns (``define total_norm and clip_coefficient``) or the
containers it fills (``fill first, last and aliases``) that those lines read.
A region at module
or class level cannot raise (importing the module would fail), so there each
``def`` becomes a function that raises and each assigned name becomes
``None``: the module still imports and the student sees which names to write.

The markers are exact: ``# BEGIN SOLUTION lab NN`` with a two-digit lab
number and ``# END SOLUTION``.  Anything that looks like a marker but is not
one, a region inside a region, an END without a BEGIN or a BEGIN without an
END is an error naming the file and the line, because a malformed region is a
solution that would silently ship to students.

A *hint* is the other kind of region: lines that deliberately show part of a
solution to students (a worked line in a tutorial, say).  They are fenced by
``BEGIN HINT lab NN`` and ``END HINT`` lines, written as ``#`` comments (in
Python, also inside a docstring or a tutorial's markdown cell) or as
``<!-- ... -->`` in Markdown; they are never stubbed, and the release's leak
scan (``release.py``) accepts a line of lab NN's solution there and nowhere
else.  Hint markers follow the same strict rules as solution markers.
"""
from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
from dataclasses import dataclass
from pathlib import Path

BEGIN_MARKER = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION lab (?P<lab>\d\d)[ \t]*$")
END_MARKER = re.compile(r"^(?P<indent>[ \t]*)# END SOLUTION[ \t]*$")
LOOKS_LIKE_MARKER = re.compile(r"^\s*#+\s*(BEGIN|END)\s*SOLUTION", re.IGNORECASE)
# A comment line, with an optional "TODO:" already written (it is not doubled).
TASK_COMMENT = re.compile(r"^(?P<indent>\s*)#\s*(?:TODO:\s*)?(?P<text>.+?)\s*$")
HINT_BEGIN = re.compile(r"^\s*(?:# |<!-- )BEGIN HINT lab (?P<lab>\d\d)(?: -->)?[ \t]*$")
HINT_END = re.compile(r"^\s*(?:# |<!-- )END HINT(?: -->)?[ \t]*$")
LOOKS_LIKE_HINT = re.compile(r"^\s*(#|<!--)+\s*(BEGIN|END)\s*HINT\b", re.IGNORECASE)


class RegionError(ValueError):
    """A malformed solution region; the message names the file and the line."""


@dataclass(frozen=True)
class Region:
    """One fenced solution: ``path`` lines ``begin``..``end`` (1-based, the markers)."""

    path: Path
    lab: int
    begin: int
    end: int
    indent: str
    body: tuple[str, ...]
    hint: str

    @property
    def location(self) -> str:
        return f"{self.path}:{self.begin}"


def _docstring_summary(node: ast.AST) -> str:
    docstring = ast.get_docstring(node) if isinstance(
        node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else None
    return docstring.strip().split("\n\n")[0].replace("\n", " ").strip() if docstring else ""


def _enclosing_scopes(tree: ast.Module, line: int) -> list[ast.AST]:
    """The chain of defs and classes (outermost first) whose body holds ``line``."""
    chain: list[ast.AST] = []
    nodes: list[ast.AST] = list(tree.body)
    while nodes:
        for node in nodes:
            if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                    and node.lineno < line <= (node.end_lineno or node.lineno)):
                chain.append(node)
                nodes = list(node.body)
                break
        else:
            break
    return chain


def _task_comment(lines: list[str], begin: int) -> re.Match[str] | None:
    """The comment line right above the marker at 0-based ``begin`` that states the task."""
    above = lines[begin - 1] if begin > 0 else ""
    if LOOKS_LIKE_MARKER.search(above) or LOOKS_LIKE_HINT.search(above):
        return None
    return TASK_COMMENT.match(above)


def _hint(lines: list[str], begin: int, end: int, scopes: list[ast.AST]) -> str:
    """What to build, in one line (``begin``/``end`` are 0-based marker indices)."""
    where = ".".join(scope.name for scope in scopes)  # type: ignore[attr-defined]
    task = _task_comment(lines, begin)
    told = task.group("text") if task else ""
    body = lines[begin + 1:end]
    first = next((line.strip() for line in body if line.strip()), "")
    if not told and first.startswith("#"):
        told = first.lstrip("#").strip()
    if told:
        return f"{where}: {told}" if where else told
    if scopes:
        summary = _docstring_summary(scopes[-1])
        return f"implement {where}" + (f": {summary}" if summary else "")
    return "write the missing module-level code"


def _dedented(region_body: tuple[str, ...] | list[str], indent: str) -> str:
    return "\n".join(line[len(indent):] if line.startswith(indent) else line.lstrip()
                     for line in region_body)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _reads_after(node: ast.AST, end: int, shadowed: frozenset[str] = frozenset()) -> set[str]:
    """Names read on lines after ``end`` under ``node``, except where a comprehension,
    lambda or nested function binds its own variable of that name."""
    own: set[str] = set()
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        own = {name.id for generator in node.generators for name in ast.walk(generator.target)
               if isinstance(name, ast.Name)}
    elif isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)):
        own = {argument.arg for argument in ast.walk(node.args) if isinstance(argument, ast.arg)}
    shadowed = shadowed | own
    found = set()
    if (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.lineno > end
            and node.id not in shadowed):
        found.add(node.id)
    for child in ast.iter_child_nodes(node):
        found |= _reads_after(child, end, shadowed)
    return found


def _what_the_rest_needs(body: str, function: ast.AST, end: int) -> str:
    """What the lines after a region (``end``: its END line) read of what it writes.

    ``define x and y`` for names the region assigns, ``fill d`` for containers
    it stores into (``d[key] = ...``), each only if the rest of ``function``
    reads it; empty when the region is the whole story (it returns, or nothing
    after it looks at what it made).
    """
    try:
        statements = ast.parse(body)
    except SyntaxError:
        return ""
    defined: list[tuple[int, int, str]] = []
    filled: list[tuple[int, int, str]] = []
    for node in ast.walk(statements):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.append((node.lineno, node.col_offset, node.id))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.append((node.lineno, node.col_offset, node.name))
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            base = node.value
            while isinstance(base, ast.Subscript):
                base = base.value
            if isinstance(base, ast.Name):
                filled.append((node.lineno, node.col_offset, base.id))
    read_later = _reads_after(function, end)
    names = [name for *_, name in sorted(defined)]
    defines = [name for name in dict.fromkeys(names) if name in read_later]
    fills = [name for *_, name in sorted(filled)]
    fills = [name for name in dict.fromkeys(fills) if name in read_later and name not in defines]
    parts = ([f"define {_and(defines)}"] if defines else []) + (
        [f"fill {_and(fills)}"] if fills else [])
    return "; " + " and ".join(parts) + ", which the code below uses" if parts else ""


def _comment_lines(text: str, path: Path) -> set[int]:
    """0-based numbers of the lines that are a comment alone (not text inside a string)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError) as error:
        raise RegionError(f"{path}: cannot read the file as Python: {error}") from None
    return {token.start[0] - 1 for token in tokens
            if token.type == tokenize.COMMENT and not token.line[:token.start[1]].strip()}


def parse_source(text: str, path: Path | str) -> list[Region]:
    """Every solution region of one file's text, in order; malformed ones raise RegionError."""
    path = Path(path)
    lines = text.splitlines()
    comments = _comment_lines(text, path) if "SOLUTION" in text.upper() else set()
    regions: list[Region] = []
    open_at: int | None = None
    open_match: re.Match[str] | None = None
    spans: list[tuple[int, int, re.Match[str]]] = []
    for index in sorted(comments):
        line = lines[index]
        begin, end = BEGIN_MARKER.match(line), END_MARKER.match(line)
        if begin:
            if open_at is not None:
                raise RegionError(f"{path}:{index + 1}: BEGIN SOLUTION inside the region opened "
                                  f"at line {open_at + 1}; regions cannot nest")
            open_at, open_match = index, begin
        elif end:
            if open_at is None or open_match is None:
                raise RegionError(f"{path}:{index + 1}: END SOLUTION without a BEGIN SOLUTION")
            if end.group("indent") != open_match.group("indent"):
                raise RegionError(f"{path}:{index + 1}: END SOLUTION is not indented like its "
                                  f"BEGIN SOLUTION at line {open_at + 1}")
            spans.append((open_at, index, open_match))
            open_at = open_match = None
        elif LOOKS_LIKE_MARKER.search(line):
            raise RegionError(f"{path}:{index + 1}: malformed solution marker {line.strip()!r}; "
                              "write '# BEGIN SOLUTION lab NN' (two digits) or '# END SOLUTION'")
    if open_at is not None:
        raise RegionError(f"{path}:{open_at + 1}: BEGIN SOLUTION without an END SOLUTION")
    if not spans:
        return regions
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise RegionError(f"{path}:{error.lineno}: cannot parse the file: {error.msg}") from None
    for begin, end, match in spans:
        scopes = _enclosing_scopes(tree, begin + 1)
        body = tuple(lines[begin + 1:end])
        hint = _hint(lines, begin, end, scopes)
        if scopes and isinstance(scopes[-1], (ast.FunctionDef, ast.AsyncFunctionDef)):
            needs = _what_the_rest_needs(_dedented(body, match.group("indent")), scopes[-1], end + 1)
            hint = hint.rstrip(".") + needs if needs else hint
        regions.append(Region(path=path, lab=int(match.group("lab")), begin=begin + 1,
                              end=end + 1, indent=match.group("indent"), body=body, hint=hint))
    return regions


def parse_file(path: Path | str) -> list[Region]:
    path = Path(path)
    return parse_source(path.read_text(encoding="utf-8"), path)


@dataclass(frozen=True)
class Hint:
    """Lines ``begin``..``end`` (1-based, the markers) of ``path`` that may show lab ``lab``'s code."""

    path: Path
    lab: int
    begin: int
    end: int


def parse_hints(text: str, path: Path | str) -> list[Hint]:
    """Every hint region of one file's text (any text file); malformed ones raise RegionError.

    Hint markers are read line by line, not as Python tokens: a hint may sit in
    a docstring or in Markdown, and a hint marker changes no code.
    """
    path = Path(path)
    if "HINT" not in text.upper():
        return []
    hints: list[Hint] = []
    open_at: int | None = None
    open_lab = 0
    for index, line in enumerate(text.splitlines()):
        begin, end = HINT_BEGIN.match(line), HINT_END.match(line)
        if begin:
            if open_at is not None:
                raise RegionError(f"{path}:{index + 1}: BEGIN HINT inside the hint opened at "
                                  f"line {open_at + 1}; hints cannot nest")
            open_at, open_lab = index, int(begin.group("lab"))
        elif end:
            if open_at is None:
                raise RegionError(f"{path}:{index + 1}: END HINT without a BEGIN HINT")
            hints.append(Hint(path, open_lab, open_at + 1, index + 1))
            open_at = None
        elif LOOKS_LIKE_HINT.match(line):
            raise RegionError(f"{path}:{index + 1}: malformed hint marker {line.strip()!r}; "
                              "write '# BEGIN HINT lab NN' (two digits) or '# END HINT'")
    if open_at is not None:
        raise RegionError(f"{path}:{open_at + 1}: BEGIN HINT without an END HINT")
    return hints


def tracked_files(root: Path) -> list[Path]:
    """The files git tracks in ``root`` (relative paths), or every file when it is no repository."""
    try:
        listing = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True,
                                 check=True).stdout.decode()
        names = [name for name in listing.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        names = [str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()
                 and ".git" not in path.parts and "__pycache__" not in path.parts]
    return sorted(Path(name) for name in names if (root / name).is_file())


def find_regions(root: Path, labs: set[int] | None = None) -> dict[Path, list[Region]]:
    """Regions of the tracked Python files under ``root``, keyed by relative path."""
    found: dict[Path, list[Region]] = {}
    for relative in tracked_files(root):
        if relative.suffix != ".py" or relative.parts[0] == "tests":
            continue
        text = (root / relative).read_text(encoding="utf-8")
        if "SOLUTION" not in text.upper():
            continue
        regions = [region for region in parse_source(text, relative)
                   if labs is None or region.lab in labs]
        if regions:
            found[relative] = regions
    return found


def _module_level_stub(region: Region, message: str) -> list[str]:
    """Definitions that keep a module importable: raising functions, ``None`` names."""
    body = _dedented(region.body, region.indent)
    stub: list[str] = []
    for statement in ast.parse(body).body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            keyword = "async def" if isinstance(statement, ast.AsyncFunctionDef) else "def"
            stub.append(f"{keyword} {statement.name}({ast.unparse(statement.args)}):")
            stub.append(f"    raise NotImplementedError({message!r})")
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        stub.append(f"{name.id} = None  # {message}")
    return [region.indent + line for line in (stub or ["pass"])]


def stub_source(text: str, path: Path | str, labs: set[int]) -> str:
    """``text`` with the regions of ``labs`` replaced by stubs (other regions untouched)."""
    regions = [region for region in parse_source(text, path) if region.lab in labs]
    if not regions:
        return text
    lines = text.splitlines()
    tree = ast.parse(text)
    for region in reversed(regions):
        message = f"Lab {region.lab:02d}: {region.hint}"
        scopes = _enclosing_scopes(tree, region.begin)
        if scopes and isinstance(scopes[-1], (ast.FunctionDef, ast.AsyncFunctionDef)):
            stub = [f"{region.indent}raise NotImplementedError({message!r})"]
        else:
            stub = _module_level_stub(region, message)
        lines[region.begin - 1:region.end] = stub
        task = _task_comment(lines, region.begin - 1)
        if task:  # the plain comment above becomes the student's TODO
            lines[region.begin - 2] = f"{task.group('indent')}# TODO: {task.group('text')}"
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")

