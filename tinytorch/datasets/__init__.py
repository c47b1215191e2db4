"""Datasets that ship inside the package (no download, no network).

* ``load_digits(split)`` / ``Digits(train)``: 8x8 handwritten digits, the
  dataset of the end-to-end demo (see ``digits.py`` and ``DIGITS.md``).
"""
from tinytorch.datasets.digits import Digits, load_digits

__all__ = ["Digits", "load_digits"]
