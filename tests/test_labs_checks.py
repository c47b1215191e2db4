"""Checks as data (tinytorch.app.labs.checks), the tests' API (expect) and the verdict."""
import json

import numpy as np
import pytest

import tinytorch
from tinytorch.app.labs import checks, expect
from tinytorch.app.labs.sandbox import _read_events
from tinytorch.app.labs.verdict import judge_test


def roundtrip(value):
    return checks.decode(json.loads(json.dumps(checks.encode(value))))


@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, "text", (2, 3), [1, (2, "a")], {"weight": np.ones(2)},
    np.arange(6, dtype=np.int8).reshape(2, 3), np.array([np.nan, np.inf], np.float32),
    np.ones((3, 4))[:, ::2], np.float64(1.5), np.dtype("float32"),
])
def test_values_survive_encoding_and_judge_equal_to_themselves(value):
    assert checks.judge("equal", roundtrip(value), roundtrip(value)) is None


def test_a_tensor_is_recorded_as_its_array():
    tensor = tinytorch.tensor([[1.0, 2.0]])
    decoded = roundtrip(tensor)
    assert isinstance(decoded, np.ndarray) and decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, [[1.0, 2.0]])


@pytest.mark.parametrize("data, message", [
    ({"dtype": "|O", "shape": [1], "bytes": ""}, "not a recorded array"),
    ({"dtype": "<f8", "shape": [2], "bytes": "AAAA"}, "do not fit"),
    ({"dtype": "<f8", "shape": [10**9, 10**9], "bytes": ""}, "not a recorded array"),
    ({"dtype": "<f8", "shape": [True], "bytes": ""}, "not a recorded array"),
    ({"pickle": "gASV"}, "not a recorded"),
    ([1, 2], "not a recorded value"),
    (3, "not a recorded value"),
])
def test_malformed_records_are_refused(data, message):
    with pytest.raises(checks.RecordError, match=message):
        checks.decode(data)


def test_deep_nesting_is_refused():
    data = None
    for _ in range(50):
        data = {"sequence": [data]}
    with pytest.raises(checks.RecordError, match="nested too deeply"):
        checks.decode(data)


def test_objects_cannot_be_encoded():
    with pytest.raises(TypeError):
        checks.encode(object())
    with pytest.raises(TypeError):
        checks.encode(np.array([object()]))


def test_close_reports_like_numpy():
    message = checks.judge("close", np.array([1.0, 2.0, 3.5]), np.array([1.0, 2.0, 3.0]),
                           rtol=1e-7)
    assert "Mismatched elements: 1 / 3 (33.3%)" in message
    assert "Max absolute difference: 0.5" in message and "expected: [1. 2. 3.]" in message
    assert checks.judge("close", np.array([1.0, np.nan]), np.array([1.0 + 1e-9, np.nan]),
                        rtol=1e-7) is None
    assert checks.judge("close", np.ones(3), np.ones((3, 1))) == \
        "expected shape (3, 1), got shape (3,)"
    assert "expected" in checks.judge("close", "text", np.ones(2))


def test_equal_is_exact_and_type_aware():
    assert checks.judge("equal", roundtrip((2, 3)), roundtrip((2, 3))) is None
    assert checks.judge("equal", roundtrip((2, 3)), roundtrip((2, 3, 1))) is not None
    assert checks.judge("equal", roundtrip(1.0 + 1e-12), roundtrip(1.0)) is not None
    assert checks.judge("equal", roundtrip("a"), roundtrip("b")) == "expected 'b', got 'a'"
    assert checks.judge("equal", roundtrip(1), roundtrip(True)) is not None  # a number is not True
    assert checks.judge("equal", roundtrip(None), roundtrip(0)) is not None


def test_raises_accepts_subclasses_and_checks_the_message():
    got = {"raised": ("GraphError", "ValueError", "Exception"), "message": "bad shape (2, 3)"}
    assert checks.judge("raises", got, {"type": "ValueError", "match": r"shape \(2, 3\)"}) is None
    assert "does not match" in checks.judge("raises", got, {"type": "ValueError", "match": "x"})
    assert "got GraphError" in checks.judge("raises", got, {"type": "KeyError", "match": None})
    assert "nothing was raised" in checks.judge(
        "raises", {"raised": None, "message": ""}, {"type": "ValueError", "match": None})


# ---- expect, in its three modes ---------------------------------------------------------

@pytest.fixture
def reference_key(monkeypatch):
    """The answer key entry of a small probe, made in reference mode."""
    monkeypatch.setenv(expect.MODE_VARIABLE, "reference")
    expect.begin("t.py::probe", None)
    probe(np.array([1.0, 2.0]))
    return {"checks": expect.take_records()}


def probe(result, error=ValueError("a bad value")):
    expect.value(result, rtol=1e-7, what="the sum")
    expect.value(result.shape, what="the shape")
    with expect.raises(ValueError, match="bad", what="the error"):
        if error is not None:
            raise error


def test_reference_mode_records_the_answers(reference_key):
    kinds = [check["kind"] for check in reference_key["checks"]]
    assert kinds == ["close", "equal", "raises"]
    np.testing.assert_array_equal(checks.decode(reference_key["checks"][0]["expected"]), [1, 2])
    assert checks.decode(reference_key["checks"][2]["expected"]) == {"type": "ValueError",
                                                                     "match": "bad"}


def test_reference_mode_requires_the_reference_to_raise(monkeypatch):
    monkeypatch.setenv(expect.MODE_VARIABLE, "reference")
    expect.begin("t.py::probe", None)
    with pytest.raises(AssertionError, match="the error: expected ValueError to be raised"):
        probe(np.array([1.0]), error=None)


def test_assert_mode_compares_with_the_key_at_once(monkeypatch, reference_key):
    monkeypatch.delenv(expect.MODE_VARIABLE, raising=False)
    expect.begin("t.py::probe", reference_key)
    probe(tinytorch.tensor([1.0, 2.0], dtype=np.float64))
    expect.begin("t.py::probe", reference_key)
    with pytest.raises(AssertionError, match=r"the sum: Mismatched elements: 1 / 2"):
        probe(np.array([1.0, 2.5]))
    expect.begin("t.py::probe", reference_key)
    with pytest.raises(AssertionError, match="the error: expected ValueError to be raised, "
                                             "got KeyError"):
        probe(np.array([1.0, 2.0]), error=KeyError("x"))
    expect.begin("t.py::probe", None)
    with pytest.raises(AssertionError, match="no answer key for this test"):
        probe(np.array([1.0, 2.0]))


def test_record_mode_records_what_was_produced_and_never_fails(monkeypatch):
    monkeypatch.setenv(expect.MODE_VARIABLE, "record")
    expect.begin("t.py::probe", None)
    probe(np.array([9.0]), error=KeyError("wrong kind"))      # wrong, but not judged here
    expect.value(object())                                    # cannot be encoded: recorded
    with pytest.raises(KeyboardInterrupt):
        with expect.raises(ValueError):
            raise KeyboardInterrupt                           # not the test's to swallow
    records = expect.take_records()
    assert [r["kind"] for r in records] == ["close", "equal", "raises", "equal"]
    assert all("expected" not in r for r in records)
    assert checks.decode(records[2]["actual"])["raised"][0] == "KeyError"
    assert "cannot be checked" in checks.decode(records[3]["actual"])


def test_a_record_judged_against_the_key_gives_the_verdict_of_assert_mode(monkeypatch,
                                                                          reference_key):
    monkeypatch.setenv(expect.MODE_VARIABLE, "record")
    for result, error, passes in [(np.array([1.0, 2.0]), ValueError("bad"), True),
                                  (np.array([1.0, 2.5]), ValueError("bad"), False),
                                  (np.array([1.0, 2.0]), None, False)]:
        expect.begin("t.py::probe", None)
        probe(result, error)
        submitted = {"checks": expect.take_records(), "completed": True}
        assert judge_test(reference_key, submitted).passed is passes


# ---- the verdict --------------------------------------------------------------------------

def answer(*pairs):
    return {"checks": [{"kind": kind, "expected": checks.encode(value), "rtol": 1e-7,
                        "atol": 0.0, "what": f"check {i}"} for i, (kind, value) in enumerate(pairs)]}


def submission(*pairs, completed=True):
    return {"checks": [{"kind": kind, "actual": checks.encode(value)} for kind, value in pairs],
            "completed": completed, "error": "" if completed else "ZeroDivisionError: x"}


def test_a_test_passes_only_when_every_check_matches_and_it_finished():
    key = answer(("equal", (2, 3)), ("close", np.array([1.0, 2.0])))
    assert judge_test(key, submission(("equal", (2, 3)), ("close", np.array([1.0, 2.0])))).passed
    cases = {
        "did not run": None,
        "check 1: Mismatched": submission(("equal", (2, 3)), ("close", np.array([1.0, 2.1]))),
        "ZeroDivisionError: x (before checking check 1)": submission(("equal", (2, 3)),
                                                                     completed=False),
        "more checks than the reference": submission(
            ("equal", (2, 3)), ("close", np.array([1.0, 2.0])), ("equal", 1)),
        "different check": submission(("close", (2, 3)), ("close", np.array([1.0, 2.0]))),
        "did not finish": submission(("equal", (2, 3)), ("close", np.array([1.0, 2.0])),
                                     completed=False),
        "unreadable record": {"checks": [{"kind": "equal", "actual": {"dtype": "|O"}}],
                              "completed": True},
        "malformed": {"checks": "all passed", "completed": True},
    }
    for message, submitted in cases.items():
        verdict = judge_test(key, submitted)
        assert not verdict.passed and message in verdict.message, (message, verdict.message)


def test_the_events_file_is_read_as_untrusted_data(tmp_path):
    path = tmp_path / "events.jsonl"
    good = {"event": "result", "nodeid": "t.py::a", "records": [], "completed": True}
    path.write_text("\n".join([
        json.dumps(good), "not json", json.dumps({"event": "result", "outcome": "passed"}),
        json.dumps({"event": "collected", "nodeids": [5]}),
        "[" * 100000 + "]" * 100000,
    ]) + "\n")
    assert _read_events(path) == [good]


# ---- mutants ----------------------------------------------------------------------------------

def test_lab_verify_reports_a_mutant_that_no_test_catches(monkeypatch):
    """A "mutant" that is the solution itself passes every test: verify must say so."""
    from pathlib import Path

    from tinytorch.app.labs import verify as verifying
    from tinytorch.app.labs.mutation import Mutant, mutated_source
    from tinytorch.app.labs.regions import find_regions
    from tinytorch.app.labs.registry import get_lab

    root = Path(__file__).resolve().parent.parent
    region = find_regions(root, {1})[Path("tinytorch/ops/arithmetic.py")][0]
    same = Mutant("the solution itself", "tinytorch/ops/arithmetic.py", "unbroadcast",
                  "\n".join(line[len(region.indent):] for line in region.body))
    assert mutated_source(root, same, 1).count("added_axes = grad.ndim") == 1
    caught = Mutant("forgets the stretched axes", "tinytorch/ops/arithmetic.py", "unbroadcast",
                    "return np.add.reduce(grad, axis=tuple(range(grad.ndim - len(shape))))")
    monkeypatch.setattr(verifying, "load_mutants", lambda root, tag: [same, caught])
    checks = verifying.verify(root, [get_lab(1)], stream=None)
    (mutants,) = [check for check in checks if check.invariant == "d"]
    assert mutants.problems == ["mutant 'the solution itself' (tinytorch/ops/arithmetic.py, "
                                "unbroadcast) passes every graded test"]


def test_close_applies_to_each_value_of_a_mapping_or_sequence():
    key = roundtrip({"weight": np.array([1.0, 2.0]), "bias": np.array(0.5)})
    assert checks.judge("close", roundtrip({"weight": np.array([1.0, 2.0 + 1e-9]),
                                           "bias": np.array(0.5)}), key, rtol=1e-6) is None
    problem = checks.judge("close", roundtrip({"weight": np.array([1.0, 2.5]),
                                              "bias": np.array(0.5)}), key, rtol=1e-6)
    assert problem.startswith("['weight']: Mismatched elements: 1 / 2")
    assert "expected" in checks.judge("close", roundtrip({"weight": np.ones(2)}), key, rtol=1e-6)
    assert checks.judge("close", roundtrip((1.0, np.ones(2))), roundtrip((1.0, np.ones(2))),
                        rtol=1e-6) is None
