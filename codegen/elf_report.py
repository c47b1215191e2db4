"""How much flash and RAM a firmware image needs, read from its ELF file.

What
----
A microcontroller has two memories that matter: *flash*, which keeps the
program and its constants when the power is off, and *RAM*, which holds
everything that changes.  The linker places each section of the program in
one or both:

    flash = .text (code) + .rodata (constants: our weights) + .data (initial values)
    RAM   = .data (the variables themselves) + .bss (zeroed: our arena) + stack

``.data`` counts twice because its initial values are copied from flash to
RAM at reset.  The ELF file records every section's address and size and, in
its symbol table, every function and variable with its size, so the question
"what takes the space?" has an exact answer: the largest symbols, and the
split of flash into weights (constant data of the model) and code.

Where it sits
-------------
``deploy`` reads the report after building for a target, prints it, and
checks it against a part's budget (``check_budget``), which fails with both
numbers in the message.  Reading uses pyelftools.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

FLASH_SECTIONS = (".vectors", ".text", ".rodata", ".ARM.exidx", ".data")
SHF_ALLOC = 0x2  # a section flag: the section occupies memory in the running image
RAM_SECTIONS = (".data", ".bss", ".stack")


class BudgetError(ValueError):
    """The firmware does not fit the flash or RAM it was given."""


@dataclass
class Symbol:
    name: str
    size: int
    section: str
    kind: str  # "code" or "data"


@dataclass
class ElfReport:
    sections: dict[str, int]
    symbols: list[Symbol] = field(default_factory=list)
    weight_prefix: str = ""

    @property
    def flash(self) -> int:
        """Bytes of flash the image needs: the sizes of its flash sections, added up.

        ``self.sections`` maps each allocated section's name to its size; the
        flash is the sum over the names in ``FLASH_SECTIONS``, where a section
        the image does not have counts 0 (a model without initialized
        variables has no ``.data``).

        Worked example: {.vectors: 8, .text: 1500, .rodata: 2600, .bss: 700,
        .stack: 2048} -> 8 + 1500 + 2600 = 4108.
        """
        # the sizes of the sections named in FLASH_SECTIONS, added (missing ones are 0)
        # BEGIN SOLUTION lab 10
        return sum(self.sections.get(section, 0) for section in FLASH_SECTIONS)
        # END SOLUTION

    @property
    def ram(self) -> int:
        """Bytes of RAM the image needs: .data, .bss and the stack.

        The same sum as ``flash``, over ``RAM_SECTIONS``.  Worked example: the
        sections of ``flash``'s example give 700 + 2048 = 2748.
        """
        # the sizes of the sections named in RAM_SECTIONS, added (missing ones are 0)
        # BEGIN SOLUTION lab 10
        return sum(self.sections.get(section, 0) for section in RAM_SECTIONS)
        # END SOLUTION

    @property
    def code(self) -> int:
        """Flash that is not the model's constants: instructions, vectors, kernel tables."""
        return self.flash - self.weights

    @property
    def weights(self) -> int:
        """Constant data of the model (weights, biases, multipliers, shifts, layer parameters).

        The sum of the sizes of the symbols that are data (``kind ==
        "data"``), live in ``.rodata`` and whose name starts with
        ``weight_prefix``.  Without a prefix nothing is known to be the
        model's: 0.

        Worked example: with prefix ``digits_cnn_``, the symbols
        ``digits_cnn_conv1_weight`` (72 B, .rodata), ``digits_cnn_arena_words``
        (640 B, .bss) and ``tt_conv2d`` (code) give 72.
        """
        # sizes of the .rodata data symbols named weight_prefix + ... (0 without a prefix)
        # BEGIN SOLUTION lab 10
        if not self.weight_prefix:
            return 0
        return sum(s.size for s in self.symbols
                   if s.kind == "data" and s.section == ".rodata"
                   and s.name.startswith(self.weight_prefix))
        # END SOLUTION

    def largest_symbols(self, count: int = 10) -> list[Symbol]:
        return sorted(self.symbols, key=lambda s: s.size, reverse=True)[:count]

    def format(self, count: int = 8) -> str:
        lines = [f"flash {self.flash:>8,} B  (code {self.code:,} B, weights {self.weights:,} B)",
                 f"RAM   {self.ram:>8,} B  (.data {self.sections.get('.data', 0):,} B, "
                 f".bss {self.sections.get('.bss', 0):,} B, "
                 f"stack {self.sections.get('.stack', 0):,} B)",
                 "sections: " + ", ".join(f"{name} {size:,}" for name, size in
                                          self.sections.items()),
                 "largest symbols:"]
        lines += [f"  {s.size:>8,} B  {s.kind:<4}  {s.section:<8} {s.name}"
                  for s in self.largest_symbols(count)]
        return "\n".join(lines)


def read_elf_report(path: Path, weight_prefix: str = "") -> ElfReport:
    """Sections and symbols of the ELF at ``path``.

    Symbols whose names start with ``weight_prefix`` and live in .rodata count
    as weights (the emitter names every constant of a model ``<model>_...``).

    The sections: an ELF file holds more sections than the chip ever sees
    (debug information, the symbol table).  Those that occupy memory when the
    program runs carry the flag ``SHF_ALLOC`` in ``section["sh_flags"]`` (a
    bit mask); the report keeps ``section.name -> section["sh_size"]`` for
    every such section whose size is not 0.

    Worked example: .text (flags ALLOC | EXECINSTR, 1,500 B) is kept;
    .debug_info (no ALLOC) is not; an empty .data (0 B) is not.
    """
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as stream:
        elf = ELFFile(stream)
        # name -> sh_size of every section with the SHF_ALLOC flag and a nonzero size
        # BEGIN SOLUTION lab 10
        sections = {section.name: section["sh_size"] for section in elf.iter_sections()
                    if section["sh_flags"] & SHF_ALLOC and section["sh_size"]}
        # END SOLUTION
        section_names = {i: s.name for i, s in enumerate(elf.iter_sections())}
        symbols = []
        table = elf.get_section_by_name(".symtab")
        if table is None:
            raise ValueError(f"{path}: no symbol table (was it built with -g?)")
        for symbol in table.iter_symbols():
            kind = symbol["st_info"]["type"]
            index = symbol["st_shndx"]
            if kind not in ("STT_FUNC", "STT_OBJECT") or not symbol["st_size"] \
                    or not isinstance(index, int):
                continue
            symbols.append(Symbol(symbol.name, symbol["st_size"], section_names.get(index, "?"),
                                  "code" if kind == "STT_FUNC" else "data"))
    return ElfReport(sections, symbols, weight_prefix)


def check_budget(report: ElfReport, flash: int | None = None, ram: int | None = None,
                 what: str = "firmware") -> None:
    """Raise BudgetError when the image needs more flash or RAM than given."""
    problems = []
    if flash is not None and report.flash > flash:
        problems.append(f"flash: needs {report.flash:,} B but the budget is {flash:,} B "
                        f"(code {report.code:,} B, weights {report.weights:,} B)")
    if ram is not None and report.ram > ram:
        problems.append(f"RAM: needs {report.ram:,} B but the budget is {ram:,} B")
    if problems:
        raise BudgetError(f"{what} does not fit: " + "; ".join(problems))
