"""Names are input: a graph's name and its ops' names can be anything a file holds.

Each hostile name below becomes the graph's name and every op's name.  The
generated C must compile (with -Werror), run bit-exact, contain no trace of
the raw text, and leave the kernels' files alone; a name that tries to run a
command on the host must not.
"""
import re

import numpy as np
import pytest

from tinytorch.codegen import toolchain
from tinytorch.codegen.deploy import CoreModel, HostModel, build_model, deploy
from tinytorch.codegen.emitter import generate_model, model_identifier
from tinytorch.codegen.example_graphs import GraphBuilder
from tinytorch.quant import Int8Interpreter

KERNEL_FILES = sorted(p.name for p in toolchain.KERNEL_DIR.iterdir())
C_KEYWORDS = ["int", "return", "static", "_Bool", "main", "__attribute__", "class", "tt",
              "tt_conv2d", "TT_USE_DSP", "SCRATCH", "NULL", "errno"]


def injection(marker):
    return (f'conv1 */ {{ extern int system(const char*); system("touch {marker}"); }} /*')


def hostile_names(marker):
    return [
        injection(marker),
        f"x */ int system(const char*); int main(void) {{ return system(\"touch {marker}\"); }}",
        "a\n#error injected through a newline\nb",
        "a\r\n#include \"/etc/passwd\"\r\n",
        "// line comment ??/",
        '"quoted" and \'single\' and back\\slash',
        "ünïcödé Ωmega 名前 \u202e\ud800",
        "n" * 300,
        "n" * 299 + "m",
        "",
        "   ",
        "__",
        "0starts_with_a_digit",
        "../../escape/the/directory",
        "%s%n%x",
    ] + C_KEYWORDS + KERNEL_FILES + [name.split(".")[0] for name in KERNEL_FILES]


def small_graph(name):
    g = GraphBuilder("placeholder", (1, 6, 6, 3), np.random.default_rng(0))
    g.conv("conv", 4)
    g.depthwise("dw")
    skip = g.current
    g.conv("pw", 4, kernel=(1, 1), padding=(0, 0, 0, 0))
    g.add("add", skip, g.current)
    g.pool("max_pool2d", "pool")
    g.flatten("flatten")
    g.linear("fc", 5)
    graph = g.build()
    graph.name = name
    for op in graph.ops:
        op.name = name
    return graph


def assert_no_raw_text(generated, name):
    text = generated.header + generated.source
    assert set(text) <= set(map(chr, range(32, 127))) | {"\n"}, "only printable ASCII"
    directives = {line.split()[0] for line in text.splitlines() if line.lstrip().startswith("#")}
    assert directives <= {"#include", "#define", "#if", "#ifdef", "#ifndef", "#else", "#endif"}
    # Every comment holds only identifiers, numbers and punctuation of our own.
    for comment in re.findall(r"/\*.*?\*/", text, flags=re.S):
        assert '"' not in comment and "/*" not in comment[2:]
    if re.search(r"[^0-9A-Za-z_.\s]", name):  # never copied as text (file names aside)
        assert name not in text


@pytest.mark.parametrize("index", range(len(hostile_names("MARKER"))))
def test_a_hostile_name_compiles_runs_bit_exact_and_runs_nothing_else(tmp_path, index):
    marker = tmp_path / "INJECTED"
    name = hostile_names(str(marker))[index]
    graph = small_graph(name)
    generated = generate_model(graph)
    assert_no_raw_text(generated, name)
    assert re.fullmatch(r"[a-z_][a-z0-9_]{0,23}", generated.name)
    assert not generated.name.startswith("tt_")
    result = deploy(graph, "host", tmp_path / "out", emulate_samples=3, seed=index)
    assert result.bit_exact is True
    assert not marker.exists()
    # The model's files never replace a kernel's: the kernels stay byte for byte ours.
    for path in (tmp_path / "out" / "tinytorch").iterdir():
        assert path.read_bytes() == (toolchain.KERNEL_DIR / path.name).read_bytes()
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        f"{generated.name}.c", f"{generated.name}.h", "tinytorch", "tinytorch-manifest.json"}


@pytest.mark.parametrize("name", ["startup", "requantize", "conv2d", "tinytorch_kernels"])
def test_models_named_like_kernel_files_run_bit_exact_on_a_cortex_m4(tmp_path, name):
    """The names that used to replace a kernel or the start-up code, built as firmware."""
    graph = small_graph(name)
    generated = generate_model(graph)
    elf = build_model(generated, tmp_path, "cortex-m4")
    inputs = np.random.default_rng(1).integers(-128, 128, (3, 6, 6, 3)).astype(np.int8)
    np.testing.assert_array_equal(CoreModel(elf, "cortex-m4", generated, graph)(inputs),
                                  Int8Interpreter(graph).invoke(inputs))
    host = HostModel(build_model(generated, tmp_path, "host"), generated, graph)
    np.testing.assert_array_equal(host(inputs), Int8Interpreter(graph).invoke(inputs))


def test_long_names_are_cut_to_c99s_significant_length_and_stay_distinct():
    first, second = model_identifier("n" * 300), model_identifier("n" * 299 + "m")
    assert len(first) == len(second) == 24 and first != second
    graph = small_graph("a" * 300)
    source = generate_model(graph).source
    identifiers = set(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", source))
    assert max(map(len, identifiers)) <= 63
    # Every op had the same 300-character name; each still has constants of its own.
    prefixes = re.findall(r"static const tt_quantization (\w+)_quantization", source)
    assert len(prefixes) == len(set(prefixes)) == 4  # conv, dw, pw, fc
