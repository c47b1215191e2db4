"""Post-training quantization of a digits model in one call (what `tinytorch quantize` runs).

The steps, each from its own file of ``tinytorch/quant/``: capture and
prepare the model (``prepare.py``), calibrate its observers on training
batches (``prepare.calibrate``), convert it to the int8 graph
(``convert.py``), and compare the graph with the float model on the test set
(``report.py``).  This file only strings them together for the digits data.
"""
from __future__ import annotations

from tinytorch import nn
from tinytorch.datasets import load_digits
from tinytorch.quant.convert import convert
from tinytorch.quant.graph import Int8Graph
from tinytorch.quant.prepare import calibrate, prepare
from tinytorch.quant.report import QuantizationReport, quantization_report
from tinytorch.utils.data import DataLoader, TensorDataset


def quantize_digits_model(model: nn.Module, name: str, observer: str = "minmax",
                          weight_bits: int = 8, rounding: str = "double",
                          calibration_batches: int = 20, batch_size: int = 64,
                          show_progress: bool = True) -> tuple[Int8Graph, QuantizationReport]:
    """Calibrate on digits training images, convert, and report on the test set."""
    train_images, train_labels = load_digits("train")
    test_images, test_labels = load_digits("test")
    # Calibration only needs inputs; a fixed order makes the graph reproducible.
    loader = DataLoader(TensorDataset(train_images, train_labels), batch_size=batch_size)
    prepared = prepare(model, train_images.array[:1], observer=observer,
                       weight_bits=weight_bits, name=name)
    calibrate(prepared, loader, num_batches=calibration_batches, show_progress=show_progress)
    graph = convert(prepared, rounding=rounding)
    return graph, quantization_report(model, graph, test_images.array, test_labels.array)


def quantize_checkpoint(path: str, out: str | None = None, observer: str = "minmax",
                        weight_bits: int = 8, rounding: str = "double",
                        calibration_batches: int = 20,
                        show_progress: bool = True) -> QuantizationReport:
    """Quantize a checkpoint from ``tinytorch demo --save``; optionally save the graph."""
    from tinytorch.models import load_model

    model, architecture = load_model(path)
    graph, report = quantize_digits_model(model, architecture, observer, weight_bits, rounding,
                                          calibration_batches, show_progress=show_progress)
    if out:
        graph.save(out)
    return report
