"""Memory planning: where each activation lives in one static arena.

What
----
A microcontroller has no malloc worth trusting, so the generated model keeps
every intermediate activation in one static byte array, the *arena*, at an
offset decided here, ahead of time.  Two tensors may share bytes when they
are never needed at the same time.  A tensor is *live* from the op that
writes it to the last op that reads it; during op ``i`` every tensor live at
``i`` needs bytes of its own (an op never writes over its own inputs).

The lower bound
---------------
At each step the live tensors need at least the sum of their sizes, so

    arena >= max over steps i of  sum of sizes of the tensors live at i

and no placement can beat that bound.  It is not always reachable (placing
rectangles in offset x time is a packing problem), so the planner reports
both numbers and never claims more than it achieved.

Placement
---------
The classic greedy placement (TFLite Micro's) sorts tensors by size and puts
each at the lowest offset where it fits; on a chain it can leave a hole and
end about 14% above the bound on MobileNet-like networks.  A chain of layers
has a simple optimal plan, *ping-pong*: tensors in execution order go
alternately to the bottom and to the top of an arena of exactly the bound;
neighbours never collide because each consecutive pair fits by the bound's
definition.  The planner tries several strategies (greedy by size, greedy in
execution order, and ping-pong generalized to any graph: each tensor at the
lowest free offset from the bottom or the highest free offset below the bound
from the top, alternating) and keeps the smallest arena.  Sizes and offsets
are rounded up to a multiple of ``alignment`` bytes (4: word loads); the bound
is computed on the rounded sizes.

Where it sits
-------------
Only activations between ops live in the arena: the graph's input stays in
the caller's ``input`` buffer and its output is written straight into the
caller's ``output`` buffer.  A ``reshape`` moves no bytes, so its output is
the same buffer as its input (one buffer with the union of both lifetimes).
The emitter declares ``static int8_t arena[plan.arena_size]`` and uses the
offsets.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Buffer:
    """A block of bytes needed from step ``first`` to step ``last`` (inclusive)."""
    name: str
    size: int
    first: int
    last: int

    def overlaps_in_time(self, other: "Buffer") -> bool:
        """Whether the two buffers are needed at one step at least (then they need distinct bytes).

        The step ranges ``[first, last]`` of both buffers are inclusive.
        They share a step unless one ends before the other begins, so the
        test compares the ends against the beginnings.

        Worked example: steps 0..1 and 1..2 share step 1 (True); 0..1 and
        2..3 do not (False); 1..4 and 2..2 share step 2 (True).
        """
        # True when the inclusive step ranges [first, last] of both share a step
        # BEGIN SOLUTION lab 09
        return self.first <= other.last and other.first <= self.last
        # END SOLUTION


@dataclass
class ArenaPlan:
    offsets: dict[str, int]
    arena_size: int
    lower_bound: int
    strategy: str
    buffers: list[Buffer] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # tensor -> the buffer holding it

    def offset_of(self, tensor: str) -> int:
        return self.offsets[self.aliases.get(tensor, tensor)]

    def summary(self) -> str:
        extra = self.arena_size - self.lower_bound
        verdict = ("equals the lower bound" if extra == 0 else
                   f"{extra:,} B ({100 * extra / max(self.lower_bound, 1):.1f}%) above the "
                   f"lower bound")
        return (f"arena {self.arena_size:,} B, lower bound {self.lower_bound:,} B: {verdict} "
                f"({self.strategy})")


def _aligned(size: int, alignment: int) -> int:
    return -(-size // alignment) * alignment


def lower_bound(buffers: list[Buffer]) -> int:
    """The largest sum of sizes of buffers live at one step: no arena can be smaller.

    At a step s, the buffers live are those with ``first <= s <= last``;
    the bound is the largest sum of their sizes over the steps.  Only the
    steps where some buffer begins need checking: between two beginnings the
    live set can only shrink.  No buffers: 0.

    Worked example: a (100 B, steps 0..1), b (50 B, 1..2), c (80 B, 2..3).
    Step 0: 100; step 1: a + b = 150; step 2: b + c = 130; step 3: 80.
    The bound is 150.
    """
    # the largest sum of sizes of the buffers live at one step (0 for no buffers)
    # BEGIN SOLUTION lab 09
    starts = {b.first for b in buffers}  # the live set only grows where a buffer begins
    return max((sum(b.size for b in buffers if b.first <= step <= b.last) for step in starts),
               default=0)
    # END SOLUTION


# --- Placing buffers ---------------------------------------------------------

def _lowest_free_offset(buffer: Buffer, placed: list[tuple[int, Buffer]]) -> int:
    """The lowest offset where ``buffer`` collides with no placed buffer live at the same time.

    ``placed`` holds ``(offset, buffer)`` pairs, bytes ``offset`` to
    ``offset + size - 1``.  Placed buffers that are never live together with
    ``buffer`` do not matter: it may reuse their bytes.

    The search starts a candidate offset at 0 and walks the placed buffers
    that overlap ``buffer`` in time, in order of their offsets.  If the next one
    begins at or above ``candidate + buffer.size``, the gap below it is big
    enough: stop.  Otherwise it is in the way, and the candidate moves up to
    its end (unless the candidate is already higher).  ``_highest_free_offset``
    below is the same walk from the top.

    Worked example: ``buffer`` is 40 B.  Live at the same time: one at 0
    (30 B) and one at 100 (50 B); another at 30 (500 B) is not live then.
    Candidate 0 collides with the first, moves to 30; the next begins at 100
    >= 30 + 40: the answer is 30 (reusing the bytes of the one not live).
    """
    # walk the time-overlapping placed buffers by offset; stop at the first gap that fits
    # BEGIN SOLUTION lab 09
    candidate = 0
    for other_offset, other in sorted(placed, key=lambda item: item[0]):
        if not buffer.overlaps_in_time(other):
            continue
        if other_offset >= candidate + buffer.size:
            break  # the gap below `other` is big enough
        candidate = max(candidate, other_offset + other.size)
    return candidate
    # END SOLUTION


def _highest_free_offset(buffer: Buffer, placed: list[tuple[int, Buffer]],
                         ceiling: int) -> int | None:
    top = ceiling
    for other_offset, other in sorted(placed, key=lambda item: -(item[0] + item[1].size)):
        if not buffer.overlaps_in_time(other):
            continue
        if other_offset + other.size <= top - buffer.size:
            break
        top = min(top, other_offset)
    return top - buffer.size if top - buffer.size >= 0 else None


def _place_greedy(order: list[Buffer]) -> dict[str, int]:
    placed: list[tuple[int, Buffer]] = []
    for buffer in order:
        placed.append((_lowest_free_offset(buffer, placed), buffer))
    return {b.name: offset for offset, b in placed}


def _place_ping_pong(order: list[Buffer], ceiling: int) -> dict[str, int]:
    placed: list[tuple[int, Buffer]] = []
    for index, buffer in enumerate(order):
        offset = None
        if index % 2:
            offset = _highest_free_offset(buffer, placed, ceiling)
        if offset is None:
            offset = _lowest_free_offset(buffer, placed)
        placed.append((offset, buffer))
    return {b.name: offset for offset, b in placed}


def plan_arena(buffers: list[Buffer], alignment: int = 4) -> ArenaPlan:
    """Offsets for ``buffers`` in one arena: the best of several strategies."""
    buffers = [Buffer(b.name, _aligned(b.size, alignment), b.first, b.last) for b in buffers]
    bound = lower_bound(buffers)
    in_execution_order = sorted(buffers, key=lambda b: (b.first, b.last))
    candidates = {
        "ping-pong in execution order": _place_ping_pong(in_execution_order, bound),
        "greedy by size": _place_greedy(sorted(buffers, key=lambda b: (-b.size, b.first))),
        "greedy in execution order": _place_greedy(in_execution_order),
    }
    best_name, best_offsets, best_size = None, {}, None
    for name, offsets in candidates.items():  # first listed wins ties
        size = max((offsets[b.name] + b.size for b in buffers), default=0)
        if best_size is None or size < best_size:
            best_name, best_offsets, best_size = name, offsets, size
    return ArenaPlan(best_offsets, best_size or 0, bound, best_name or "empty", buffers)


# --- From an int8 graph --------------------------------------------------------

def graph_buffers(graph) -> tuple[list[Buffer], dict[str, str]]:
    """The arena's buffers of ``graph`` and the alias map (tensor -> buffer name).

    Steps are op indices.  The graph input and output are excluded (the
    caller's buffers); a reshape's output is an alias of its input.

    The lifetimes come from one walk over ``graph.ops`` with the step
    number.  Op i *reads* its inputs: each input that is not a constant
    (weights stay in flash) keeps its buffer, ``root(name)``, alive until i
    (``last[...] = i``; the latest reader wins because the walk goes in
    order).  Op i *writes* ``op.outputs[0]``: a new buffer, ``first`` and
    ``last`` both i, except for a ``reshape``, whose output is only a new
    name for its input's bytes: record ``aliases[output] = root(input)``.

    Worked example: input -> conv (op 0) -> t0 -> reshape (op 1) -> t1 ->
    linear (op 2) -> output.  t0 is written at 0; t1 becomes an alias of t0;
    op 2 reads t1, i.e. t0, so t0 lives over steps 0..2.  The buffers are
    [t0: 0..2] (input and output belong to the caller) and the aliases
    {t1: t0}.
    """
    aliases: dict[str, str] = {}

    def root(name: str) -> str:
        while name in aliases:
            name = aliases[name]
        return name

    first: dict[str, int] = {graph.input: -1}
    last: dict[str, int] = {graph.input: -1}
    # op i begins its output's life (a reshape aliases its input) and ends inputs' at i
    # BEGIN SOLUTION lab 09
    for step, op in enumerate(graph.ops):
        for name in op.inputs:
            if not graph.tensor(name).is_constant:  # weights live in flash, not the arena
                last[root(name)] = step
        written = op.outputs[0]
        if op.type == "reshape":
            aliases[written] = root(op.inputs[0])
        else:
            first[written] = last[written] = step
    # END SOLUTION
    caller_owned = {root(graph.input), root(graph.output)}
    buffers = [Buffer(name, graph.tensor(name).size, first[name], last[name])
               for name in first if name not in caller_owned]
    return buffers, {name: root(name) for name in aliases}


def plan_graph(graph, alignment: int = 4) -> ArenaPlan:
    """The arena plan of an int8 graph (see the module essay for what is in the arena)."""
    buffers, aliases = graph_buffers(graph)
    plan = plan_arena(buffers, alignment)
    plan.aliases = aliases
    return plan
