"""The main job end to end, the command line, and a cheap import."""
import subprocess
import sys

import numpy as np

import tinytorch
from tinytorch.app.cli import build_parser
from tinytorch.app.demo import train_digits
from tinytorch.models import digits_mlp


def run(*args):
    return subprocess.run([sys.executable, "-m", "tinytorch.app.cli", *args],
                          capture_output=True, text=True, timeout=120)


def test_demo_reaches_97_percent_on_the_digits_test_set():
    result = train_digits(seed=0, show_progress=False)
    assert result.test_accuracy >= 0.97, result.test_accuracy
    assert result.train_accuracy >= result.test_accuracy - 0.05


def test_cnn_demo_reaches_98_percent():
    result = train_digits("cnn", seed=0, show_progress=False)
    assert result.test_accuracy >= 0.98, result.test_accuracy


def test_training_is_reproducible_bit_for_bit():
    first = train_digits("cnn", epochs=2, seed=3, show_progress=False).model.state_dict()
    second = train_digits("cnn", epochs=2, seed=3, show_progress=False).model.state_dict()
    for key in first:
        np.testing.assert_array_equal(first[key].array, second[key].array, err_msg=key)


def test_every_command_has_help():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert "demo" in commands
    top = run("--help")
    assert top.returncode == 0 and "demo" in top.stdout
    for name in commands:
        result = run(name, "--help")
        assert result.returncode == 0, result.stderr
        assert "usage: tinytorch " + name in result.stdout


def test_demo_command_prints_test_accuracy():
    result = run("demo", "--train-only", "--model", "mlp", "--epochs", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("test accuracy"))
    assert float(line.split()[2].rstrip("%")) > 50


def test_end_to_end_demo_runs_the_test_set_bit_exact_on_host_and_emulated_core(tmp_path):
    result = run("demo", "--epochs", "3", "--quiet", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    summary = {line.split("  ")[0]: line for line in result.stdout.splitlines()}
    assert "yes: host 360/360, cortex-m4 360/360" in summary["bit-exact"]
    for field in ("float32 accuracy", "int8 accuracy", "flash", "RAM", "instructions",
                  "latency (est.)"):
        assert field in summary, result.stdout
    assert "arena 640 B, lower bound 640 B" in summary["RAM"]
    # What the summary reports was really built: the C, the host library and the ELF.
    names = {path.name for path in tmp_path.iterdir()}
    assert {"digits_cnn.c", "digits_cnn.h", "digits_cnn-Os.so", "digits_cnn-cortex-m4-Os.elf"} <= names


def test_import_is_cheap_no_numba_compiled_or_imported():
    code = "import sys, tinytorch; print('numba' in sys.modules, hasattr(tinytorch, 'nn'), " \
           "hasattr(tinytorch, 'optim'), hasattr(tinytorch, 'autograd'), " \
           "hasattr(tinytorch.utils, 'data'), 'tinytorch.codegen' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False", "True", "True", "True", "True", "False"], result.stderr


def test_checkpoint_round_trip_of_a_trained_model(tmp_path):
    model = train_digits(epochs=1, seed=0, show_progress=False).model
    tinytorch.save(model.state_dict(), tmp_path / "model.npz")
    fresh = digits_mlp()
    fresh.load_state_dict(tinytorch.load(tmp_path / "model.npz"))
    x = tinytorch.randn(5, 1, 8, 8)
    np.testing.assert_array_equal(model.eval()(x).array, fresh.eval()(x).array)
