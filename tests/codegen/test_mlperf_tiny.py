"""The four MLPerf Tiny models, imported from .tflite, through the generated C.

Each model runs on the interpreter, TensorFlow Lite Micro, the host build and
the emulated Cortex-M4 (and the Cortex-M0+ where it fits): every activation
must equal TFLite Micro's, and every output byte of the C the interpreter's,
on edge inputs (all -128, all 127) and random ones.  The arena must equal the
live-set lower bound, the target the code generator's planner sets itself.
"""
from __future__ import annotations

import pytest

from tinytorch.app.cli import main
from tinytorch.app.mlperf import run_reference_model
from tinytorch.app.mlperf_tiny import MODELS


@pytest.mark.parametrize("key", sorted(MODELS))
def test_each_model_is_bit_exact_on_host_and_cortex_m4(key):
    run = run_reference_model(key, samples=5, show_progress=False)
    assert run.tflite_micro is not None and run.tflite_micro.bit_exact, run.summary()
    assert run.host_exact == run.core_exact == 5, run.summary()
    assert run.arena == run.lower_bound, run.summary()


@pytest.mark.parametrize("key", ["kws", "ad"])
def test_the_models_that_fit_run_on_cortex_m0plus(key):
    # No DSP instructions: the plain C kernels, on the smallest core.
    run = run_reference_model(key, target="cortex-m0plus", samples=3, show_progress=False,
                              compare_with_tflite_micro=False)
    assert run.host_exact == run.core_exact == 3, run.summary()


def test_the_demo_command_runs_kws(capsys):
    assert main(["demo", "--model", "kws", "--samples", "3", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "bit-exact       yes" in printed and "TensorFlow Lite Micro, 3 inputs" in printed


def test_the_demo_refuses_options_that_need_training(capsys):
    assert main(["demo", "--model", "kws", "--train-only"]) == 1
    assert "--train-only applies to the digits models" in capsys.readouterr().err


def test_import_then_deploy_on_the_command_line(tmp_path, capsys):
    graph = tmp_path / "ad"
    assert main(["import", "ad", "--out", str(graph)]) == 0
    assert main(["deploy", str(graph), "--target", "cortex-m4", "--out", str(tmp_path / "c"),
                 "--emulate", "2"]) == 0
    assert "bit-exact with the interpreter: yes" in capsys.readouterr().out
    assert (tmp_path / "c" / "ad.c").exists()
