"""Graded lab tests are probes (tinytorch.app.labs.expect): this gives each its answer key entry.

Run with plain ``pytest``, each check compares at once with the lab's answer
key (``tests/labs/answers/``; ``hidden/answers/`` where those tests exist).
The grader does not use this file: it runs with ``--noconftest`` and does the
same itself.
"""
from pathlib import Path

import pytest

from tinytorch.app.labs import answer_key, expect

HERE = Path(__file__).parent
KEYS = answer_key.load_entries(*sorted((HERE / "answers").glob("lab*.json")),
                               *sorted((HERE / "hidden" / "answers").glob("lab*.json")))


@pytest.fixture(autouse=True)
def answer_key_entry(request):
    expect.begin(request.node.nodeid, KEYS.get(request.node.nodeid))
