"""Unaligned accesses: the DSP kernels on a core whose firmware sets CCR.UNALIGN_TRP.

The M4 and M7 kernels load four int8 values as one word wherever they start
(``tt_load_word`` in dsp_words.h: one LDR, often at an odd address).  That is
legal until the firmware sets CCR.UNALIGN_TRP; then it is a UsageFault.  The
contract: leave the bit clear, or build with ``-mno-unaligned-access``, which
gives the same bytes without unaligned accesses.  ``CortexM(...,
trap_unaligned=True)`` emulates the bit, so both halves of the contract are
checked here: a default build does fault, a build with the flag does not and
stays bit-exact, and the M0+ (which cannot access unaligned memory at all)
never needs the flag.

The cross compiler is the default one (``TINYTORCH_TOOLCHAIN``, else zig), so
CI runs this file once per toolchain.
"""
import re

import numpy as np
import pytest

from tinytorch.codegen import toolchain
from tinytorch.codegen.deploy import CoreModel, build_model
from tinytorch.codegen.emitter import generate_model
from tinytorch.codegen.emulator import IO_BASE, CortexM, EmulationError
from tinytorch.codegen.example_graphs import GraphBuilder, digits_cnn
from tinytorch.quant import Int8Interpreter

TOOLCHAIN = toolchain.chosen_toolchain()
NO_UNALIGNED_ACCESS = ["-mno-unaligned-access"]
USAGE_FAULT = re.compile(r"UsageFault \(UNALIGNED\): [248]-byte (read|write) at 0x[0-9a-f]{8}, "
                         r"pc 0x[0-9a-f]{8}")


# --- Graphs whose rows and pixels are not multiples of four bytes -----------

def depthwise_net(rng):
    g = GraphBuilder("depthwise net", (1, 7, 9, 6), rng)
    g.depthwise("dw1")
    g.depthwise("dw2", stride=(2, 2), multiplier=2)
    g.conv("pw", 5, kernel=(1, 1), padding=(0, 0, 0, 0))
    g.flatten("flatten")
    g.linear("fc", 4)
    return g.build()


def fully_connected_net(rng):
    g = GraphBuilder("fully connected net", (1, 37), rng)
    g.linear("fc1", 19, relu=True)
    g.linear("fc2", 7)
    return g.build()


def residual_net(rng):
    g = GraphBuilder("residual net", (1, 6, 6, 3), rng)
    g.conv("stem", 6)
    skip = g.current
    g.depthwise("block.dw")
    g.conv("block.pw", 6, kernel=(1, 1), padding=(0, 0, 0, 0), relu=False)
    g.add("block.add", skip, g.current, relu=True)
    g.global_pool("gap")
    g.flatten("flatten")
    g.linear("classifier", 5)
    return g.build()


GRAPHS = {"digits_cnn": lambda: digits_cnn(np.random.default_rng(1)),
          "depthwise": lambda: depthwise_net(np.random.default_rng(2)),
          "fully_connected": lambda: fully_connected_net(np.random.default_rng(3)),
          "residual": lambda: residual_net(np.random.default_rng(4))}


@pytest.fixture(scope="module")
def build(codegen_build_dir):
    """build(graph name, target, flags) -> (graph, generated, elf), each build once."""
    graphs, builds = {}, {}

    def get(name, target, flags=()):
        key = name, target, tuple(flags)
        if key not in builds:
            if name not in graphs:
                graphs[name] = GRAPHS[name]()
            generated = generate_model(graphs[name])
            directory = (codegen_build_dir / "unaligned" / TOOLCHAIN / name / target
                         / str(len(builds)))
            builds[key] = (graphs[name], generated,
                           build_model(generated, directory, target, extra_flags=list(flags)))
        return builds[key]
    return get


def random_inputs(graph, count, seed):
    shape = graph.tensor(graph.input).shape[1:]
    return np.random.default_rng(seed).integers(-128, 128, (count, *shape)).astype(np.int8)


# --- a. The check can fail ----------------------------------------------------

@pytest.mark.parametrize("name", list(GRAPHS))
def test_a_default_m4_build_faults_when_unaligned_accesses_trap(build, name):
    graph, generated, elf = build(name, "cortex-m4")
    inputs = random_inputs(graph, 1, seed=0)
    expected = Int8Interpreter(graph).invoke(inputs)
    # Unaligned loads are legal with the bit clear: the same build is bit-exact...
    np.testing.assert_array_equal(CoreModel(elf, "cortex-m4", generated, graph)(inputs), expected)
    # ... and faults with it set.
    with pytest.raises(EmulationError, match="UNALIGNED") as caught:
        CoreModel(elf, "cortex-m4", generated, graph, trap_unaligned=True)(inputs)
    assert USAGE_FAULT.search(str(caught.value)), str(caught.value)


# --- b. With strict alignment: no fault, the same bytes ------------------------

@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m7"])
@pytest.mark.parametrize("name", list(GRAPHS))
def test_strictly_aligned_builds_run_under_the_trap_and_are_bit_exact(build, name, target):
    graph, generated, elf = build(name, target, NO_UNALIGNED_ACCESS)
    inputs = random_inputs(graph, 3, seed=7)
    model = CoreModel(elf, target, generated, graph, trap_unaligned=True)
    np.testing.assert_array_equal(model(inputs), Int8Interpreter(graph).invoke(inputs))


# --- c. The M0+ never accesses unaligned memory ---------------------------------

@pytest.mark.parametrize("name", ["digits_cnn", "residual"])
def test_a_default_m0plus_build_never_accesses_unaligned_memory(build, name):
    graph, generated, elf = build(name, "cortex-m0plus")
    inputs = random_inputs(graph, 2, seed=11)
    model = CoreModel(elf, "cortex-m0plus", generated, graph, trap_unaligned=True)
    np.testing.assert_array_equal(model(inputs), Int8Interpreter(graph).invoke(inputs))


# --- d. The hook itself, on hand-written instructions ----------------------------

PROBES = {  # name -> the access; each probe is that one instruction, then bx lr
    "probe_load_word": "ldr r0, [r0]", "probe_load_halfword": "ldrh r0, [r0]",
    "probe_load_byte": "ldrb r0, [r0]", "probe_store_word": "str r1, [r0]",
    "probe_load_pair": "ldrd r2, r3, [r0]", "probe_load_multiple": "ldm r0, {r2, r3}"}
PROBE_ASSEMBLY = """
    .syntax unified
    .section .text.probes, "ax", %progbits
""" + "".join(f"""
    .global {name}
    .type {name}, %function
    .thumb_func
{name}:
    {access}
    bx lr
""" for name, access in PROBES.items())
BYTES = bytes(range(1, 17))


@pytest.fixture(scope="module")
def probes(codegen_build_dir):
    source = codegen_build_dir / "unaligned_probes.S"
    source.write_text(PROBE_ASSEMBLY)
    return toolchain.build_firmware([source], codegen_build_dir / f"probes-{TOOLCHAIN}.elf",
                                    "cortex-m4", keep_symbols=list(PROBES))


def run_probe(elf, name, offset, trap_unaligned=True):
    core = CortexM(elf, "cortex-m4", trap_unaligned=trap_unaligned)
    buffer = core.allocate(BYTES)  # at IO_BASE, 8-byte aligned
    return core, buffer, core.call(name, buffer + offset, 0x11223344).return_value


@pytest.mark.parametrize("name, size, kind", [
    ("probe_load_word", 4, "read"), ("probe_load_halfword", 2, "read"),
    ("probe_store_word", 4, "write"),
    # LDRD and LDM: unicorn reports them a word at a time; word alignment is enough.
    ("probe_load_pair", 4, "read"), ("probe_load_multiple", 4, "read")])
def test_the_hook_traps_exactly_the_unaligned_accesses(probes, name, size, kind):
    for offset in range(8):
        if offset % size == 0:
            run_probe(probes, name, offset)
            continue
        with pytest.raises(EmulationError) as caught:
            run_probe(probes, name, offset)
        core = CortexM(probes, "cortex-m4")
        address = IO_BASE + offset  # the first buffer of the I/O region
        pc = core.symbols[name] & ~1  # the probe's first instruction is the access
        assert f"UsageFault (UNALIGNED): {size}-byte {kind} at 0x{address:08x}, " \
               f"pc 0x{pc:08x} in {name}" in str(caught.value)


def test_byte_loads_never_trap_and_values_are_right(probes):
    for offset in range(4):
        assert run_probe(probes, "probe_load_byte", offset)[2] == BYTES[offset]
    assert run_probe(probes, "probe_load_word", 0)[2] == int.from_bytes(BYTES[:4], "little")
    assert run_probe(probes, "probe_load_halfword", 2)[2] == int.from_bytes(BYTES[2:4], "little")


def test_without_the_trap_an_m4_loads_unaligned_words(probes):
    assert run_probe(probes, "probe_load_word", 1, trap_unaligned=False)[2] == \
        int.from_bytes(BYTES[1:5], "little")


def test_a_core_runs_again_after_a_fault(probes):
    core, buffer, _ = run_probe(probes, "probe_load_byte", 1)
    with pytest.raises(EmulationError, match="UNALIGNED"):
        core.call("probe_load_word", buffer + 3)
    assert core.call("probe_load_word", buffer + 4).return_value == \
        int.from_bytes(BYTES[4:8], "little")
