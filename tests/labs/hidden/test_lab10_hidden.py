"""Lab 10, graded by the autograder only (probes: see tinytorch.app.labs.expect).

Other inputs than the visible tests: every top-five-bits pattern of a Thumb
halfword, streams that end in an odd byte or half an instruction, random
bytes; reports with sections the report does not know and prefixes that name
another model; an ELF with sections flagged every way; hand-assembled code
on the Cortex-M0+ and M7 cores, with Thumb-2 instructions and an IT block;
and a residual network built for a Cortex-M4 (only what does not depend on
the compiler that built it).
"""
import struct

import numpy as np
import pytest

from tinytorch.codegen.deploy import CoreModel, build_model
from tinytorch.codegen.elf_report import ElfReport, Symbol, read_elf_report
from tinytorch.codegen.emitter import generate_model
from tinytorch.codegen.emulator import CortexM, _instruction_count
from tinytorch.codegen.example_graphs import residual_net
from tinytorch.app.labs import expect


def test_instruction_count_for_every_top_five_bits():
    # Each first halfword is followed by a 16-bit movs r0, #1.
    codes = [struct.pack("<HH", top << 11 | 0x123, 0x2001) for top in range(32)]
    expect.value(np.array([_instruction_count(code) for code in codes]),
                 what="the count of a halfword with top five bits 0..31, then a movs")


@pytest.mark.parametrize("text", [
    pytest.param("70", id="one byte alone"),
    pytest.param("01 20 70", id="an instruction and a lone byte"),
    pytest.param("00 f0", id="a 32-bit prefix whose second halfword is missing"),
    pytest.param("00 f0 08 f8 47", id="a 32-bit instruction and a lone byte"),
    pytest.param("01 20 00 f0", id="a 16-bit instruction and half of a 32-bit one"),
    pytest.param("ff ff ff ff ff ff", id="all ones"),
    pytest.param("00 00 00 00", id="all zeros (two movs r0, r0)"),
])
def test_instruction_count_of_an_unusual_stream(text):
    expect.value(_instruction_count(bytes.fromhex(text)), what=f"the count of {text}")


def test_instruction_count_of_random_bytes():
    rng = np.random.default_rng(21)
    codes = [rng.integers(0, 256, int(rng.integers(0, 400))).astype(np.uint8).tobytes()
             for _ in range(100)]
    expect.value(np.array([_instruction_count(code) for code in codes]),
                 what="the counts of 100 random byte strings of 0 to 399 bytes")


@pytest.mark.parametrize("sections", [
    pytest.param({}, id="no sections"),
    pytest.param({".bss": 100, ".stack": 400}, id="only RAM"),
    pytest.param({".data": 24}, id="only initialized data"),
    pytest.param({".text": 10, ".ccmram": 500, ".heap": 300, ".noinit": 40, ".rodata.x": 8},
                 id="sections the report does not know"),
    pytest.param({".vectors": 192, ".text": 40_000, ".rodata": 210_000, ".ARM.exidx": 8,
                  ".data": 1_200, ".bss": 98_000, ".stack": 4096}, id="every section, large"),
])
def test_flash_and_ram_of_another_report(sections):
    report = ElfReport(sections)
    expect.value((report.flash, report.ram), what=f"flash and RAM of {sorted(sections)}")


@pytest.mark.parametrize("symbols, prefix", [
    pytest.param([], "net_", id="no symbols"),
    pytest.param([("net_w", 10, ".rodata", "data"), ("net2_w", 20, ".rodata", "data"),
                  ("network_w", 30, ".rodata", "data")], "net_",
                 id="names that only begin like the prefix"),
    pytest.param([("net_w", 10, ".rodata", "data"), ("net_table", 40, ".rodata", "code")],
                 "net_", id="code kept in .rodata"),
    pytest.param([("net_w", 10, ".rodata", "data"), ("net_state", 12, ".data", "data"),
                  ("net_arena", 640, ".bss", "data"), ("net_invoke", 90, ".text", "code")],
                 "net_", id="the model's variables and code"),
    pytest.param([("net_w", 10, ".rodata", "data"), ("net_b", 7, ".rodata", "data"),
                  ("net_w", 10, ".rodata", "data")], "net_", id="a name twice"),
    pytest.param([("net_w", 10, ".rodata", "data")], "", id="an empty prefix"),
    pytest.param([("net_w", 10, ".rodata", "data")], "other_", id="a prefix that names nothing"),
])
def test_weights_of_another_report(symbols, prefix):
    report = ElfReport({".rodata": 100}, [Symbol(*symbol) for symbol in symbols], prefix)
    expect.value(report.weights, what=f"the weights named {prefix}...")


# ---- an ELF file written byte by byte ------------------------------------------------

SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
PROGBITS, SYMTAB, STRTAB, NOBITS = 1, 2, 3, 8
ARM_EXIDX, ARM_ATTRIBUTES = 0x70000001, 0x70000003
SYMBOL_TYPES = {"none": 0, "object": 1, "func": 2}
RAM_AT = 0x20000000


def write_elf(path, sections, symbols):
    """A little-endian 32-bit Arm executable holding ``sections``, (name, type, flags,
    address, contents: bytes, or a size for NOBITS), and the global ``symbols``, (name,
    value, size, "func"/"object"/"none", the section's name or None for an absolute one)."""
    index = {name: number for number, (name, *_) in enumerate(sections, start=1)}
    strings, section_names = bytearray(b"\0"), bytearray(b"\0")

    def name_in(names, name):
        names += name.encode() + b"\0"
        return len(names) - len(name.encode()) - 1

    table = b"\0" * 16 + b"".join(
        struct.pack("<IIIBBH", name_in(strings, name), value, size, 0x10 | SYMBOL_TYPES[kind],
                    0, index[section] if section else 0xFFF1)
        for name, value, size, kind, section in symbols)
    sections = [*sections, (".symtab", SYMTAB, 0, 0, table), (".strtab", STRTAB, 0, 0, strings),
                (".shstrtab", STRTAB, 0, 0, section_names)]
    headers = [name_in(section_names, name) for name, *_ in sections]
    body, offset, rows = bytearray(), 52, [struct.pack("<10I", *[0] * 10)]
    for (name, kind, flags, address, contents), name_offset in zip(sections, headers):
        size = contents if kind == NOBITS else len(contents)
        if kind != NOBITS:
            body += bytes(contents) + bytes(-len(contents) % 4)
        link, info, entry = ((len(sections) - 1, 1, 16) if kind == SYMTAB else (0, 0, 0))
        rows.append(struct.pack("<10I", name_offset, kind, flags, address, offset, size, link,
                                info, 4, entry))
        offset = 52 + len(body)
    identification = b"\x7fELF\x01\x01\x01" + bytes(9)
    header = struct.pack("<16sHHIIIIIHHHHHH", identification, 2, 40, 1, 0, 0, offset,
                         0x05000000, 52, 32, 0, 40, len(rows), len(rows) - 1)
    path.write_bytes(header + body + b"".join(rows))
    return path



def flagged_every_way(path):
    """Sections flagged every way: only the allocated ones occupy memory."""
    sections = [
        (".text", PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 0x0, bytes(100)),
        (".writable", PROGBITS, SHF_WRITE, 0, bytes(20)),
        (".executable", PROGBITS, SHF_EXECINSTR, 0, bytes(30)),
        (".rodata", PROGBITS, SHF_ALLOC, 0x64, bytes(36)),
        (".empty_text", PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 0x88, b""),
        (".data", PROGBITS, SHF_ALLOC | SHF_WRITE, RAM_AT, bytes(4)),
        (".bss", NOBITS, SHF_ALLOC | SHF_WRITE, RAM_AT + 4, 1000),
        (".empty_bss", NOBITS, SHF_ALLOC | SHF_WRITE, RAM_AT + 1004, 0),
        (".ccmram", NOBITS, SHF_ALLOC | SHF_WRITE, 0x10000000, 256),
        (".stack", NOBITS, SHF_ALLOC | SHF_WRITE, RAM_AT + 1008, 512),
        (".unallocated_bss", NOBITS, SHF_WRITE, 0, 64),
        (".debug_line", PROGBITS, 0, 0, bytes(50)),
    ]
    symbols = [
        ("net_invoke", 1, 100, "func", ".text"),
        ("net_weight", 0x64, 32, "object", ".rodata"),
        ("net_zero_point", 0x84, 4, "object", ".rodata"),
        ("net_counter", RAM_AT, 4, "object", ".data"),
        ("net_arena", RAM_AT + 4, 1000, "object", ".bss"),
        ("net_limit", 0x40, 4, "object", None),
        ("_stack_top", RAM_AT + 1520, 0, "none", None),
    ]
    return write_elf(path, sections, symbols)


def test_sections_of_an_elf_flagged_every_way(tmp_path):
    report = read_elf_report(flagged_every_way(tmp_path / "flags.elf"))
    expect.value(report.sections, what="the sections the image occupies in memory, by size")


def test_flash_ram_and_weights_of_an_elf_flagged_every_way(tmp_path):
    report = read_elf_report(flagged_every_way(tmp_path / "flags.elf"), weight_prefix="net_")
    expect.value((report.flash, report.ram), what="flash and RAM")
    expect.value(report.weights, what="the weights named net_...")


# triangle(n): n + (n - 1) + ... + 1, adding with a call to add_two; Thumb-1 and BL only,
# which every Cortex-M runs.
TRIANGLE = bytes.fromhex(
    "30b5"      # 0x00 push {r4, r5, lr}
    "0400"      # 0x02 movs r4, r0
    "0025"      # 0x04 movs r5, #0
    "002c"      # 0x06 loop: cmp r4, #0
    "06d0"      # 0x08 beq done (0x18)
    "2800"      # 0x0a movs r0, r5
    "2100"      # 0x0c movs r1, r4
    "00f005f8"  # 0x0e bl add_two (0x1c)
    "0500"      # 0x12 movs r5, r0
    "013c"      # 0x14 subs r4, #1
    "f6e7"      # 0x16 b loop (0x06)
    "2800"      # 0x18 done: movs r0, r5
    "30bd"      # 0x1a pop {r4, r5, pc}
    "4018"      # 0x1c add_two: adds r0, r0, r1
    "7047")     # 0x1e bx lr
# capped(n): n + (n - 1) + ... + 1, never above 100 (an IT block), and dot(a, b): the
# two int16 products of the words at a and b, added (SMLAD); Thumb-2, M4 and M7 only.
THUMB2 = bytes.fromhex(
    "2de91040"  # 0x00 capped: push.w {r4, lr}
    "0021"      # 0x04 movs r1, #0
    "01eb0001"  # 0x06 loop: add.w r1, r1, r0
    "6429"      # 0x0a cmp r1, #100
    "c8bf"      # 0x0c it gt
    "6421"      # 0x0e movgt r1, #100
    "0138"      # 0x10 subs r0, #1
    "f8d1"      # 0x12 bne loop (0x06)
    "0846"      # 0x14 mov r0, r1
    "bde81080"  # 0x16 pop.w {r4, pc}
    "d0f80020"  # 0x1a dot: ldr.w r2, [r0]
    "d1f80030"  # 0x1e ldr.w r3, [r1]
    "0020"      # 0x22 movs r0, #0
    "22fb0300"  # 0x24 smlad r0, r2, r3, r0
    "2ffa82f1"  # 0x28 sxtb16 r1, r2
    "7047")     # 0x2c bx lr
CODE = TRIANGLE + THUMB2


def code_elf(path):
    sections = [
        (".text", PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 0x100, CODE),
        (".bss", NOBITS, SHF_ALLOC | SHF_WRITE, RAM_AT, 32),
        (".stack", NOBITS, SHF_ALLOC | SHF_WRITE, RAM_AT + 32, 512),
    ]
    start = 0x100 + len(TRIANGLE)
    symbols = [
        ("triangle", 0x100 | 1, 28, "func", ".text"),
        ("add_two", (0x100 + 0x1c) | 1, 4, "func", ".text"),
        ("capped", start | 1, 26, "func", ".text"),
        ("dot", (start + 0x1a) | 1, 20, "func", ".text"),
        ("_stack_top", RAM_AT + 32 + 512, 0, "none", None),
    ]
    return write_elf(path, sections, symbols)


@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m7"])
def test_emulated_triangle_on_another_core(tmp_path, target):
    core = CortexM(code_elf(tmp_path / "code.elf"), target)
    results = [core.call("triangle", n) for n in (0, 3, 12, 50)]
    expect.value(np.array([result.return_value for result in results]),
                 what=f"triangle(n) for n = 0, 3, 12, 50 on a {target}")
    expect.value(np.array([result.instructions for result in results]),
                 what="the instructions each call executed")


@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m7"])
def test_emulated_thumb2_code_with_an_it_block(tmp_path, target):
    core = CortexM(code_elf(tmp_path / "code.elf"), target)
    results = [core.call("capped", n) for n in (1, 5, 13, 14, 40)]
    expect.value(np.array([result.return_value for result in results]),
                 what=f"capped(n) for n = 1, 5, 13, 14, 40 on a {target}")
    expect.value(np.array([result.instructions for result in results]),
                 what="the instructions each call executed, skipped ones included")


@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m7"])
def test_emulated_dsp_instructions(tmp_path, target):
    core = CortexM(code_elf(tmp_path / "code.elf"), target)
    a = core.allocate(struct.pack("<hh", 300, -7))
    b = core.allocate(struct.pack("<hh", -20, 1000))
    result = core.call("dot", a, b)
    expect.value(result.return_value, what=f"dot((300, -7), (-20, 1000)) as 32 bits, on a "
                                           f"{target}")
    expect.value(result.instructions, what="the instructions the call executed")


# ---- a real firmware: a residual network for a Cortex-M4 ------------------------------

@pytest.fixture(scope="module")
def firmware(tmp_path_factory):
    graph = residual_net(np.random.default_rng(8))
    generated = generate_model(graph)
    elf = build_model(generated, tmp_path_factory.mktemp("lab10-hidden"), "cortex-m4")
    return graph, generated, elf


def test_residual_firmware_ram_and_data_sections(firmware):
    _, generated, elf = firmware
    report = read_elf_report(elf, weight_prefix=f"{generated.name}_")
    expect.value(report.ram, what="the RAM")
    expect.value({name: report.sections.get(name) for name in (".vectors", ".rodata", ".bss",
                                                                ".stack", ".data")},
                 what="the sizes of the sections that are not code")
    code = report.sections.get(".text", 0) + report.sections.get(".ARM.exidx", 0)
    expect.value(report.flash - code, what="the flash apart from .text and .ARM.exidx")


def test_residual_firmware_weights(firmware):
    _, generated, elf = firmware
    expect.value(read_elf_report(elf, weight_prefix=f"{generated.name}_").weights,
                 what=f"the weights named {generated.name}_...")
    expect.value(read_elf_report(elf, weight_prefix="digits_cnn_").weights,
                 what="the weights named after a model the firmware does not hold")


def test_emulated_residual_firmware_run(firmware):
    graph, generated, elf = firmware
    inputs = np.random.default_rng(10).integers(-128, 128, (2, 6, 6, 4)).astype(np.int8)
    model = CoreModel(elf, "cortex-m4", generated, graph)
    expect.value(model(inputs), what="the int8 outputs of 2 samples on the emulated core")
