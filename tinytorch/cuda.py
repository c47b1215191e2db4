"""tinytorch.cuda: the answers a CPU-only framework gives about GPUs.

Scripts written for PyTorch ask ``torch.cuda.is_available()`` to pick a
device.  TinyTorch computes with numpy on the CPU, so the answer is always
no, and the script falls back to the CPU as it would on a machine without a
GPU.  (Moving a tensor to ``"cuda"`` anyway raises the error explained in
``device.py``.)
"""
from __future__ import annotations


def is_available() -> bool:
    """False: TinyTorch has no GPU backend."""
    return False


def device_count() -> int:
    """0: no GPU is visible to TinyTorch."""
    return 0
