"""Lab 10 — on the microcontroller: flash and RAM from the ELF, counting Thumb instructions.

One firmware is built for the module (a digits-CNN-shaped graph for an emulated
Cortex-M4).  The references read the same ELF another way: flash and RAM by
the addresses each section is loaded from and runs at (from the program
headers), the model's constants by the names the generated C declares,
instruction lengths from a table of hand-assembled instructions, and
instruction counts from unicorn's own per-instruction hook.
"""
import re

import numpy as np
import pytest

from tinytorch.codegen.deploy import CoreModel, build_model
from tinytorch.codegen.elf_report import ElfReport, read_elf_report
from tinytorch.codegen.emitter import generate_model
from tinytorch.codegen.emulator import CortexM, _instruction_count
from tinytorch.codegen.example_graphs import digits_cnn
from tinytorch.quant import Int8Interpreter

RAM_START = 0x20000000  # the linker script's RAM origin; flash starts at 0

# (little-endian bytes, what they are, bytes in the instruction), assembled by hand
# from the Armv7-M encodings.
THUMB_INSTRUCTIONS = [
    ("01 20", "movs r0, #1", 2),
    ("10 b5", "push {r4, lr}", 2),
    ("70 47", "bx lr", 2),
    ("00 28", "cmp r0, #0", 2),
    ("40 18", "adds r0, r0, r1", 2),
    ("ca 5c", "ldrb r2, [r1, r3]", 2),
    ("fe e7", "b . (0b11100: still 16 bits)", 2),
    ("00 f0 08 f8", "bl +16", 4),
    ("00 f0 00 f8", "bl +0 (second halfword looks like a 32-bit prefix)", 4),
    ("21 fb 02 00", "smlad r0, r1, r2, r0", 4),
    ("d1 f8 04 00", "ldr.w r0, [r1, #4]", 4),
    ("2f fa 81 f0", "sxtb16 r0, r1", 4),
    ("2d e9 f0 4f", "push.w {r4-r11, lr}", 4),
]


def test_instruction_lengths_of_hand_assembled_code():
    for text, what, length in THUMB_INSTRUCTIONS:
        assert len(bytes.fromhex(text)) == length
        assert _instruction_count(bytes.fromhex(text)) == 1, what
    rng = np.random.default_rng(0)
    for _ in range(200):
        picks = rng.integers(0, len(THUMB_INSTRUCTIONS), int(rng.integers(1, 30)))
        code = b"".join(bytes.fromhex(THUMB_INSTRUCTIONS[i][0]) for i in picks)
        assert _instruction_count(code) == len(picks), [THUMB_INSTRUCTIONS[i][1] for i in picks]
    assert _instruction_count(b"") == 0


@pytest.fixture(scope="module")
def firmware(tmp_path_factory):
    graph = digits_cnn(np.random.default_rng(7))
    generated = generate_model(graph)
    elf = build_model(generated, tmp_path_factory.mktemp("lab10"), "cortex-m4")
    return graph, generated, elf


def test_flash_and_ram_by_where_the_sections_are_loaded_and_run(firmware):
    from elftools.elf.elffile import ELFFile

    _, generated, elf = firmware
    report = read_elf_report(elf, weight_prefix=f"{generated.name}_")
    flash = ram = 0
    with open(elf, "rb") as stream:
        image = ELFFile(stream)
        loads = [segment for segment in image.iter_segments() if segment["p_type"] == "PT_LOAD"]
        for section in image.iter_sections():
            segment = next((s for s in loads if s.section_in_segment(section)), None)
            if segment is None or not section["sh_size"]:
                continue  # not loaded: debug information, the symbol table
            # A section is stored where its segment is loaded from (p_paddr) and lives
            # where it runs (sh_addr): .data is stored in flash and runs in RAM.
            stored_at = segment["p_paddr"] + section["sh_addr"] - segment["p_vaddr"]
            if section["sh_type"] != "SHT_NOBITS" and stored_at < RAM_START:
                flash += section["sh_size"]
            if section["sh_addr"] >= RAM_START:
                ram += section["sh_size"]
        file_bytes = sum(segment["p_filesz"] for segment in loads)
    assert (report.flash, report.ram) == (flash, ram)
    # The loadable bytes of the file are those sections plus any alignment padding.
    assert report.flash <= file_bytes < report.flash + 16
    assert ram >= 2048  # the linker script's stack
    assert set(report.sections) >= {".text", ".rodata", ".bss", ".stack"}
    assert not [name for name in report.sections if name.startswith((".debug", ".sym", ".str"))]
    assert all(size > 0 for size in report.sections.values())


def test_weights_are_the_constants_the_generated_c_declares(firmware):
    from elftools.elf.elffile import ELFFile

    graph, generated, elf = firmware
    declared = set(re.findall(r"static const \w+ (\w+)(?:\[\d+\])? =", generated.source))
    assert declared and all(name.startswith(generated.name + "_") for name in declared)
    with open(elf, "rb") as stream:
        sizes = {symbol.name: symbol["st_size"]
                 for symbol in ELFFile(stream).get_section_by_name(".symtab").iter_symbols()}
    report = read_elf_report(elf, weight_prefix=f"{generated.name}_")
    assert report.weights == sum(sizes[name] for name in declared)
    weight_bytes = sum(graph.tensor(name).data.nbytes for op in graph.ops
                       for name in op.inputs if graph.tensor(name).is_constant)
    assert weight_bytes < report.weights < report.flash
    assert report.code == report.flash - report.weights
    assert read_elf_report(elf).weights == 0  # no prefix: nothing is known to be the model's


def test_flash_and_ram_of_a_hand_made_report():
    sections = {".vectors": 8, ".text": 1500, ".rodata": 2600, ".bss": 700, ".stack": 2048}
    report = ElfReport(sections)
    assert (report.flash, report.ram) == (4108, 2748)
    report = ElfReport({**sections, ".data": 12, ".ARM.exidx": 8})
    assert (report.flash, report.ram) == (4108 + 20, 2748 + 12)  # .data counts in both


def test_emulated_run_equals_the_interpreter(firmware):
    graph, generated, elf = firmware
    inputs = np.random.default_rng(8).integers(-128, 128, (3, 8, 8, 1)).astype(np.int8)
    model = CoreModel(elf, "cortex-m4", generated, graph)
    np.testing.assert_array_equal(model(inputs), Int8Interpreter(graph).invoke(inputs))
    assert all(count > 23_680 for count in model.instructions)  # more than one per MAC


def is_it_instruction(halfword: int) -> bool:
    """IT{x{y{z}}} <cond>: 0xbf followed by a condition and a nonzero mask."""
    return halfword >> 8 == 0xBF and halfword & 0xF != 0


def test_block_counts_agree_with_unicorns_own_decoder(firmware):
    """unicorn's per-instruction hook decodes every instruction it runs, with QEMU's decoder.

    It does not fire for an instruction that an IT block skips (its condition
    failed), although the core spends an issue slot on it.  So in a block where
    the hook saw every byte, the block's count must equal the hook's; where it
    left a gap, an IT instruction came first, and the block's count is higher.
    """
    from unicorn import UC_HOOK_BLOCK, UC_HOOK_CODE

    _, generated, elf = firmware
    core = CortexM(elf, "cortex-m4")
    events = []
    core.uc.hook_add(UC_HOOK_BLOCK, lambda uc, address, size, data: events.append(
        ("block", address, size)))
    core.uc.hook_add(UC_HOOK_CODE, lambda uc, address, size, data: events.append(
        ("instruction", address, size)))
    core.uc.ctl_flush_tb()
    image = np.random.default_rng(9).integers(-128, 128, 64).astype(np.int8).tobytes()
    input_address, output_address = core.allocate(image), core.allocate(10)
    result = core.call(f"{generated.name}_invoke", input_address, output_address)

    executions = []  # (block address, block size, [(address, size) the hook saw])
    for kind, address, size in events:
        if kind == "block":
            executions.append((address, size, []))
        else:
            executions[-1][2].append((address, size))
    assert sum(len(seen) for *_, seen in executions) <= result.instructions
    agreeing = with_gaps = 0
    for address, size, seen in executions:
        code = core.read(address, size)
        counted = _instruction_count(code)
        ends = [address] + [start + length for start, length in seen]
        if [start for start, _ in seen] == ends[:-1] and ends[-1] == address + size:
            assert counted == len(seen), (hex(address), code.hex())
            agreeing += counted
        else:
            halfwords = [int.from_bytes(core.read(start, 2), "little") for start, _ in seen]
            assert any(map(is_it_instruction, halfwords)), (hex(address), code.hex())
            assert counted > len(seen), (hex(address), code.hex())
            with_gaps += counted
    assert agreeing + with_gaps == result.instructions
    assert agreeing > 0.7 * result.instructions  # most blocks really were compared
