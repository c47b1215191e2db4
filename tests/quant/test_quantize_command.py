"""`tinytorch quantize CHECKPOINT`: the report, the graph file, and clear errors."""
import subprocess
import sys

import numpy as np

import tinytorch
from tinytorch.models import save_model
from tinytorch.quant import Int8Graph, Int8Interpreter


def run(*args):
    return subprocess.run([sys.executable, "-m", "tinytorch.app.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_quantize_prints_the_report_and_writes_a_loadable_graph(trained_cnn, digits, tmp_path):
    save_model(trained_cnn.model, "digits_cnn", str(tmp_path / "cnn.npz"))
    result = run("quantize", str(tmp_path / "cnn.npz"), "--out", str(tmp_path / "out" / "g"),
                 "--quiet")
    assert result.returncode == 0, result.stderr
    assert f"float {trained_cnn.test_accuracy:6.2%}" in result.stdout
    for name in ("conv2d_0", "conv2d_3", "fully_connected_7", "SQNR"):
        assert name in result.stdout
    graph = Int8Graph.load(tmp_path / "out" / "g.json")
    int8_accuracy = (Int8Interpreter(graph).predict(digits[2]) == digits[3]).mean()
    assert f"int8 {int8_accuracy:6.2%}" in result.stdout


def test_quantize_refuses_a_file_that_is_not_a_model_checkpoint(tmp_path):
    tinytorch.save({"weights": np.zeros(3)}, str(tmp_path / "other.npz"))
    result = run("quantize", str(tmp_path / "other.npz"))
    assert result.returncode == 1
    assert "not a model checkpoint" in result.stderr
    assert "Traceback" not in result.stderr
