"""Lab 10 — on the microcontroller: flash and RAM from the ELF, counting Thumb instructions.

Every test is a probe (tinytorch.app.labs.expect): it runs the code students write
in lab 10 (flash, RAM and weights of an ELF report, the sections an ELF
occupies in memory, the length of Thumb instructions) on fixed inputs and
hands over what it produced; the lab's answer key holds what the reference
solution produces.

The inputs are pinned so that every machine gets the same answers: Thumb code
assembled by hand from the Armv7-M encodings, an ELF file written byte by byte
here, and, from a real build of a digits-CNN-shaped model for a Cortex-M4,
only what does not depend on the compiler that built it (Zig's clang or
arm-none-eabi-gcc lay out the same constants and RAM but emit different
code): the model's constants, the RAM, the flash outside the code sections
and the bytes the model outputs on the emulated core.
"""
import struct

import numpy as np
import pytest

from tinytorch.codegen.deploy import CoreModel, build_model
from tinytorch.codegen.elf_report import ElfReport, Symbol, read_elf_report
from tinytorch.codegen.emitter import generate_model
from tinytorch.codegen.emulator import CortexM, _instruction_count
from tinytorch.codegen.example_graphs import digits_cnn
from tinytorch.app.labs import expect

# (little-endian bytes, what they are), assembled by hand from the Armv7-M encodings.
THUMB_INSTRUCTIONS = [
    ("01 20", "movs r0, #1"),
    ("10 b5", "push {r4, lr}"),
    ("70 47", "bx lr"),
    ("00 28", "cmp r0, #0"),
    ("40 18", "adds r0, r0, r1"),
    ("ca 5c", "ldrb r2, [r1, r3]"),
    ("fe e7", "b . (0b11100: still 16 bits)"),
    ("00 f0 08 f8", "bl +16"),
    ("00 f0 00 f8", "bl +0 (second halfword looks like a 32-bit prefix)"),
    ("21 fb 02 00", "smlad r0, r1, r2, r0"),
    ("d1 f8 04 00", "ldr.w r0, [r1, #4]"),
    ("2f fa 81 f0", "sxtb16 r0, r1"),
    ("2d e9 f0 4f", "push.w {r4-r11, lr}"),
]


def test_instruction_count_of_each_hand_assembled_instruction():
    counts = [_instruction_count(bytes.fromhex(code)) for code, _ in THUMB_INSTRUCTIONS]
    expect.value(np.array(counts), what="the count of each instruction alone: "
                 + ", ".join(what for _, what in THUMB_INSTRUCTIONS))


def test_instruction_count_of_random_sequences():
    rng = np.random.default_rng(0)
    counts = []
    for _ in range(200):
        picks = rng.integers(0, len(THUMB_INSTRUCTIONS), int(rng.integers(1, 30)))
        code = b"".join(bytes.fromhex(THUMB_INSTRUCTIONS[i][0]) for i in picks)
        counts.append(_instruction_count(code))
    expect.value(np.array(counts), what="the counts of 200 random sequences of the instructions")


def test_instruction_count_of_no_code():
    expect.value(_instruction_count(b""), what="the count of no bytes")


HAND_MADE_SECTIONS = {".vectors": 8, ".text": 1500, ".rodata": 2600, ".bss": 700,
                      ".stack": 2048}


@pytest.mark.parametrize("extra", [
    pytest.param({}, id="the docstring's sections"),
    pytest.param({".data": 12, ".ARM.exidx": 8}, id="with initialized data and unwind tables"),
])
def test_flash_and_ram_of_a_hand_made_report(extra):
    report = ElfReport({**HAND_MADE_SECTIONS, **extra})
    expect.value((report.flash, report.ram), what=f"flash and RAM of {sorted(report.sections)}")


def docstring_symbols():
    return [Symbol("digits_cnn_conv1_weight", 72, ".rodata", "data"),
            Symbol("digits_cnn_arena_words", 640, ".bss", "data"),
            Symbol("tt_conv2d", 300, ".text", "code")]


def test_weights_of_a_hand_made_report():
    report = ElfReport(HAND_MADE_SECTIONS, docstring_symbols(), "digits_cnn_")
    expect.value(report.weights, what="the weights of the docstring's symbols")


def test_weights_of_a_hand_made_report_without_a_prefix():
    report = ElfReport(HAND_MADE_SECTIONS, docstring_symbols())
    expect.value(report.weights, what="the weights when no prefix names the model's constants")


# ---- an ELF file written byte by byte ------------------------------------------------

SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
PROGBITS, SYMTAB, STRTAB, NOBITS = 1, 2, 3, 8
ARM_EXIDX, ARM_ATTRIBUTES = 0x70000001, 0x70000003
SYMBOL_TYPES = {"none": 0, "object": 1, "func": 2}


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


# triangle(n): n + (n - 1) + ... + 1, adding with a call to add_two; Thumb-1 and BL only.
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
TEXT_AT, RAM_AT = 0x8, 0x20000000
# Build attributes: "aeabi", for the whole file, Tag_CPU_arch = v7E-M.
ATTRIBUTES = b"A" + struct.pack("<I", 17) + b"aeabi\0" + b"\x01" + struct.pack("<I", 7) + b"\x06\x0d"


def hand_made_elf(path):
    sections = [
        (".vectors", PROGBITS, SHF_ALLOC, 0x0, bytes(range(8))),
        (".text", PROGBITS, SHF_ALLOC | SHF_EXECINSTR, TEXT_AT, TRIANGLE),
        (".rodata", PROGBITS, SHF_ALLOC, 0x28, bytes(range(1, 25))),
        (".ARM.exidx", ARM_EXIDX, SHF_ALLOC | 0x80, 0x40, bytes(8)),
        (".data", PROGBITS, SHF_ALLOC | SHF_WRITE, RAM_AT, bytes(12)),
        (".noinit", PROGBITS, SHF_ALLOC | SHF_WRITE, RAM_AT + 12, b""),
        (".bss", NOBITS, SHF_ALLOC | SHF_WRITE, RAM_AT + 16, 64),
        (".stack", NOBITS, SHF_ALLOC | SHF_WRITE, RAM_AT + 80, 1024),
        (".comment", PROGBITS, 0x30, 0, b"written by hand\0"),
        (".debug_info", PROGBITS, 0, 0, bytes(40)),
        (".ARM.attributes", ARM_ATTRIBUTES, 0, 0, ATTRIBUTES),
    ]
    symbols = [
        ("triangle", TEXT_AT | 1, 28, "func", ".text"),
        ("add_two", (TEXT_AT + 0x1c) | 1, 4, "func", ".text"),
        ("tiny_weight", 0x28, 12, "object", ".rodata"),
        ("tiny_bias", 0x34, 8, "object", ".rodata"),
        ("tiny_empty", 0x3c, 0, "object", ".rodata"),
        ("lookup_table", 0x3c, 4, "object", ".rodata"),
        ("tiny_state", RAM_AT, 12, "object", ".data"),
        ("tiny_arena", RAM_AT + 16, 64, "object", ".bss"),
        ("_stack_top", RAM_AT + 80 + 1024, 0, "none", None),
    ]
    return write_elf(path, sections, symbols)


def test_sections_of_a_hand_made_elf(tmp_path):
    report = read_elf_report(hand_made_elf(tmp_path / "tiny.elf"))
    expect.value(report.sections, what="the sections the image occupies in memory, by size")


def test_flash_ram_and_weights_of_a_hand_made_elf(tmp_path):
    report = read_elf_report(hand_made_elf(tmp_path / "tiny.elf"), weight_prefix="tiny_")
    expect.value((report.flash, report.ram), what="flash and RAM")
    expect.value(report.weights, what="the weights named tiny_...")


def test_emulated_calls_of_hand_assembled_code(tmp_path):
    core = CortexM(hand_made_elf(tmp_path / "tiny.elf"), "cortex-m4")
    results = [core.call("triangle", n) for n in (0, 1, 2, 7, 30)]
    expect.value(np.array([result.return_value for result in results]),
                 what="triangle(n) for n = 0, 1, 2, 7, 30")
    expect.value(np.array([result.instructions for result in results]),
                 what="the instructions each call executed")


# ---- a real firmware ------------------------------------------------------------------

@pytest.fixture(scope="module")
def firmware(tmp_path_factory):
    graph = digits_cnn(np.random.default_rng(7))
    generated = generate_model(graph)
    elf = build_model(generated, tmp_path_factory.mktemp("lab10"), "cortex-m4")
    return graph, generated, elf


def test_firmware_ram_and_data_sections(firmware):
    _, generated, elf = firmware
    report = read_elf_report(elf, weight_prefix=f"{generated.name}_")
    expect.value(report.ram, what="the RAM")
    expect.value({name: report.sections.get(name) for name in (".vectors", ".rodata", ".bss",
                                                                ".stack")},
                 what="the sizes of the sections that are not code")
    # Every compiler names its code .text and may add unwind tables (.ARM.exidx).
    expect.value(sorted(name for name in report.sections
                        if name != ".text" and not name.startswith(".ARM")),
                 what="the sections the image occupies in memory, apart from the code")


def test_firmware_flash_apart_from_the_code(firmware):
    _, generated, elf = firmware
    report = read_elf_report(elf, weight_prefix=f"{generated.name}_")
    code = report.sections.get(".text", 0) + report.sections.get(".ARM.exidx", 0)
    expect.value(report.flash - code, what="the flash apart from .text and .ARM.exidx")


def test_firmware_weights_are_the_models_constants(firmware):
    _, generated, elf = firmware
    expect.value(read_elf_report(elf, weight_prefix=f"{generated.name}_").weights,
                 what=f"the weights named {generated.name}_...")
    expect.value(read_elf_report(elf).weights, what="the weights when no prefix is given")


def test_emulated_firmware_run(firmware):
    graph, generated, elf = firmware
    inputs = np.random.default_rng(8).integers(-128, 128, (3, 8, 8, 1)).astype(np.int8)
    model = CoreModel(elf, "cortex-m4", generated, graph)
    expect.value(model(inputs), what="the int8 outputs of 3 samples on the emulated core")
