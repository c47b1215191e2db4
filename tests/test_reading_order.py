"""The README's map of the source is true: every chapter exists, every chapter
is on the map, and no chapter uses one that the reading order puts later.

The map is the numbered list under "Read them in this order" in README.md.
Paths are written in backticks: a path from the repository's root
(``kernels/gemm.py``, ``tinytorch/ops/``) names a file or sets the folder, and
any other path (``pooling.py``, ``utils/clip_grad.py``) is read inside the folder
of the path before it.
A file's first mention is its place in the order.

"Uses" means imports, at the top of the file or inside a function, read with
``ast`` from the source: a reader who meets ``from tinytorch.kernels.gemm
import ...`` must already have read the GEMM chapter.  The layers' direction
(kernels <- framework <- code generation <- application) is checked the same way.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYER_FOLDERS = {"tinytorch.kernels": "kernels", "tinytorch.codegen": "codegen",
                 "tinytorch": "tinytorch"}
LAYER_ROOTS = ("kernels/", "tinytorch/", "codegen/")
SOURCE_SUFFIXES = (".py", ".c", ".h")
# The application's files: ``python -m tinytorch`` needs its entry point in the package.
APPLICATION = ("tinytorch/app/", "tinytorch/__main__.py")

# Uses that run against the order on purpose, each with the reason the text gives.
KNOWN_FORWARD_USES = {
    # The Tensor's methods (x + y, x.sum(), x.backward()) are bound to the
    # operations in the closing lines of tensor.py; its essay says so.
    "tinytorch/tensor.py": {"tinytorch/autograd/", "tinytorch/ops/", "tinytorch/creation.py",
                            "tinytorch/device.py"},
    # The int8 convolution chapter ends by handing real work to its fast engine,
    # the next chapter; the plain loops before it are what the engine is tested against.
    "kernels/int8/conv2d.py": {"kernels/int8/conv2d_fast.py"},
    # Subset's batch fast path collates its samples the way the DataLoader does.
    "tinytorch/utils/data/dataset.py": {"tinytorch/utils/data/dataloader.py"},
}


def reading_order() -> list[str]:
    """The files of the README's reading order, relative to the repository, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("Read them in this order")
    chapters = re.search(r"\n((?:\d+\. [^\n]*\n(?: {3,}[^\n]*\n)*)+)", readme[start:])
    assert chapters, "README: no numbered reading order after 'Read them in this order'"
    order: list[str] = []
    folder = ""
    for token in re.findall(r"`([^`\s<>]+)`", chapters.group(1)):
        if token.endswith("/"):
            folder = token if token.startswith(LAYER_ROOTS) else folder + token
        elif token.endswith(SOURCE_SUFFIXES):
            path = token if token.startswith(LAYER_ROOTS) else folder + token
            folder = path.rsplit("/", 1)[0] + "/"
            if path not in order:
                order.append(path)
    return order


def source_files() -> list[str]:
    """Every chapter of the three layers (package ``__init__`` files are indexes, not chapters)."""
    found = []
    for folder in ("kernels", "tinytorch", "codegen"):
        for path in (ROOT / folder).rglob("*"):
            if (path.suffix in SOURCE_SUFFIXES and path.name != "__init__.py"
                    and "__pycache__" not in path.parts and not path.is_symlink()
                    and not any(part.is_symlink() for part in path.parents)):
                found.append(path.relative_to(ROOT).as_posix())
    return sorted(found)


def module_file(name: str) -> Path | None:
    for prefix, folder in LAYER_FOLDERS.items():
        if name == prefix or name.startswith(prefix + "."):
            rest = name[len(prefix) + 1:].split(".") if name != prefix else []
            base = ROOT.joinpath(folder, *rest)
            if base.with_suffix(".py").is_file():
                return base.with_suffix(".py")
            if (base / "__init__.py").is_file():
                return base / "__init__.py"
    return None


def module_name(path: Path) -> str:
    """``kernels/int8/conv2d.py`` -> ``tinytorch.kernels.int8.conv2d`` (a package: its folder's name)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    prefix = {folder: name for name, folder in LAYER_FOLDERS.items()}[parts[0]]
    return ".".join([prefix, *parts[1:]])


def annotation_only_imports(tree: ast.Module) -> set[ast.AST]:
    """Imports under ``if TYPE_CHECKING:``: they name types for annotations and never run."""
    return {child for node in ast.walk(tree)
            if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
            for statement in node.body for child in ast.walk(statement)}


def used_files(path: Path, seen: frozenset[Path] = frozenset()) -> set[Path]:
    """The project files ``path`` imports; a package stands for the modules it imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = annotation_only_imports(tree)
    package_name = module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    modules: set[Path] = set()
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            modules |= {f for alias in node.names if (f := module_file(alias.name))}
        elif isinstance(node, ast.ImportFrom) and (node.module or node.level):
            absolute = node.module or ""
            if node.level:  # ``from .requantize import ...`` inside a package
                base = package_name.rsplit(".", node.level - 1)[0] if node.level > 1 else package_name
                absolute = f"{base}.{node.module}" if node.module else base
            package = module_file(absolute)
            if package is None:
                continue
            if package.name == "__init__.py":
                modules |= {module_file(f"{absolute}.{alias.name}") or package
                            for alias in node.names}
            else:
                modules.add(package)
    used: set[Path] = set()
    for module in modules - {path}:
        if module.name == "__init__.py" and module not in seen:
            used |= used_files(module, seen | {path, module})
        elif module.name != "__init__.py":
            used.add(module)
    return used - {path}


def test_every_file_on_the_map_exists_and_every_chapter_is_on_the_map():
    order = reading_order()
    missing = [path for path in order if not (ROOT / path).is_file()]
    assert not missing, f"README's reading order names files that do not exist: {missing}"
    unlisted = sorted(set(source_files()) - set(order))
    assert not unlisted, f"source files missing from README's reading order: {unlisted}"


def forward_jumps(order: list[str]) -> list[str]:
    """Each use of a file that ``order`` puts after the user, not excused above."""
    place = {path: index for index, path in enumerate(order)}
    jumps = []
    for path in order:
        if not path.endswith(".py"):
            continue
        allowed = KNOWN_FORWARD_USES.get(path, set())
        for used in used_files(ROOT / path):
            used_name = used.relative_to(ROOT).as_posix()
            if place.get(used_name, -1) > place[path] and not any(
                    used_name.startswith(prefix) for prefix in allowed):
                jumps.append(f"{path} uses {used_name}, which comes later")
    return jumps


def test_no_chapter_uses_a_later_one():
    jumps = forward_jumps(reading_order())
    assert not jumps, "forward references in README's reading order:\n" + "\n".join(jumps)


def test_the_order_check_sees_a_jump():
    """Reading the loss chapter before the softmax chapter it imports is reported."""
    order = reading_order()
    order.remove("tinytorch/ops/softmax.py")
    order.append("tinytorch/ops/softmax.py")
    assert "tinytorch/ops/loss.py uses tinytorch/ops/softmax.py, which comes later" in (
        forward_jumps(order))


@pytest.mark.parametrize("layer, must_not_use", [
    ("kernels/", ("tinytorch/", "codegen/")),
    ("tinytorch/", ("codegen/", *APPLICATION)),
    ("codegen/", APPLICATION),
])
def test_imports_point_down(layer, must_not_use):
    upward = []
    for path in source_files():
        if not path.startswith(layer) or not path.endswith(".py") or path.startswith(APPLICATION):
            continue
        for used in used_files(ROOT / path):
            used_name = used.relative_to(ROOT).as_posix()
            if used_name.startswith(must_not_use):
                upward.append(f"{path} imports {used_name}")
    assert not upward, "imports that point up the stack:\n" + "\n".join(upward)
