"""A check of a lab test, written as plain data, and the one rule that judges it.

Why data
--------
A test that ends in ``assert`` decides pass or fail inside the process that
runs the student's code, and code in a process can change anything in it:
the test's verdict, pytest's report, the file the report goes to.  So the
autograder never asks the student's process whether a test passed.  A graded
test states its checks through ``tinytorch.app.labs.expect``; run on a
submission, each check only *records* what the student's code produced (a
value, or the exception it raised), as data; the grader, a separate process
that never imports the student's code, then holds each record against the
answer key (the same checks recorded on the reference solution: the value
expected, the tolerance, the exception required) with ``judge``.

This file is that common ground: how values become JSON (``encode``), how
JSON becomes values again with nothing trusted (``decode``: numeric and
boolean arrays, numbers, text, lists and mappings of those, never a pickle
or an object array), and ``judge``, used both by ``expect`` when a student
runs the tests at home and by the grader, so the two always agree.

It imports numpy and the standard library only: the grader's process loads
it, and must not load anything else.
"""
from __future__ import annotations

import base64
import re
from typing import Any

import numpy as np

# Array dtypes a record may hold: booleans, integers and floats, nothing with objects.
ARRAY_DTYPES = {np.dtype(name).str for name in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64")}
MAX_ARRAY_VALUES = 50_000_000
MAX_TEXT = 10_000
MAX_DEPTH = 20


class RecordError(ValueError):
    """A record that is not well-formed data; the check it belongs to fails."""


# ---- values to data and back ------------------------------------------------------

def encode(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-ready data: arrays (and tensors, through ``.numpy()``) as dtype, shape
    and raw bytes; numbers, text, None; lists, tuples and str-keyed dicts of those."""
    if depth > MAX_DEPTH:
        raise TypeError("a value nested more than 20 levels deep")
    if value is None:
        return None
    if isinstance(value, str):
        return {"text": value[:MAX_TEXT]}
    if hasattr(value, "numpy") and callable(value.numpy):  # a Tensor
        value = value.numpy()
    if isinstance(value, (bool, int, float, np.generic, np.ndarray)):
        array = np.asarray(value)
        if array.dtype.str not in ARRAY_DTYPES:
            raise TypeError(f"an array of dtype {array.dtype} cannot be a check's value")
        return {"dtype": array.dtype.str, "shape": list(array.shape),
                "bytes": base64.b64encode(array.tobytes()).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return {"sequence": [encode(item, depth + 1) for item in value]}
    if isinstance(value, dict):
        return {"mapping": [[str(key), encode(item, depth + 1)] for key, item in value.items()]}
    if isinstance(value, (np.dtype, type)):
        return {"text": str(value) if isinstance(value, np.dtype) else value.__name__}
    raise TypeError(f"a {type(value).__name__} cannot be a check's value")


def decode(data: Any, depth: int = 0) -> Any:
    """The value ``encode`` made, rebuilt from untrusted JSON; RecordError if malformed."""
    if depth > MAX_DEPTH:
        raise RecordError("nested too deeply")
    if data is None or isinstance(data, bool):
        return data
    if not isinstance(data, dict) or len(data) not in (1, 3):
        raise RecordError(f"not a recorded value: {str(data)[:80]}")
    if "text" in data and isinstance(data["text"], str):
        return data["text"][:MAX_TEXT]
    if "sequence" in data and isinstance(data["sequence"], list):
        return tuple(decode(item, depth + 1) for item in data["sequence"])
    if "mapping" in data and isinstance(data["mapping"], list):
        if not all(isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)
                   for pair in data["mapping"]):
            raise RecordError("a mapping must be [key, value] pairs with text keys")
        return {key: decode(item, depth + 1) for key, item in data["mapping"]}
    dtype, shape, raw = data.get("dtype"), data.get("shape"), data.get("bytes")
    if dtype not in ARRAY_DTYPES or not isinstance(raw, str) or not isinstance(shape, list) \
            or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in shape) \
            or int(np.prod(shape, dtype=np.float64)) > MAX_ARRAY_VALUES:
        raise RecordError(f"not a recorded array: dtype {str(dtype)[:20]}, shape "
                          f"{str(shape)[:40]}")
    try:
        payload = base64.b64decode(raw.encode("ascii"), validate=True)
        return np.frombuffer(payload, dtype=np.dtype(dtype)).reshape(shape).copy()
    except (ValueError, TypeError) as error:
        raise RecordError(f"a recorded array's bytes do not fit its shape: {error}") from None


# ---- the rule -----------------------------------------------------------------------

def describe(value: Any, limit: int = 300) -> str:
    """A short readable form of a decoded value, for messages."""
    if isinstance(value, tuple):  # a shape, or a sequence of results
        inner = ", ".join(describe(item, limit) for item in value)
        text = f"({inner},)" if len(value) == 1 else f"({inner})"
        return text if len(text) <= limit else text[:limit] + " ..."
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return repr(value.item())
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=20, edgeitems=3, precision=6)
        text = f"{text} ({value.dtype}, shape {value.shape})" if value.ndim else text
    else:
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def _as_array(value: Any) -> np.ndarray | None:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, tuple):
        try:
            array = np.asarray(value)
        except (ValueError, TypeError):
            return None
        return array if array.dtype.kind in "biuf" else None
    return None


def judge(kind: str, actual: Any, expected: Any, rtol: float = 0.0, atol: float = 0.0) -> str | None:
    """None if ``actual`` satisfies the check, else what is wrong, in words.

    * ``equal``: the same shape and the same values (NaN equals NaN), or equal
      Python values (text, None, sequences of them);
    * ``close``: the same shape and ``|actual - expected| <= atol + rtol * |expected|``
      everywhere (NaN where expected NaN);
    * ``raises``: ``expected`` is ``{"type": name, "match": regex or None}``;
      ``actual`` is ``{"raised": [the exception's class names, most derived
      first] or None, "message": text}``.
    """
    if kind == "raises":
        return _judge_raises(actual, expected)
    if kind not in ("equal", "close"):
        return f"unknown kind of check {kind!r}"
    if kind == "close" and isinstance(expected, (tuple, dict)):
        return _judge_each(actual, expected, rtol, atol)
    if kind == "equal" and (isinstance(actual, tuple) or isinstance(expected, tuple)):
        # Shapes and sequences compare as Python values: (3, 1) against (3,), not as arrays.
        if _equal_values(actual, expected):
            return None
        return f"expected {describe(expected)}, got {describe(actual)}"
    got, want = _as_array(actual), _as_array(expected)
    if want is None or got is None:  # text, None, or sequences holding them
        if kind == "equal" and _equal_values(actual, expected):
            return None
        return f"expected {describe(expected)}, got {describe(actual)}"
    if got.shape != want.shape:
        return f"expected shape {want.shape}, got shape {got.shape}"
    if kind == "equal":
        if want.dtype.kind == "b" and got.dtype.kind != "b":
            return f"expected booleans {describe(want)}, got {describe(got)}"
        mismatched = ~_equal_elementwise(got, want)
    else:
        if got.dtype.kind not in "biuf":
            return f"expected numbers, got {describe(got)}"
        with np.errstate(all="ignore"):
            g, w = got.astype(np.float64), want.astype(np.float64)
            difference = np.abs(g - w)
            mismatched = ~((difference <= atol + rtol * np.abs(w)) | (np.isnan(g) & np.isnan(w))
                           | ((g == w) & np.isinf(w)))
    count = int(np.count_nonzero(mismatched))
    if count == 0:
        return None
    lines = [f"Mismatched elements: {count} / {want.size} ({100 * count / max(want.size, 1):.3g}%)"]
    if want.dtype.kind in "biuf" and got.dtype.kind in "biuf" and want.size:
        with np.errstate(all="ignore"):
            g, w = got.astype(np.float64), want.astype(np.float64)
            difference = np.abs(g - w)[mismatched]
            relative = difference / np.abs(w[mismatched])
        lines.append(f"Max absolute difference: {np.nanmax(difference):.6g}")
        lines.append(f"Max relative difference: {np.nanmax(relative):.6g}")
    lines.append(f" expected: {describe(want)}")
    lines.append(f" got:      {describe(got)}")
    if kind == "close":
        lines.append(f" (tolerance rtol={rtol:g}, atol={atol:g})")
    return "\n".join(lines)


def _judge_each(actual: Any, expected: tuple | dict, rtol: float, atol: float) -> str | None:
    """``close`` for each item of a sequence or mapping of results, keys or positions first."""
    if type(actual) is not type(expected) or len(actual) != len(expected) or (
            isinstance(expected, dict) and actual.keys() != expected.keys()):
        return f"expected {describe(expected)}, got {describe(actual)}"
    keys = expected.keys() if isinstance(expected, dict) else range(len(expected))
    for key in keys:
        problem = judge("close", actual[key], expected[key], rtol, atol)
        if problem is not None:
            return f"[{key!r}]: {problem}"
    return None


def _equal_elementwise(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        same = got == want
        if got.dtype.kind == "f" and want.dtype.kind == "f":
            same = same | (np.isnan(got) & np.isnan(want))
    return np.asarray(same, dtype=bool)


def _equal_values(actual: Any, expected: Any) -> bool:
    if isinstance(expected, tuple) and isinstance(actual, tuple):
        return len(actual) == len(expected) and all(
            _equal_values(a, e) if not isinstance(e, np.ndarray) else
            isinstance(a, np.ndarray) and a.shape == e.shape and bool(_equal_elementwise(a, e).all())
            for a, e in zip(actual, expected))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(
            _equal_values(actual[key], expected[key]) for key in expected)
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        return (isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray)
                and actual.shape == expected.shape and bool(_equal_elementwise(actual, expected).all()))
    return type(actual) is type(expected) and actual == expected


def _judge_raises(actual: Any, expected: Any) -> str | None:
    if not isinstance(expected, dict) or not isinstance(expected.get("type"), str):
        return "the answer key's exception is malformed"
    wanted, pattern = expected["type"], expected.get("match")
    raised = actual.get("raised") if isinstance(actual, dict) else None
    message = actual.get("message", "") if isinstance(actual, dict) else ""
    if not isinstance(raised, tuple) or not all(isinstance(name, str) for name in raised):
        return f"expected {wanted} to be raised, but nothing was raised"
    if wanted not in raised:
        return (f"expected {wanted} to be raised, got {raised[0] if raised else '?'}: "
                f"{str(message)[:300]}")
    if pattern is not None and not re.search(pattern, str(message)):
        return (f"{wanted} was raised, but its message {str(message)[:300]!r} does not match "
                f"{pattern!r}")
    return None
