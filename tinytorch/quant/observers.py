"""Observers: learning the range of every activation before quantizing it.

An int8 activation can hold 256 values.  Quantization maps a real interval
[lo, hi] onto them with the affine mapping ``real = scale * (q - zero_point)``
(``kernels/int8/affine.py``), with

    scale = (hi - lo) / 255,    zero_point = round(-128 - lo / scale)

so everything depends on choosing [lo, hi] well.  Too wide and each step of
``scale`` is coarse (rounding noise everywhere); too narrow and the rare large
values are clipped.  Weights are known in advance, so their range is simply
their extreme values.  Activations depend on the input, so we *watch* them:
run a few batches of real data through the float model ("calibration") and
let an observer at each activation keep statistics.

Three observers, three compromises:

* ``MinMaxObserver`` keeps the smallest and largest value ever seen.  Nothing
  is clipped on the calibration data, but one outlier widens the range for all.
* ``MovingAverageMinMaxObserver`` averages each batch's min and max with an
  exponential moving average.  Ranges follow the typical batch, and this is
  what quantization-aware training uses while the weights are still moving.
* ``PercentileObserver`` keeps a histogram of the values and picks the
  range that holds a chosen percentile (99.99% by default) of them, trading a
  little clipping of outliers for finer steps everywhere else.  (PyTorch's
  ``HistogramObserver`` also keeps a histogram, but searches for the range
  that minimises the L2 quantization error: a different algorithm.)

Three rules hold for all of them.  The range always contains 0, so that 0.0 is
exactly representable (zero padding and ReLU's zeros must be exact).  The
zero point is an integer, so ``lo`` moves by up to half a step to make it one.
And an observer shown NaN or an infinity raises ``NonFiniteActivationError``
(leaving its statistics as they were): no int8 range can hold such values,
and skipping the batch quietly would hide a model or a dataset gone wrong.
The check costs nothing extra: NaN and infinities show up in the batch's min
and max, which every observer computes anyway.
"""
from __future__ import annotations

import math

import numpy as np

QMIN, QMAX = -128, 127


def activation_qparams(low: float, high: float) -> tuple[float, int]:
    """(scale, zero_point) of an asymmetric int8 tensor covering [low, high] and 0.

    Widen [low, high] to contain 0; ``scale = (high - low) / 255`` (1.0 when the
    range is a single point, 0); round the scale to float32 (as a .tflite file
    stores it); ``zero_point = round(-128 - low / scale)``, clamped to [-128, 127].
    Example: [-1, 3] gives scale 4/255 and zero point round(-128 + 63.75) = -64.
    """
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"activation range [{low}, {high}] is not finite; was the observer "
                         f"fed any data?")
    # compute the scale and zero point of [low, high] widened to contain 0
    # BEGIN SOLUTION lab 08
    low, high = min(float(low), 0.0), max(float(high), 0.0)
    # A tensor that was always 0 still needs a valid scale; any positive one is exact.
    scale = (high - low) / (QMAX - QMIN) if high > low else 1.0
    scale = float(np.float32(scale))
    zero_point = int(np.clip(round(QMIN - low / scale), QMIN, QMAX))
    return scale, zero_point
    # END SOLUTION


def weight_qparams(weight: np.ndarray, bits: int = 8) -> np.ndarray:
    """Per-output-channel symmetric scales: max |w_c| / (2^(bits-1) - 1), as float32 values.

    ``weight`` has the output channel first (any other dimensions).  A channel
    of zeros gets scale 1.0.  Returns float64 values that are exact float32s.
    Example: rows [0.5, -1.27] and [0, 0] at 8 bits give [0.01, 1.0].
    """
    if not 2 <= bits <= 8:
        raise ValueError(f"weight_qparams: bits must be in 2..8, got {bits}")
    # one scale per output channel, largest magnitude / (2^(bits-1) - 1)
    # BEGIN SOLUTION lab 08
    largest = np.abs(weight.reshape(weight.shape[0], -1)).max(axis=1).astype(np.float64)
    # An all-zero channel quantizes to zeros at any scale; 1.0 keeps the bias scale sane.
    largest[largest == 0] = 2 ** (bits - 1) - 1
    return (largest / (2 ** (bits - 1) - 1)).astype(np.float32).astype(np.float64)
    # END SOLUTION


class NonFiniteActivationError(ValueError):
    """NaN or infinite values reached an observer: no quantization range can hold them.

    ``found`` says what was found ("3 NaN among its 640 values"); ``where``,
    when known, the point of the model that produced it.
    """

    def __init__(self, message: str, found: str = "", where: str = "") -> None:
        super().__init__(message)
        self.found, self.where = found or message, where


def batch_extremes(values: np.ndarray) -> tuple[float, float]:
    """A batch's (min, max); raises ``NonFiniteActivationError`` if it holds NaN or an infinity."""
    low, high = float(values.min()), float(values.max())
    if math.isfinite(low) and math.isfinite(high):
        return low, high
    # NaN propagates through min and max, and an infinity is one of them: count what is there.
    counts = {"NaN": np.isnan(values).sum(), "+inf": np.isposinf(values).sum(),
              "-inf": np.isneginf(values).sum()}
    found = ", ".join(f"{int(count)} {name}" for name, count in counts.items() if count)
    raise NonFiniteActivationError(f"{found} among its {values.size} values")


class Observer:
    """Watches the values flowing through one point of the model; reports a range."""

    def __init__(self) -> None:
        self.low = np.inf
        self.high = -np.inf
        self.batches = 0

    def observe(self, values: np.ndarray) -> None:
        raise NotImplementedError

    def range(self) -> tuple[float, float]:
        if self.batches == 0:
            raise RuntimeError(f"{type(self).__name__}: no data observed; run calibration "
                               f"(tinytorch.quant.calibrate) before converting")
        return self.low, self.high

    def qparams(self) -> tuple[float, int]:
        return activation_qparams(*self.range())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(low={self.low:.4g}, high={self.high:.4g}, batches={self.batches})"


class MinMaxObserver(Observer):
    """The extreme values ever seen."""

    def observe(self, values: np.ndarray) -> None:
        low, high = batch_extremes(values)
        self.low = min(self.low, low)
        self.high = max(self.high, high)
        self.batches += 1


class MovingAverageMinMaxObserver(Observer):
    """An exponential moving average of each batch's min and max (the first batch sets it)."""

    def __init__(self, averaging_constant: float = 0.01) -> None:
        super().__init__()
        self.averaging_constant = averaging_constant

    def observe(self, values: np.ndarray) -> None:
        low, high = batch_extremes(values)
        if self.batches == 0:
            self.low, self.high = low, high
        else:
            c = self.averaging_constant
            self.low += c * (low - self.low)
            self.high += c * (high - self.high)
        self.batches += 1


class PercentileObserver(Observer):
    """Keeps a histogram; the range holds ``percentile`` percent of the values seen.

    The histogram's bins are fixed by the first batch's range and widened (by
    merging pairs of bins) whenever a later batch falls outside it, so memory
    stays constant however much data flows through.
    """

    def __init__(self, percentile: float = 99.99, bins: int = 2048) -> None:
        super().__init__()
        if not 50 < percentile <= 100:
            raise ValueError(f"PercentileObserver: percentile must be in (50, 100], "
                             f"got {percentile}")
        self.percentile, self.bins = percentile, bins
        self.counts = np.zeros(bins, dtype=np.int64)
        self.edge = 0.0  # the histogram covers [-edge, edge]

    def observe(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64).ravel()
        low, high = batch_extremes(values)  # checked before the histogram changes
        largest = max(-low, high)
        if self.edge == 0.0:
            self.edge = largest or 1.0
        while largest > self.edge:  # double the covered interval: merge neighbouring bins
            merged = self.counts.reshape(-1, 2).sum(axis=1)
            quarter = self.bins // 4
            self.counts = np.zeros_like(self.counts)
            self.counts[quarter:quarter + merged.size] = merged
            self.edge *= 2
        self.counts += np.histogram(values, bins=self.bins, range=(-self.edge, self.edge))[0]
        self.low = min(self.low, low)
        self.high = max(self.high, high)
        self.batches += 1

    def range(self) -> tuple[float, float]:
        low, high = super().range()
        cumulative = np.cumsum(self.counts) / self.counts.sum()
        tail = (100 - self.percentile) / 200  # the clipped share, split between both ends
        edges = np.linspace(-self.edge, self.edge, self.bins + 1)
        clipped_low = edges[np.searchsorted(cumulative, tail, side="right")]
        clipped_high = edges[np.searchsorted(cumulative, 1 - tail, side="left") + 1]
        return max(low, float(clipped_low)), min(high, float(clipped_high))


OBSERVERS = {"minmax": MinMaxObserver, "moving_average": MovingAverageMinMaxObserver,
             "percentile": PercentileObserver}


def make_observer(kind: str | type[Observer] = "minmax") -> Observer:
    """An observer by name (``minmax``, ``moving_average``, ``percentile``) or class."""
    if isinstance(kind, type) and issubclass(kind, Observer):
        return kind()
    if kind not in OBSERVERS:
        raise ValueError(f"unknown observer {kind!r}; choose one of {sorted(OBSERVERS)}")
    return OBSERVERS[kind]()
