"""Checks for lab tests that a grader can verify from outside the student's process.

A graded test states each of its checks through this module instead of
``assert``, ``numpy.testing`` or ``pytest.raises``:

    from tinytorch.labs import expect

    expect.close(result, summed_by_hand, rtol=1e-12, what="the summed gradient")
    expect.equal(result.shape, (2, 3), what="the shape")
    with expect.raises(RuntimeError, match="cannot be multiplied"):
        tinytorch.ones(2, 3) @ tinytorch.ones(4, 5)

Each call behaves according to ``$TINYTORCH_CHECKS``:

* unset (``assert``): the check asserts at once, with a message in numpy's
  words (mismatched elements, largest differences, expected and got): how a
  student runs the tests, and how ``tinytorch grade`` scores them at home;
* ``reference``: it asserts, and also records what it expected (the value,
  the tolerance, the exception): run on the reference solution when an
  autograder is built, this makes the answer key;
* ``record``: it records only what the student's code produced (the value,
  or the exception raised, as data) and never fails: run in the sandbox on a
  submission, these records go to the grader, which judges them against the
  answer key (``checks.judge``, the very rule of the first mode).

The runner takes the records of each test with ``take_records``.
"""
from __future__ import annotations

import os
from typing import Any

from . import checks

MODE_VARIABLE = "TINYTORCH_CHECKS"
_records: list[dict] = []


def mode() -> str:
    """"assert", "reference" or "record" (see the module essay)."""
    return os.environ.get(MODE_VARIABLE) or "assert"


def take_records() -> list[dict]:
    """The records of the checks made since the last call, removed from here."""
    taken = list(_records)
    _records.clear()
    return taken


def close(actual: Any, expected: Any, rtol: float = 1e-7, atol: float = 0.0,
          what: str = "") -> None:
    """``|actual - expected| <= atol + rtol * |expected|`` everywhere, shapes equal."""
    _check("close", actual, expected, float(rtol), float(atol), what)


def equal(actual: Any, expected: Any, what: str = "") -> None:
    """The same shape and values (arrays, tensors, numbers), or equal text, None, tuples."""
    _check("equal", actual, expected, 0.0, 0.0, what)


def true(condition: Any, what: str) -> None:
    """``condition`` holds; ``what`` says what it means, for the message."""
    _check("equal", bool(condition), True, 0.0, 0.0, what)


def _check(kind: str, actual: Any, expected: Any, rtol: float, atol: float, what: str) -> None:
    current = mode()
    if current == "record":
        _records.append({"kind": kind, "actual": _encode_actual(actual), "what": what})
        return
    # Through the same encoding as a record, so that home and grader judge the same values.
    expected_data = checks.encode(expected)
    problem = checks.judge(kind, checks.decode(_encode_actual(actual)),
                           checks.decode(expected_data), rtol, atol)
    if current == "reference":
        _records.append({"kind": kind, "expected": expected_data, "rtol": rtol, "atol": atol,
                         "what": what})
    if problem is not None:
        raise AssertionError(f"{what}: {problem}" if what else problem)


def _encode_actual(actual: Any) -> Any:
    try:
        return checks.encode(actual)
    except Exception as error:  # noqa: BLE001  (a student's value may be anything)
        return {"text": f"<a value that cannot be checked: {type(error).__name__}: {error}>"}


class raises:
    """``with expect.raises(ValueError, match="regex"):`` the block must raise that
    exception (or a subclass), with a message matching ``match`` if given.

    As with ``pytest.raises``, ``.value`` holds the exception afterwards
    (in the ``assert`` and ``reference`` modes).
    """

    def __init__(self, exception: type[BaseException], match: str | None = None,
                 what: str = "") -> None:
        self.exception, self.match, self.what = exception, match, what
        self.value: BaseException | None = None

    def __enter__(self) -> "raises":
        return self

    def __exit__(self, kind, value, traceback) -> bool:  # noqa: ANN001
        if value is not None and not isinstance(value, Exception):
            return False  # KeyboardInterrupt, a time limit, SystemExit: not the test's to judge
        raised = None if value is None else [cls.__name__ for cls in type(value).__mro__]
        message = "" if value is None else str(value)
        actual = {"raised": raised, "message": message[:checks.MAX_TEXT]}
        current = mode()
        if current == "record":
            _records.append({"kind": "raises", "actual": _encode_actual(actual),
                             "what": self.what})
            return True  # whatever happened, the grader judges it
        expected = {"type": self.exception.__name__, "match": self.match}
        problem = checks.judge("raises", checks.decode(checks.encode(actual)), expected)
        if current == "reference":
            _records.append({"kind": "raises", "expected": checks.encode(expected),
                             "rtol": 0.0, "atol": 0.0, "what": self.what})
        if problem is not None:
            raise AssertionError(f"{self.what}: {problem}" if self.what else problem) from value
        self.value = value
        return True
