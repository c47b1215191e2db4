"""Running a firmware function on an emulated Cortex-M core, and counting its instructions.

What
----
``CortexM`` loads a bare-metal ELF into the memory of an emulated Arm core
(unicorn, which is QEMU's CPU emulation as a library) and calls one of its
functions the way C would: arguments in r0-r3, a return address in the link
register, the result in r0.  Python writes the input bytes into the core's
RAM first and reads the output back afterwards.

Why emulate
-----------
A student may have no board, and a test must not need one.  Emulation runs
the very instructions the compiler produced for that core (Thumb-2 with the
DSP extension on an M4, the smaller Thumb subset on an M0, which rejects
SMLAD), so "the C is bit-exact on the target" and "the M0 path never uses an
M4 instruction" become checkable claims.  Counting executed instructions
gives a speed measure that does not depend on the host; latency on silicon
also depends on wait states and pipeline stalls (roughly 2.4-2.8 cycles per
counted instruction for int8 network code on an M4 from flash).

How
---
* The core model is chosen explicitly: ``UC_MODE_THUMB`` plus
  ``ctl_set_cpu_model`` before any memory is mapped.  (``UC_MODE_MCLASS``
  would silently give a Cortex-M33.)  There is no M0+ model; the M0 executes
  the same instruction set.
* Every allocated ELF section is written at its address (zeros for .bss),
  so initialized data is already where the start-up code would copy it.
* Counting: a hook on every translated *block* adds the block's instruction
  count, decoded once per block and cached (a 16-bit halfword whose top five
  bits are 0b11101, 0b11110 or 0b11111 begins a 32-bit instruction).  Hooks
  apply only to code translated after they are added, hence ``ctl_flush_tb``.
  A per-instruction hook would be several times slower, and it is not called
  for an instruction whose ``IT`` condition failed, which the core still
  issues (0.7% to 1.7% of the digits CNN's instructions on an M4).
* A runaway program (an endless loop, a wild jump) stops at an instruction
  limit with an ``EmulationError`` that says so.
* Alignment, ``trap_unaligned=True``.  An M4 or M7 loads a word from any
  byte address (the DSP kernels rely on it), unless the firmware sets
  CCR.UNALIGN_TRP, which some do to catch sloppy pointers: then every
  unaligned halfword or word access is a UsageFault.  Unicorn models no CCR
  and checks no alignment on these cores, not even for LDRD, LDM and VLDR,
  which fault on silicon whatever the bit says.  With ``trap_unaligned`` a
  hook sees every data access (unicorn reports LDRD and LDM a word at a
  time, and an unaligned access whole, at its own address) and stops the run
  at the first one of two or more bytes whose address is not a multiple of
  its size, or of 4 for 8 bytes (VLDR of a double needs only word
  alignment).  It calls Python on every load and store (about 2.7 M
  instructions a second instead of 14-19 M), hence an option.
  The M0 needs no option: it cannot access unaligned memory, and unicorn's
  M0 faults as the silicon does.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FLASH_BASE, FLASH_SIZE = 0x00000000, 0x00200000
RAM_BASE, RAM_SIZE = 0x20000000, 0x00080000
IO_BASE, IO_SIZE = 0x20100000, 0x00100000  # input and output buffers, outside the firmware's RAM
STOP_ADDRESS = 0x20200000  # a mapped address to return to; the run ends there
CPU_MODELS = {"cortex-m0plus": "UC_CPU_ARM_CORTEX_M0", "cortex-m4": "UC_CPU_ARM_CORTEX_M4",
              "cortex-m7": "UC_CPU_ARM_CORTEX_M7"}


class EmulationError(RuntimeError):
    """The emulated program faulted or ran past its instruction limit."""


@dataclass
class RunResult:
    return_value: int
    instructions: int


THUMB2_32_BIT_PREFIXES = (0b11101, 0b11110, 0b11111)  # top five bits of a 32-bit instruction


def _instruction_count(code: bytes) -> int:
    """How many Thumb instructions the bytes ``code`` hold (a translated block, in order).

    Thumb code is a stream of 16-bit halfwords, little-endian (the second
    byte is the high one).  An instruction is one halfword, or two when the
    top five bits of its first halfword are one of
    ``THUMB2_32_BIT_PREFIXES`` (the Thumb-2 32-bit encodings: BL, LDR.W,
    SMLAD, ...).  The second halfword of a 32-bit instruction can look like
    anything, so the walk must skip it rather than decode it.

    The count walks an offset through ``code`` from 0 while a whole halfword
    is left: it reads the top five bits of the halfword at the offset (the
    high byte ``code[offset + 1]`` shifted right by 3), counts one
    instruction, and advances by 4 or 2 bytes.

    Worked example: ``10 b5 | 00 f0 08 f8 | 70 47`` is ``push {r4, lr}``
    (0xb510: 0b10110, 16 bits), ``bl`` (0xf000: 0b11110, 32 bits) and
    ``bx lr`` (0x4770: 16 bits): three instructions in eight bytes.
    """
    # walk the halfwords; 0b11101/0b11110/0b11111 in the top five bits means 4 bytes
    # BEGIN SOLUTION lab 10
    count = offset = 0
    while offset + 1 < len(code):
        first_halfword_high_byte = code[offset + 1]
        offset += 4 if first_halfword_high_byte >> 3 in THUMB2_32_BIT_PREFIXES else 2
        count += 1
    return count
    # END SOLUTION


class CortexM:
    """An emulated Cortex-M with a firmware ELF loaded; call its functions by name."""

    def __init__(self, elf_path: Path, target: str = "cortex-m4", trap_unaligned: bool = False):
        """``trap_unaligned``: behave as if CCR.UNALIGN_TRP were set (see the module essay)."""
        try:
            import unicorn
            from unicorn import arm_const
        except ImportError:
            raise EmulationError("emulation needs unicorn: pip install unicorn==2.1.4 "
                                 "(or pip install -e \".[mcu]\")") from None
        if target not in CPU_MODELS:
            raise EmulationError(f"no core model for {target!r}; choose one of "
                                 f"{', '.join(CPU_MODELS)}")
        self._unicorn, self._arm = unicorn, arm_const
        self.target = target
        self.uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB)
        self.uc.ctl_set_cpu_model(getattr(arm_const, CPU_MODELS[target]))
        for base, size in ((FLASH_BASE, FLASH_SIZE), (RAM_BASE, RAM_SIZE), (IO_BASE, IO_SIZE),
                           (STOP_ADDRESS, 0x1000)):
            self.uc.mem_map(base, size)
        self.symbols = self._load(elf_path)
        self._block_sizes: dict[tuple[int, int], int] = {}
        self._executed = 0
        self._limit = 0
        self._fault: str | None = None  # set by a hook, raised by call
        self.trap_unaligned = trap_unaligned
        self.uc.hook_add(unicorn.UC_HOOK_BLOCK, self._count_block)
        if trap_unaligned:
            self.uc.hook_add(unicorn.UC_HOOK_MEM_READ | unicorn.UC_HOOK_MEM_WRITE,
                             self._check_alignment)
        self.uc.ctl_flush_tb()  # hooks only see code translated after they exist
        self._io_next = IO_BASE

    def _load(self, elf_path: Path) -> dict[str, int]:
        from elftools.elf.elffile import ELFFile

        with open(elf_path, "rb") as stream:
            elf = ELFFile(stream)
            for section in elf.iter_sections():
                if not section["sh_flags"] & 0x2 or not section["sh_size"]:
                    continue
                data = (bytes(section["sh_size"]) if section["sh_type"] == "SHT_NOBITS"
                        else section.data())
                self.uc.mem_write(section["sh_addr"], data)
            table = elf.get_section_by_name(".symtab")
            if table is None:
                raise EmulationError(f"{elf_path}: no symbol table (build with -g)")
            symbols = {s.name: s["st_value"] for s in table.iter_symbols() if s.name}
        if "_stack_top" not in symbols:
            raise EmulationError(f"{elf_path}: no _stack_top; was it linked with cortex_m.ld?")
        return symbols

    def _count_block(self, uc, address: int, size: int, user_data) -> None:
        key = (address, size)
        count = self._block_sizes.get(key)
        if count is None:
            count = self._block_sizes[key] = _instruction_count(bytes(uc.mem_read(address, size)))
        self._executed += count
        if self._executed > self._limit:
            uc.emu_stop()

    def _check_alignment(self, uc, access: int, address: int, size: int, value: int,
                         user_data) -> None:
        # An exception raised here would have to cross unicorn's C code, so the
        # fault is recorded, the run stopped, and call raises it.
        if address & (min(size, 4) - 1) and self._fault is None:
            pc = uc.reg_read(self._arm.UC_ARM_REG_PC)
            kind = "write" if access == self._unicorn.UC_MEM_WRITE else "read"
            self._fault = (f"UsageFault (UNALIGNED): {size}-byte {kind} at 0x{address:08x}, "
                           f"pc 0x{pc:08x}{self._function_at(pc)}")
            uc.emu_stop()

    def _function_at(self, pc: int) -> str:
        """The Thumb function symbol (bit 0 set) nearest below ``pc``, as " in <name>"."""
        starts = [(value & ~1, name) for name, value in self.symbols.items()
                  if value & 1 and value & ~1 <= pc]
        return f" in {max(starts)[1]}" if starts else ""

    # --- Buffers in the I/O region ----------------------------------------

    def allocate(self, data: bytes | int) -> int:
        """Room in the I/O region (word-aligned), filled with ``data`` or zeros; its address."""
        size = data if isinstance(data, int) else len(data)
        address = self._io_next
        self._io_next = (address + size + 7) & ~7
        if self._io_next > IO_BASE + IO_SIZE:
            raise EmulationError(f"I/O region full: {size} more bytes do not fit")
        self.uc.mem_write(address, bytes(size) if isinstance(data, int) else bytes(data))
        return address

    def release_all(self) -> None:
        self._io_next = IO_BASE

    def read(self, address: int, size: int) -> bytes:
        return bytes(self.uc.mem_read(address, size))

    def write(self, address: int, data: bytes) -> None:
        self.uc.mem_write(address, bytes(data))

    # --- Calls ------------------------------------------------------------

    def call(self, function: str, *arguments: int, instruction_limit: int = 200_000_000,
             stack_top: int | None = None) -> RunResult:
        """Call ``function(arguments...)`` with int or pointer arguments, as C would (AAPCS).

        The first four go in r0-r3, the rest on the stack; returns r0 and the
        number of instructions executed.
        """
        arm, unicorn = self._arm, self._unicorn
        if function not in self.symbols:
            raise EmulationError(f"no function {function!r} in the firmware")
        for register, value in zip((arm.UC_ARM_REG_R0, arm.UC_ARM_REG_R1, arm.UC_ARM_REG_R2,
                                    arm.UC_ARM_REG_R3), arguments):
            self.uc.reg_write(register, value & 0xFFFFFFFF)
        stack_pointer = stack_top or self.symbols["_stack_top"]
        on_stack = arguments[4:]
        if on_stack:
            stack_pointer = (stack_pointer - 4 * len(on_stack)) & ~7  # AAPCS: 8-byte aligned
            self.uc.mem_write(stack_pointer, b"".join(
                (value & 0xFFFFFFFF).to_bytes(4, "little") for value in on_stack))
        self.uc.reg_write(arm.UC_ARM_REG_SP, stack_pointer)
        self.uc.reg_write(arm.UC_ARM_REG_LR, STOP_ADDRESS | 1)
        self._executed = 0
        self._fault = None
        # The limit is checked per block by the counting hook: unicorn's own
        # count= would hook every instruction and run several times slower.
        self._limit = instruction_limit
        entry = self.symbols[function] | 1  # Thumb
        try:
            self.uc.emu_start(entry, STOP_ADDRESS)
        except unicorn.UcError as error:
            if self._fault is None:
                pc = self.uc.reg_read(arm.UC_ARM_REG_PC)
                raise EmulationError(f"{self.target}: {function} faulted at pc=0x{pc:08x} after "
                                     f"{self._executed:,} instructions: {error}") from None
        if self._fault is not None:
            raise EmulationError(f"{self.target}: {function}: {self._fault} (CCR.UNALIGN_TRP "
                                 f"set; build with -mno-unaligned-access, or leave it clear)")
        pc = self.uc.reg_read(arm.UC_ARM_REG_PC)
        if pc & ~1 != STOP_ADDRESS:
            raise EmulationError(f"{self.target}: {function} did not return within "
                                 f"{instruction_limit:,} instructions (stopped at pc=0x{pc:08x}); "
                                 f"an endless loop, or raise instruction_limit")
        return RunResult(self.uc.reg_read(arm.UC_ARM_REG_R0), self._executed)
