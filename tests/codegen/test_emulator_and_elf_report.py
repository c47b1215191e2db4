"""The emulator (calls, counting, the instruction limit) and the ELF report (sizes, budgets)."""
import pytest

from tinytorch.codegen import toolchain
from tinytorch.codegen.elf_report import BudgetError, check_budget, read_elf_report
from tinytorch.codegen.emulator import CortexM, EmulationError, _instruction_count

PROGRAM = r"""
#include <stdint.h>
const int8_t sample_table[300] = {1, 2, 3};
int8_t sample_buffer[100];
int32_t sample_counter = 5;

int32_t sample_sum(const int8_t *values, int32_t count, int32_t extra1, int32_t extra2,
                   int32_t extra3, int32_t extra4) {
    int32_t total = sample_counter + extra1 * 1000 + extra2 * 100 + extra3 * 10 + extra4;
    int32_t i;
    for (i = 0; i < count; ++i) {
        total += values[i] + sample_table[i % 3];
    }
    sample_buffer[0] = (int8_t)total;
    return total;
}

void sample_forever(volatile int32_t *flag) {
    while (*flag == 0) {
    }
}
"""


@pytest.fixture(scope="module")
def firmware(codegen_build_dir):
    source = codegen_build_dir / "sample.c"
    source.write_text(PROGRAM)
    elf = codegen_build_dir / "sample.elf"
    toolchain.build_firmware([source], elf, "cortex-m4",
                             keep_symbols=["sample_sum", "sample_forever"])
    return elf


def test_thumb_instruction_lengths_are_decoded():
    # movs r0, #1 (16-bit); bl (32-bit, 0xF000 0xF800); bx lr (16-bit)
    code = bytes([0x01, 0x20, 0x00, 0xF0, 0x00, 0xF8, 0x70, 0x47])
    assert _instruction_count(code) == 3


def test_a_call_returns_r0_reads_stack_arguments_and_counts_instructions(firmware):
    core = CortexM(firmware, "cortex-m4")
    values = bytes([10, 20, 30, 40])
    result = core.call("sample_sum", core.allocate(values), 4, 1, 2, 3, 4)
    # 5 (initialized .data) + 1234 + values + table[0, 1, 2, 0]
    assert result.return_value == 5 + 1234 + 100 + 1 + 2 + 3 + 1
    longer = core.call("sample_sum", core.allocate(bytes(40)), 40, 0, 0, 0, 0)
    assert 0 < result.instructions < longer.instructions
    assert core.call("sample_sum", core.allocate(values), 4, 1, 2, 3, 4).instructions == \
        result.instructions


def test_a_runaway_loop_stops_at_the_instruction_limit(firmware):
    core = CortexM(firmware, "cortex-m4")
    with pytest.raises(EmulationError, match="did not return within 10,000 instructions"):
        core.call("sample_forever", core.allocate(4), instruction_limit=10_000)


def test_unknown_function_and_core_are_refused(firmware):
    with pytest.raises(EmulationError, match="no core model"):
        CortexM(firmware, "cortex-a53")
    with pytest.raises(EmulationError, match="no function 'nope'"):
        CortexM(firmware, "cortex-m4").call("nope")


def test_elf_report_counts_flash_ram_and_weights(firmware):
    report = read_elf_report(firmware, weight_prefix="sample_")
    sections = report.sections
    assert report.flash == sum(sections.get(name, 0) for name in
                               (".vectors", ".text", ".rodata", ".ARM.exidx", ".data"))
    assert report.ram == sections.get(".data", 0) + sections.get(".bss", 0) + 2048
    assert report.weights == 300  # the const table, in .rodata
    assert report.code == report.flash - 300
    names = {s.name: s for s in report.symbols}
    assert names["sample_buffer"].size == 100 and names["sample_buffer"].section == ".bss"
    assert names["sample_sum"].kind == "code"
    assert "sample_table" in report.format()


def test_budget_check_names_both_numbers(firmware):
    report = read_elf_report(firmware)
    check_budget(report, flash=report.flash, ram=report.ram)
    with pytest.raises(BudgetError, match=rf"flash: needs {report.flash:,} B but the budget "
                                          rf"is 100 B"):
        check_budget(report, flash=100)
    with pytest.raises(BudgetError, match=rf"RAM: needs {report.ram:,} B but the budget is 10 B"):
        check_budget(report, ram=10)


def test_unknown_target_fails_loudly(codegen_build_dir):
    with pytest.raises(toolchain.ToolchainError, match="unknown target 'cortex-m99'"):
        toolchain.build_firmware([], codegen_build_dir / "x.elf", "cortex-m99")


def test_missing_cross_compiler_and_emulator_fail_loudly(monkeypatch, firmware):
    import sys

    monkeypatch.setattr(toolchain.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "ziglang", None)  # as if not installed
    with pytest.raises(toolchain.ToolchainError, match="pip install ziglang"):
        toolchain.cross_compiler("zig")
    with pytest.raises(toolchain.ToolchainError, match="apt-get install gcc-arm-none-eabi"):
        toolchain.cross_compiler("gcc")
    with pytest.raises(toolchain.ToolchainError, match="no host C compiler"):
        toolchain.host_compiler()
    monkeypatch.setitem(sys.modules, "unicorn", None)
    with pytest.raises(EmulationError, match="pip install unicorn"):
        CortexM(firmware, "cortex-m4")


def test_the_toolchain_is_chosen_by_argument_then_environment_then_zig(monkeypatch):
    monkeypatch.delenv("TINYTORCH_TOOLCHAIN", raising=False)
    # An arm-none-eabi-gcc on PATH does not change the default.
    monkeypatch.setattr(toolchain.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert toolchain.cross_compiler()[1] == "zig"
    monkeypatch.setenv("TINYTORCH_TOOLCHAIN", "gcc")
    assert toolchain.cross_compiler() == (["/usr/bin/arm-none-eabi-gcc"], "gcc")
    assert toolchain.cross_compiler("zig")[1] == "zig"
    monkeypatch.setenv("TINYTORCH_TOOLCHAIN", "clang")
    with pytest.raises(toolchain.ToolchainError, match=r"\$TINYTORCH_TOOLCHAIN must be one of "
                                                       r"zig, gcc, got 'clang'"):
        toolchain.cross_compiler()
    with pytest.raises(toolchain.ToolchainError, match="toolchain must be one of"):
        toolchain.cross_compiler("armcc")
