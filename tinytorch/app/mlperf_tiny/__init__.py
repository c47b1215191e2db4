"""The four MLPerf Tiny reference models, shipped as .tflite files (Apache 2.0).

They were trained elsewhere, which is the point: ``tinytorch import`` reads
them, and the demo, lab 11 and the tests run them through the interpreter and
the generated C against TensorFlow Lite Micro.  README.md beside this file
says where each comes from; LICENSE.md is their license.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ReferenceModel:
    """One MLPerf Tiny benchmark model: its file and what it computes."""
    key: str
    file: str
    task: str

    @property
    def path(self) -> Path:
        return FOLDER / self.file


MODELS = {m.key: m for m in (
    ReferenceModel("kws", "kws_ref_model.tflite",
                   "keyword spotting: DS-CNN, 49x10 MFCC features -> 12 classes"),
    ReferenceModel("resnet", "pretrainedResnet_quant.tflite",
                   "image classification: ResNet-8, 32x32x3 CIFAR-10 -> 10 classes"),
    ReferenceModel("vww", "vww_96_int8.tflite",
                   "visual wake words: MobileNetV1 0.25, 96x96x3 -> person / no person"),
    ReferenceModel("ad", "ad01_int8.tflite",
                   "anomaly detection: fully connected autoencoder, 640 -> 640"),
)}

__all__ = ["MODELS", "ReferenceModel"]
