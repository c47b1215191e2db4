"""Where one inference spends its instructions and its memory, op by op.

What
----
``profile_model`` runs one sample of a built model on the emulated core and
returns a row per op of the graph:

* the instructions executed inside the op's kernel call;
* its multiply-accumulates (MACs), as the emitter counted them;
* its weight bytes: the constants the firmware holds for it in flash
  (weights, biases, multipliers, shifts, parameter structs), read from the
  ELF's symbol table, so they add up to the report's ``weights``;
* the arena bytes live while it runs: every activation that was written
  before it or by it and is read by it or later, as the memory planner sees
  them (the graph's input and output are the caller's buffers, not the
  arena's).  The largest of them is the planner's lower bound.

Why
---
A total ("4.2 M instructions, 23 KB of RAM") says whether a model fits; the
profile says what to change when it does not.  The instruction column shows
which layers to make cheaper (or which kernel to optimize), instructions per
MAC show how well each kernel uses the core (a depthwise convolution does
few MACs per output and pays its requantization on every one), and the
memory column shows which pair of neighbouring activations sets the RAM.

How the instructions are attributed
-----------------------------------
``<name>_invoke`` does nothing but call one kernel per op, in the graph's
order (a reshape calls none: the planner gave its output its input's bytes).
So every executed block of code is either inside ``<name>_invoke`` itself
(its prologue, the arguments of each call, the return), or inside the call
it is making, or inside what that call calls (``tt_conv2d`` calls
``tt_matmul_dsp``).  The emulator reports each block as it enters it, with
its address; ``CallSplitter`` watches the sequence: a block outside the
address range of ``<name>_invoke`` that comes right after a block inside it
begins the next call, and every block outside belongs to the current call,
however deep.  Blocks inside count as ``<name>_invoke``'s own: the price
of the calls themselves, shown as a row of its own.

Looking at where control leaves ``<name>_invoke``, rather than at which
kernel was entered, keeps the count right when one kernel calls another,
when two ops call the same kernel, and when the compiler turns the last
call into a jump (a tail call).  The sum of the rows is, by construction,
the total the plain run counts, and the profile checks that it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .c_kernels import c_kernel_name
from .elf_report import read_elf_report
from .emitter import GeneratedModel
from .emulator import CortexM, EmulationError, _instruction_count
from .memory_planner import ArenaPlan


class CallSplitter:
    """The instructions of one run of ``<name>_invoke``, split at each call it makes.

    Feed it every executed block in order: ``block(address, instructions)``.
    ``calls[k]`` is then the number of instructions executed inside the
    ``k``-th call (and whatever that call called), ``own`` those executed in
    ``<name>_invoke`` itself, the bytes ``[start, end)``.
    """

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end
        self.calls: list[int] = []
        self.own = 0
        self.in_invoke = True  # the run begins at the entry of <name>_invoke

    def block(self, address: int, instructions: int) -> None:
        """Count one executed block of ``instructions`` instructions beginning at ``address``.

        A block whose address lies in ``[start, end)`` is ``<name>_invoke``'s
        own.  Any other block belongs to a call: when the block before it
        was ``<name>_invoke``'s own, it is the first block of a new call
        (start a new count); otherwise it continues the current one.

        Worked example: invoke at [100, 200).  Blocks (100, 5), (300, 10),
        (340, 7), (120, 2), (300, 10), (180, 3) give ``calls == [17, 10]``
        and ``own == 10``: the block at 340 is still the first call (a loop
        or a callee), the one at 120 is back in invoke, and the next block
        outside begins the second call, although it is the same kernel.
        """
        # own block: add to own; outside: a new call if the block before was own, then add
        # BEGIN SOLUTION lab 11
        inside = self.start <= address < self.end
        if inside:
            self.own += instructions
        else:
            if self.in_invoke:
                self.calls.append(0)
            self.calls[-1] += instructions
        self.in_invoke = inside
        # END SOLUTION


@dataclass(frozen=True)
class OpProfile:
    """One op's share of an inference (see the module essay for each column)."""
    name: str
    type: str
    instructions: int
    macs: int
    weight_bytes: int
    live_bytes: int


@dataclass
class ModelProfile:
    """One inference of a model on a core, op by op; ``table()`` prints it."""
    model: str
    target: str
    ops: list[OpProfile]
    invoke_instructions: int  # <name>_invoke's own: prologue, call arguments, return
    instructions: int         # the whole run, as the emulator counted it
    arena_size: int
    lower_bound: int

    def table(self) -> str:
        """The profile as a text table, one line per op, then invoke's own and the total."""
        header = (f"{'op':<28}{'type':<18}{'MACs':>11}{'instructions':>14}{'per MAC':>9}"
                  f"{'share':>7}{'weights B':>11}{'live arena B':>14}")
        lines = [f"{self.model} on {self.target}: one inference", header, "-" * len(header)]
        for op in self.ops:
            per_mac = f"{op.instructions / op.macs:.2f}" if op.macs else "-"
            lines.append(f"{op.name[:27]:<28}{op.type:<18}{op.macs:>11,}{op.instructions:>14,}"
                         f"{per_mac:>9}{op.instructions / self.instructions:>7.1%}"
                         f"{op.weight_bytes:>11,}{op.live_bytes:>14,}")
        lines.append(f"{self.model + '_invoke itself':<46}{'':>11}{self.invoke_instructions:>14,}"
                     f"{'':>9}{self.invoke_instructions / self.instructions:>7.1%}")
        macs = sum(op.macs for op in self.ops)
        weights = sum(op.weight_bytes for op in self.ops)
        lines.append(f"{'total':<46}{macs:>11,}{self.instructions:>14,}"
                     f"{self.instructions / max(macs, 1):>9.2f}{1:>7.0%}{weights:>11,}"
                     f"{max((op.live_bytes for op in self.ops), default=0):>14,}")
        lines.append(f"arena {self.arena_size:,} B; the largest live set, its lower bound, "
                     f"{self.lower_bound:,} B")
        return "\n".join(lines)


def live_bytes_per_op(plan: ArenaPlan, ops: int) -> list[int]:
    """For each step (op index), the bytes of the arena's buffers live at it."""
    return [sum(b.size for b in plan.buffers if b.first <= step <= b.last)
            for step in range(ops)]


def weight_bytes_per_op(elf: Path, generated: GeneratedModel) -> list[int]:
    """For each op, the sizes of its constants in the firmware's ``.rodata``.

    The emitter names every constant of an op ``<op prefix>_<what>``, and no
    ``<what>`` holds an underscore, so a constant belongs to the op with the
    longest prefix that its name starts with.
    """
    report = read_elf_report(elf, weight_prefix=f"{generated.name}_")
    sizes = [0] * len(generated.ops)
    by_length = sorted(range(len(generated.ops)), key=lambda i: -len(generated.ops[i].prefix))
    for symbol in report.symbols:
        if symbol.kind != "data" or symbol.section != ".rodata":
            continue
        owner = next((i for i in by_length
                      if symbol.name.startswith(generated.ops[i].prefix + "_")), None)
        if owner is not None:
            sizes[owner] += symbol.size
    return sizes


def profile_model(elf: Path, target: str, generated: GeneratedModel, graph,
                  sample: np.ndarray) -> ModelProfile:
    """Run one int8 ``sample`` of the model on the emulated ``target`` and profile it op by op."""
    invoke = f"{generated.name}_invoke"
    sample = np.ascontiguousarray(sample, dtype=np.int8)
    if sample.size != graph.tensor(graph.input).size:
        raise ValueError(f"profile of {generated.name}: a sample has "
                         f"{graph.tensor(graph.input).size} values, got {sample.size}")
    code_sizes = {s.name: s.size for s in read_elf_report(elf).symbols if s.kind == "code"}
    core = CortexM(elf, target)
    start = core.symbols[invoke] & ~1  # a Thumb function's address has bit 0 set
    splitter = CallSplitter(start, start + code_sizes[invoke])
    counts: dict[tuple[int, int], int] = {}
    failure: list[BaseException] = []

    def count(uc, address: int, size: int, user_data) -> None:
        # An exception must not cross unicorn's C code: keep it, stop, raise it after the run.
        try:
            key = (address, size)
            if key not in counts:
                counts[key] = _instruction_count(bytes(uc.mem_read(address, size)))
            splitter.block(address, counts[key])
        except Exception as error:  # noqa: BLE001 (re-raised below)
            if not failure:
                failure.append(error)
            uc.emu_stop()

    from unicorn import UC_HOOK_BLOCK  # CortexM has checked that unicorn is installed

    core.uc.hook_add(UC_HOOK_BLOCK, count)
    core.uc.ctl_flush_tb()  # hooks only see code translated after they exist
    input_address = core.allocate(sample.tobytes())
    output_address = core.allocate(graph.tensor(graph.output).size)
    try:
        total = core.call(invoke, input_address, output_address).instructions
    except EmulationError:
        if not failure:
            raise
        total = 0
    if failure:
        raise failure[0]

    calling = [i for i, op in enumerate(generated.ops) if op.calls_kernel]
    if len(splitter.calls) != len(calling) or sum(splitter.calls) + splitter.own != total:
        raise EmulationError(f"profile of {generated.name}: {len(splitter.calls)} calls "
                             f"({sum(splitter.calls) + splitter.own:,} instructions) seen for "
                             f"{len(calling)} ops that call a kernel ({total:,} instructions)")
    instructions = [0] * len(generated.ops)
    for index, count_in_call in zip(calling, splitter.calls):
        instructions[index] = count_in_call
    weights = weight_bytes_per_op(elf, generated)
    live = live_bytes_per_op(generated.plan, len(graph.ops))
    rows = [OpProfile(op.name, c_kernel_name(graph_op, graph), instructions[i], op.macs, weights[i], live[i])
            for i, (op, graph_op) in enumerate(zip(generated.ops, graph.ops))]
    return ModelProfile(generated.name, target, rows, splitter.own, total,
                        generated.plan.arena_size, generated.plan.lower_bound)
