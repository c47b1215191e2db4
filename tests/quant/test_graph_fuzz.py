"""Fuzzing the int8 graph files: whatever the damage, load gives a valid graph or a GraphError.

Seeded loops, not hypothesis: every run tries the same few hundred damaged files,
and a failure prints the mutations that caused it, so it can be replayed by hand.
"""
import copy
import hashlib
import json

import numpy as np
import pytest
from test_graph_files import residual_graph

from tinytorch.codegen.example_graphs import digits_cnn, softmax_classifier
from tinytorch.quant import GraphError, Int8Graph

# Values a damaged or hostile document might hold where something else is expected.
REPLACEMENTS = [None, True, False, "", "x", "int8", 0, 1, -1, 2**31, 2**40, 10**400, 0.5, -0.0,
                float("nan"), float("inf"), [], [1], [[1]], ["x"], {}, {"x": 1}]


@pytest.fixture(scope="module", params=["digits_cnn", "residual", "softmax"])
def saved(request, tmp_path_factory):
    """(the .json document, its path) of a valid graph saved once per module."""
    graph = {"digits_cnn": lambda: digits_cnn(np.random.default_rng(0)),
             "residual": residual_graph,
             "softmax": lambda: softmax_classifier(np.random.default_rng(0))}[request.param]()
    path = tmp_path_factory.mktemp(request.param) / "g.json"
    graph.save(path)
    return json.loads(path.read_text()), path


def locations(value, path=()):
    """The path (keys and indices) of every value inside a JSON document, the root included."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from locations(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from locations(item, path + (index,))


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def mutate(document, rng):
    """Damage ``document`` in place at one random location; return what was done."""
    where = list(locations(document))[1:]
    path = where[rng.integers(len(where))]
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    key, old = path[-1], parent[path[-1]]
    action = rng.integers(5)
    if action == 0 and isinstance(parent, dict):
        del parent[key]
        return f"delete {list(path)}"
    if action == 1 and isinstance(old, list) and old:
        del old[rng.integers(len(old)):]
        return f"truncate {list(path)} to {len(old)}"
    if action == 2 and isinstance(old, list) and old:
        old.append(copy.deepcopy(old[rng.integers(len(old))]))
        return f"append a copy of an item to {list(path)}"
    if action == 3:  # another name from the document: a plausible but wrong reference
        names = sorted(set(strings(document)))
        new = names[rng.integers(len(names))]
    else:
        new = REPLACEMENTS[rng.integers(len(REPLACEMENTS))]
    parent[key] = copy.deepcopy(new)
    return f"set {list(path)} = {new!r}"


def load_or_graph_error(path, what):
    """Load must give a graph that passes validation, or a GraphError; nothing else."""
    try:
        Int8Graph.load(path).validate()
        return
    except GraphError:
        return
    except Exception as error:  # anything else is the bug being hunted
        failure = f"{what}: {type(error).__name__}: {error}"
    pytest.fail(failure)  # outside the except block: no chained traceback


def test_mutated_documents_load_or_raise_graph_error(saved, tmp_path):
    document, saved_path = saved
    rng = np.random.default_rng(2024)
    path = tmp_path / "g.json"
    (tmp_path / "g.npz").write_bytes(saved_path.with_suffix(".npz").read_bytes())
    for case in range(400):
        damaged = copy.deepcopy(document)
        done = [mutate(damaged, rng) for _ in range(rng.integers(1, 4))]
        path.write_text(json.dumps(damaged))
        load_or_graph_error(path, f"case {case}: {done}")


def flip_bytes(payload, rng):
    """Truncate, or overwrite, insert or delete a few bytes at random places."""
    payload = bytearray(payload)
    if rng.random() < 0.2:
        return bytes(payload[:rng.integers(len(payload))])
    for _ in range(rng.integers(1, 4)):
        at = int(rng.integers(len(payload)))
        choice = rng.integers(3)
        if choice == 0:
            payload[at] = rng.integers(256)
        elif choice == 1:
            payload.insert(at, rng.integers(256))
        else:
            del payload[at]
    return bytes(payload)


def test_damaged_bytes_load_or_raise_graph_error(saved, tmp_path):
    """Bytes damaged in either file; the .json then records the damaged .npz's true hash,
    so that the damage reaches the parsers instead of stopping at the hash check."""
    document, saved_path = saved
    npz = saved_path.with_suffix(".npz").read_bytes()
    text = saved_path.read_bytes()
    rng = np.random.default_rng(7)
    path = tmp_path / "g.json"
    for case in range(300):
        if case % 2:
            damaged_npz = flip_bytes(npz, rng)
            recorded = dict(document, constants_sha256=hashlib.sha256(damaged_npz).hexdigest())
            damaged_text = json.dumps(recorded).encode()
        else:
            damaged_npz, damaged_text = npz, flip_bytes(text, rng)
        (tmp_path / "g.npz").write_bytes(damaged_npz)
        path.write_bytes(damaged_text)
        load_or_graph_error(path, f"case {case}")
