"""Near-solutions of lab 10 (tinytorch.app.labs.mutation): each must fail a graded test."""
from tinytorch.app.labs.mutation import Mutant

MUTANTS = [
    Mutant("flash leaves out .data, whose initial values are stored in flash too",
           "codegen/elf_report.py", "ElfReport.flash", """
return sum(self.sections.get(section, 0) for section in FLASH_SECTIONS if section != ".data")
"""),
    Mutant("ram forgets the stack", "codegen/elf_report.py", "ElfReport.ram", """
return sum(self.sections.get(section, 0) for section in (".data", ".bss"))
"""),
    Mutant("weights count every data symbol of the model, the arena in .bss included",
           "codegen/elf_report.py", "ElfReport.weights", """
if not self.weight_prefix:
    return 0
return sum(s.size for s in self.symbols
           if s.kind == "data" and s.name.startswith(self.weight_prefix))
"""),
    Mutant("read_elf_report keeps allocated sections of size 0", "codegen/elf_report.py",
           "read_elf_report", """
sections = {section.name: section["sh_size"] for section in elf.iter_sections()
            if section["sh_flags"] & SHF_ALLOC}
"""),
    Mutant("_instruction_count knows only BL's prefix (0b11110) as the start of a 32-bit "
           "instruction", "codegen/emulator.py", "_instruction_count", """
count = offset = 0
while offset + 1 < len(code):
    offset += 4 if code[offset + 1] >> 3 == 0b11110 else 2
    count += 1
return count
"""),
    Mutant("_instruction_count counts a lone trailing byte as an instruction",
           "codegen/emulator.py", "_instruction_count", """
count = offset = 0
while offset < len(code):
    top = code[offset + 1] >> 3 if offset + 1 < len(code) else 0
    offset += 4 if top in THUMB2_32_BIT_PREFIXES else 2
    count += 1
return count
"""),
]
