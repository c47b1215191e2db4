"""The arena planner: never overlaps live tensors, reaches the bound on chains, is honest."""
import itertools

import numpy as np
import pytest

from tinytorch.codegen.memory_planner import Buffer, _place_greedy, lower_bound, plan_arena


def assert_no_live_overlap(plan, buffers):
    placed = {b.name: (plan.offsets[b.name], b) for b in plan.buffers}
    for (offset_a, a), (offset_b, b) in itertools.combinations(placed.values(), 2):
        if a.overlaps_in_time(b):
            assert offset_a + a.size <= offset_b or offset_b + b.size <= offset_a, (a, b)
    for offset, b in placed.values():
        assert 0 <= offset and offset + b.size <= plan.arena_size
        assert offset % 4 == 0


def brute_force_lower_bound(buffers):
    aligned = [Buffer(b.name, -(-b.size // 4) * 4, b.first, b.last) for b in buffers]
    steps = range(min(b.first for b in aligned), max(b.last for b in aligned) + 1)
    return max(sum(b.size for b in aligned if b.first <= s <= b.last) for s in steps)


@pytest.mark.parametrize("seed", range(300))
def test_random_lifetimes_never_overlap_and_respect_the_bound(seed):
    rng = np.random.default_rng(seed)
    buffers = []
    for i in range(int(rng.integers(1, 9))):
        first = int(rng.integers(0, 8))
        buffers.append(Buffer(f"t{i}", int(rng.integers(1, 200)), first,
                              first + int(rng.integers(0, 4))))
    plan = plan_arena(buffers)
    assert_no_live_overlap(plan, buffers)
    assert plan.lower_bound == brute_force_lower_bound(buffers)
    assert plan.arena_size >= plan.lower_bound


@pytest.mark.parametrize("seed", range(100))
def test_chains_reach_the_lower_bound(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5000, int(rng.integers(1, 12)))
    # tensor i is written by op i and read by op i + 1
    buffers = [Buffer(f"t{i}", int(size), i, i + 1) for i, size in enumerate(sizes)]
    plan = plan_arena(buffers)
    assert_no_live_overlap(plan, buffers)
    assert plan.arena_size == plan.lower_bound


def test_greedy_by_size_alone_would_waste_memory_on_this_chain():
    # Sizes where largest-first placement leaves a hole: the planner must not.
    buffers = [Buffer("a", 400, 0, 1), Buffer("b", 800, 1, 2), Buffer("c", 600, 2, 3),
               Buffer("d", 500, 3, 4), Buffer("e", 900, 4, 5)]
    greedy = _place_greedy(sorted(buffers, key=lambda b: -b.size))
    assert max(greedy[b.name] + b.size for b in buffers) == 1900
    plan = plan_arena(buffers)
    assert plan.arena_size == lower_bound(plan.buffers) == 1400
    assert "equals the lower bound" in plan.summary()


def test_summary_reports_the_gap_when_the_bound_is_not_reached():
    plan = plan_arena([Buffer("a", 8, 0, 0)])
    plan.arena_size = 12  # as if a placement had missed
    assert "4 B (50.0%) above the lower bound" in plan.summary()
