"""The autograder's verdict: a submission's records held against the answer key.

Where it sits
-------------
The autograder runs a submission's tests in a sandboxed child process with
``$TINYTORCH_CHECKS=record`` (``expect``): every check of every test writes
what the student's code produced into the events file that ``sandbox.py``
reads (as untrusted data, each event checked for shape), and nothing else
the child says is believed.  This module, in the grader's own process (which
never imports the student's code), judges each test's records against the
answer key, made from the reference solution
when the autograder was built:

* the answer key lists every graded test, so a test the child never reports
  (its module failed to import, the child crashed, the student deleted it)
  scores 0 and the total never shrinks;
* a test passes when the reference passed it, the child reports it finished,
  and the child recorded exactly the checks the reference made, each
  satisfying ``checks.judge`` against the key's value, tolerance or exception;
* anything malformed (a record that does not decode, the wrong kind of check,
  a test the run reports oddly) fails the check it belongs to, with a message.

What a student's code can still do is produce the right values, which is the
point of the lab.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import checks


@dataclass
class Verdict:
    passed: bool
    message: str


def judge_test(answer: dict, submitted: dict | None) -> Verdict:
    """One test: the answer key's entry against what the child recorded (None: nothing)."""
    if submitted is None:
        return Verdict(False, "the test did not run (no record of it: an import error, a crash "
                              "or a time limit; see the output)")
    expected_checks = answer["checks"]
    recorded = submitted.get("checks")
    if not isinstance(recorded, list):
        return Verdict(False, "the test's record is malformed")
    for index, key in enumerate(expected_checks):
        what = key.get("what") or f"check {index + 1}"
        if index >= len(recorded):
            reason = submitted.get("error") or "the test stopped"
            return Verdict(False, f"{_text(reason)} (before checking {what})")
        record = recorded[index]
        if not isinstance(record, dict) or record.get("kind") != key["kind"]:
            return Verdict(False, f"{what}: the test made a different check here")
        try:
            actual = checks.decode(record.get("actual"))
            expected = checks.decode(key["expected"])
        except checks.RecordError as error:
            return Verdict(False, f"{what}: unreadable record ({error})")
        problem = checks.judge(key["kind"], actual, expected, key.get("rtol", 0.0),
                               key.get("atol", 0.0))
        if problem is not None:
            return Verdict(False, f"{what}: {problem}")
    if len(recorded) > len(expected_checks):
        return Verdict(False, "the test made more checks than the reference did")
    if submitted.get("completed") is not True:
        return Verdict(False, f"the test did not finish: {_text(submitted.get('error'))}")
    return Verdict(True, "")


def _text(value: Any) -> str:
    return str(value)[:2000] if value else "no reason given"
