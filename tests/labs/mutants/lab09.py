"""Near-solutions of lab 09 (tinytorch.app.labs.mutation): each must fail a graded test."""
from tinytorch.app.labs.mutation import Mutant

MUTANTS = [
    Mutant("overlaps_in_time with strict comparisons: ranges that share only an end step "
           "do not overlap", "codegen/memory_planner.py", "Buffer.overlaps_in_time", """
return self.first < other.last and other.first < self.last
"""),
    Mutant("lower_bound treats the last step as exclusive", "codegen/memory_planner.py",
           "lower_bound", """
starts = {b.first for b in buffers}
return max((sum(b.size for b in buffers if b.first <= step < b.last) for step in starts),
           default=0)
"""),
    Mutant("_lowest_free_offset walks the placed buffers in the order they were placed",
           "codegen/memory_planner.py", "_lowest_free_offset", """
candidate = 0
for other_offset, other in placed:
    if not buffer.overlaps_in_time(other):
        continue
    if other_offset >= candidate + buffer.size:
        break
    candidate = max(candidate, other_offset + other.size)
return candidate
"""),
    Mutant("_lowest_free_offset refuses a gap of exactly the buffer's size",
           "codegen/memory_planner.py", "_lowest_free_offset", """
candidate = 0
for other_offset, other in sorted(placed, key=lambda item: item[0]):
    if not buffer.overlaps_in_time(other):
        continue
    if other_offset > candidate + buffer.size:
        break
    candidate = max(candidate, other_offset + other.size)
return candidate
"""),
    Mutant("graph_buffers extends the reshape's own name instead of the buffer behind it",
           "codegen/memory_planner.py", "graph_buffers", """
for step, op in enumerate(graph.ops):
    for name in op.inputs:
        if not graph.tensor(name).is_constant:
            last[name] = step
    written = op.outputs[0]
    if op.type == "reshape":
        aliases[written] = root(op.inputs[0])
    else:
        first[written] = last[written] = step
"""),
    Mutant("c_identifier replaces \\W, which keeps letters outside ASCII",
           "codegen/emitter.py", "c_identifier", r"""
identifier = re.sub(r"\W", "_", name).strip("_") or "unnamed"
if identifier[0].isdigit():
    identifier = "_" + identifier
return identifier
"""),
]
