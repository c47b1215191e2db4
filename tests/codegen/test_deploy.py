"""deploy and `tinytorch deploy`: budgets before writing, clear errors, the summary."""
import numpy as np
import pytest

from tinytorch.app import cli
from tinytorch.codegen.deploy import deploy
from tinytorch.codegen.elf_report import BudgetError
from tinytorch.codegen.emitter import c_identifier, generate_model, model_identifier
from tinytorch.quant import GraphError

from tinytorch.codegen.example_graphs import GraphBuilder, digits_cnn


@pytest.fixture(scope="module")
def saved_graph(tmp_path_factory):
    path = tmp_path_factory.mktemp("graph") / "digits"
    digits_cnn(np.random.default_rng(0)).save(path)
    return path


def test_deploy_writes_c_reports_size_and_runs_bit_exact(saved_graph, tmp_path):
    result = deploy(saved_graph, "cortex-m4", tmp_path / "out", emulate_samples=2)
    names = {p.relative_to(tmp_path / "out").as_posix() for p in result.files}
    assert {"digits_cnn.c", "digits_cnn.h", "tinytorch/conv2d.c", "tinytorch/requantize.h",
            "tinytorch/startup.c", "tinytorch/cortex_m.ld"} <= names
    assert all((tmp_path / "out" / name).exists() for name in names)
    assert result.bit_exact is True and result.instructions > result.generated.macs
    assert result.report.weights > 2000  # conv and linear weights of the digits CNN
    assert "equals the lower bound" in result.summary()


def test_a_budget_that_is_too_small_fails_before_anything_is_written(saved_graph, tmp_path):
    with pytest.raises(BudgetError, match=r"flash: needs [\d,]+ B but the budget is 1,000 B"):
        deploy(saved_graph, "cortex-m4", tmp_path / "out", flash=1000)
    assert not (tmp_path / "out").exists()


def test_cli_deploy(saved_graph, tmp_path, capsys):
    assert cli.main(["deploy", str(saved_graph), "--target", "cortex-m0plus", "--out",
                     str(tmp_path / "c"), "--emulate", "1"]) == 0
    printed = capsys.readouterr().out
    assert "bit-exact with the interpreter: yes" in printed and "flash" in printed
    assert cli.main(["deploy", str(saved_graph), "--out", str(tmp_path / "d"), "--ram",
                     "1K"]) == 1
    assert "RAM: needs" in capsys.readouterr().err
    assert cli.main(["deploy", str(tmp_path / "missing"), "--out", str(tmp_path / "e")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_identifiers_are_sanitized():
    assert c_identifier("features.0.conv") == "features_0_conv"
    assert c_identifier("0weird name!") == "_0weird_name"
    assert model_identifier("int") == "model_int"
    assert model_identifier("3-layer net") == "model_3_layer_net"


def test_invalid_graphs_and_unsupported_windows_are_refused():
    rng = np.random.default_rng(0)
    g = GraphBuilder("bad", (1, 4, 4, 2), rng)
    g.pool("avg_pool2d", "pool", kernel=(2, 2), stride=(2, 2), padding=(0, 0, 0, 3))
    g.flatten("flatten")
    with pytest.raises(GraphError, match=r"'pool' \(avg_pool2d\): padding \[0, 0, 0, 3\] must be "
                                         r"smaller than the window \[2, 2\]"):
        generate_model(g.build())
    graph = digits_cnn(rng)
    graph.ops[0].attributes["shift"] = [99] * 8
    with pytest.raises(GraphError, match="conv1"):
        generate_model(graph)


def test_a_graph_of_one_reshape_copies_input_to_output(tmp_path):
    from tinytorch.codegen.deploy import HostModel, build_model
    from tinytorch.quant import Int8Interpreter

    g = GraphBuilder("only reshape", (1, 3, 2, 2), np.random.default_rng(0))
    g.flatten("flatten")
    graph = g.build()
    generated = generate_model(graph)
    assert generated.plan.arena_size == 0 and "output[i] = input[i];" in generated.source
    inputs = np.random.default_rng(1).integers(-128, 128, (5, 3, 2, 2)).astype(np.int8)
    model = HostModel(build_model(generated, tmp_path, "host"), generated, graph)
    np.testing.assert_array_equal(model(inputs), Int8Interpreter(graph).invoke(inputs))
