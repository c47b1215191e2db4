"""The lab registry: every weekly lab, its tutorial and the tests that grade it.

A lab is a number, a title, the tutorial that teaches it and a list of graded
tests.  The code a student writes is not listed here: it is every solution
region of the lab in the source, fenced by its two marker comments (see
``regions.py``).

Each ``Tests`` entry selects pytest tests by file or node id and gives every
test it selects the same number of points.  Visible tests ship to students;
hidden ones live under ``tests/labs/hidden/``, are left out of every student
release, and run only in the instructor's autograder (Gradescope shows them
after the due date).

Three invariants hold for every lab, and ``tinytorch lab verify`` checks them:
(a) the reference passes all of the lab's tests; (b) with the lab's regions
stubbed, every one of them fails; (c) they pass with every later lab stubbed.
So a lab's tests exercise exactly that lab's code, and nothing from its future.

Adding a lab is one more ``Lab(...)`` at the end of ``LABS``.

What the selectors select is listed once, from the reference, in a manifest
(``MANIFEST_FILE``, see ``manifest.py``): every graded test's node id, its
parametrized cases expanded, with its points.  Grading scores against that
list, so a submission that breaks collection loses the tests it hides
instead of shrinking the total.
"""
from __future__ import annotations

from dataclasses import dataclass, field

HIDDEN_TESTS_DIRECTORY = "tests/labs/hidden"
# The graded tests of every lab, as a student release ships them (``manifest.py``).
MANIFEST_FILE = "tests/labs/graded_tests.json"


@dataclass(frozen=True)
class Tests:
    """Pytest selectors (files or node ids), each selected test worth ``points``."""

    selectors: tuple[str, ...]
    points: float = 1.0
    hidden: bool = False


def visible(*selectors: str, points: float = 1.0) -> Tests:
    return Tests(tuple(selectors), points, hidden=False)


def hidden(*selectors: str, points: float = 1.0) -> Tests:
    return Tests(tuple(selectors), points, hidden=True)


@dataclass(frozen=True)
class Lab:
    number: int
    title: str
    tutorial: str
    tests: tuple[Tests, ...] = field(default_factory=tuple)

    @property
    def tag(self) -> str:
        return f"{self.number:02d}"

    def selectors(self, include_hidden: bool = True) -> list[str]:
        return [selector for group in self.tests if include_hidden or not group.hidden
                for selector in group.selectors]

    def group_of(self, nodeid: str) -> Tests | None:
        """The first ``Tests`` entry selecting the test ``nodeid`` (its points, its visibility)."""
        return next((group for group in self.tests for selector in group.selectors
                     if selects(selector, nodeid)), None)


def selects(selector: str, nodeid: str) -> bool:
    """Whether a selector (a file, a folder ending in ``/``, a class or a test) picks ``nodeid``."""
    return nodeid == selector or nodeid.startswith(selector.rstrip("/") + "::") or (
        selector.endswith("/") and nodeid.startswith(selector)) or (
        nodeid.startswith(selector + "["))  # the parametrized cases of a test


LABS: list[Lab] = [
    Lab(1, "Tensors and broadcasting", "tutorials/01_tensors_and_broadcasting.py", (
        visible("tests/labs/test_lab01_broadcasting.py"),
        hidden("tests/labs/hidden/test_lab01_hidden.py"),
    )),
    Lab(2, "Autograd", "tutorials/02_autograd.py", (
        visible("tests/labs/test_lab02_autograd.py"),
        hidden("tests/labs/hidden/test_lab02_hidden.py"),
    )),
    Lab(3, "Modules, layers and losses", "tutorials/03_modules_layers_losses.py", (
        visible("tests/labs/test_lab03_modules.py"),
        hidden("tests/labs/hidden/test_lab03_hidden.py"),
    )),
    Lab(4, "Optimizers and the training loop", "tutorials/04_optimizers_and_training.py", (
        visible("tests/labs/test_lab04_optimizers.py"),
        hidden("tests/labs/hidden/test_lab04_hidden.py"),
    )),
    Lab(5, "Data pipelines", "tutorials/05_data_pipelines.py", (
        visible("tests/labs/test_lab05_data.py"),
        hidden("tests/labs/hidden/test_lab05_hidden.py"),
    )),
    Lab(6, "Convolutions", "tutorials/06_convolutions.py", (
        visible("tests/labs/test_lab06_convolutions.py"),
        hidden("tests/labs/hidden/test_lab06_hidden.py"),
    )),
    Lab(7, "Kernels and acceleration with Numba", "tutorials/07_kernels_and_acceleration.py", (
        visible("tests/labs/test_lab07_gemm.py"),
        hidden("tests/labs/hidden/test_lab07_hidden.py"),
    )),
    Lab(8, "Quantization", "tutorials/08_quantization.py", (
        visible("tests/labs/test_lab08_quantization.py"),
        hidden("tests/labs/hidden/test_lab08_hidden.py"),
    )),
    Lab(9, "Code generation to C and memory planning", "tutorials/09_code_generation.py", (
        visible("tests/labs/test_lab09_code_generation.py"),
        hidden("tests/labs/hidden/test_lab09_hidden.py"),
    )),
    Lab(10, "On the microcontroller", "tutorials/10_microcontroller.py", (
        visible("tests/labs/test_lab10_microcontroller.py"),
        hidden("tests/labs/hidden/test_lab10_hidden.py"),
    )),
    Lab(11, "Benchmarking a real model", "tutorials/11_benchmarking.py", (
        visible("tests/labs/test_lab11_benchmarking.py"),
        hidden("tests/labs/hidden/test_lab11_hidden.py"),
    )),
]


def get_lab(number: int) -> Lab:
    for lab in LABS:
        if lab.number == number:
            return lab
    raise KeyError(f"no lab {number:02d} in the registry ({registered()})")


def registered() -> str:
    """The registered lab numbers, in words for a message: ``labs 01-10``."""
    numbers = sorted(lab.number for lab in LABS)
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"labs {numbers[0]:02d}-{numbers[-1]:02d}"
    return "labs " + ", ".join(f"{number:02d}" for number in numbers)


def check_registered(numbers: list[int]) -> list[int]:
    """``numbers`` if every one is a registered lab, else ValueError naming those that are not."""
    unknown = [number for number in numbers if number not in {lab.number for lab in LABS}]
    if unknown:
        names = ", ".join(f"{number:02d}" for number in unknown)
        raise ValueError(f"no lab {names} in the registry (there are {registered()})")
    return numbers


def parse_lab_numbers(text: str) -> list[int]:
    """``"1-3,5"`` -> ``[1, 2, 3, 5]``; numbers may have leading zeros."""
    numbers: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"lab numbers: cannot read {part!r} (write e.g. 1-3,5)") from None
        if first > last or first < 1:
            raise ValueError(f"lab numbers: {part!r} is not a range of positive numbers")
        numbers.update(range(first, last + 1))
    return sorted(numbers)
