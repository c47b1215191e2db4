"""How a graded lab test checks a student's code: by what it produces, against an answer key.

A graded test is a *probe*: it calls the student's code on fixed inputs and
hands each result to ``expect``:

    from tinytorch.app.labs import expect

    expect.value(unbroadcast(grad, (3, 1)), rtol=1e-12, what="the summed gradient")
    expect.value(expanded.shape, what="the shape")
    with expect.raises(RuntimeError, match="cannot be multiplied", what="the error"):
        tinytorch.ones(2, 3) @ tinytorch.ones(4, 5)

What the result should be is not in the test: it is in the lab's *answer
key*, the same probes run on the reference solution (``answer_key.py``).  A
test that computed the right answer itself would hand it to any code running
beside it, and a submission's code runs beside its tests.

``$TINYTORCH_CHECKS`` says what each call does:

* unset (``assert``): compare with the answer key at once and fail with a
  message in numpy's words (mismatched elements, largest differences,
  expected and got).  This is how a student runs the tests at home; the
  key of the visible tests ships with the lab.
* ``reference``: record the result as the answer, with its tolerance (and,
  for ``raises``, require the reference to raise): how the key is made.
* ``record``: record only what the student's code produced, and never
  fail: in the autograder's sandbox, whose records the grader, another
  process, judges against the key (``verdict.py``), with the same rule
  (``checks.judge``) as the first mode.

The runner tells this module which test is running (``begin``) and takes its
records when it ends (``take_records``).
"""
from __future__ import annotations

import os
from typing import Any

from . import checks

MODE_VARIABLE = "TINYTORCH_CHECKS"

_records: list[dict] = []
_answer: dict | None = None   # the running test's answer key entry (assert mode)
_nodeid = ""


def mode() -> str:
    """"assert", "reference" or "record" (see the module essay)."""
    return os.environ.get(MODE_VARIABLE) or "assert"


def begin(nodeid: str, answer: dict | None) -> None:
    """A test starts: forget earlier records; ``answer`` is its key entry (None: none)."""
    global _answer, _nodeid
    _records.clear()
    _answer, _nodeid = answer, nodeid


def take_records() -> list[dict]:
    """The records of the checks made since ``begin``, removed from here."""
    taken = list(_records)
    _records.clear()
    return taken


def value(actual: Any, rtol: float = 0.0, atol: float = 0.0, what: str = "") -> None:
    """``actual`` must equal the reference's result: exactly, or within
    ``|actual - expected| <= atol + rtol * |expected|`` when a tolerance is given."""
    kind = "close" if rtol or atol else "equal"
    current = mode()
    if current == "record":
        _records.append({"kind": kind, "actual": _encode_actual(actual), "what": what})
        return
    if current == "reference":
        _records.append({"kind": kind, "expected": checks.encode(actual), "rtol": float(rtol),
                         "atol": float(atol), "what": what})
        return
    key = _next_answer(kind, what)
    problem = checks.judge(kind, checks.decode(_encode_actual(actual)),
                           checks.decode(key["expected"]), key["rtol"], key["atol"])
    _records.append(key)
    if problem is not None:
        raise AssertionError(f"{what}: {problem}" if what else problem)


def _next_answer(kind: str, what: str) -> dict:
    if _answer is None:
        raise AssertionError(f"{_nodeid}: no answer key for this test; the instructor makes it "
                             f"with `tinytorch lab answers`")
    index = len(_records)
    expected = _answer["checks"]
    if index >= len(expected) or expected[index]["kind"] != kind:
        raise AssertionError(f"{what or f'check {index + 1}'}: the answer key has no such "
                             f"check here (the test changed since the key was made: "
                             f"`tinytorch lab answers`)")
    return expected[index]


def _encode_actual(actual: Any) -> Any:
    try:
        return checks.encode(actual)
    except Exception as error:  # noqa: BLE001  (a student's value may be anything)
        return {"text": f"<a value that cannot be checked: {type(error).__name__}: {error}>"}


class raises:
    """``with expect.raises(ValueError, match="regex", what="..."):`` the block must raise
    that exception (or a subclass), its message matching ``match`` if given.

    As with ``pytest.raises``, ``.value`` holds the exception afterwards.
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
        self.value = value
        raised = None if value is None else [cls.__name__ for cls in type(value).__mro__]
        actual = {"raised": raised,
                  "message": "" if value is None else str(value)[:checks.MAX_TEXT]}
        current = mode()
        if current == "record":
            _records.append({"kind": "raises", "actual": _encode_actual(actual),
                             "what": self.what})
            return True  # whatever happened, the grader judges it
        wanted = {"type": self.exception.__name__, "match": self.match}
        if current == "reference":
            key = {"kind": "raises", "expected": checks.encode(wanted), "rtol": 0.0,
                   "atol": 0.0, "what": self.what}
        else:
            key = _next_answer("raises", self.what)
            wanted = checks.decode(key["expected"])
        _records.append(key)
        problem = checks.judge("raises", checks.decode(checks.encode(actual)), wanted)
        if problem is not None:
            raise AssertionError(f"{self.what}: {problem}" if self.what else problem) from value
        return True
