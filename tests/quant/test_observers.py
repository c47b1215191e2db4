"""Observers: the ranges they learn and the quantization parameters those ranges give."""
import numpy as np
import pytest

import tinytorch.quant
from tinytorch.quant.interpreter import dequantize, quantize
from tinytorch.quant.observers import (OBSERVERS, MinMaxObserver, MovingAverageMinMaxObserver,
                                       PercentileObserver, activation_qparams, make_observer,
                                       weight_qparams)


def test_min_max_observer_keeps_the_extremes_of_all_batches():
    observer = MinMaxObserver()
    for batch in ([0.5, -1.0], [3.0, 0.1], [-0.2]):
        observer.observe(np.array(batch))
    assert observer.range() == (-1.0, 3.0)


def test_moving_average_follows_the_exponential_average():
    observer = MovingAverageMinMaxObserver(averaging_constant=0.5)
    observer.observe(np.array([-2.0, 2.0]))
    observer.observe(np.array([0.0, 4.0]))
    assert observer.range() == (-1.0, 3.0)  # halfway from the first batch to the second


def test_percentile_observer_clips_a_rare_outlier_but_keeps_the_bulk():
    rng = np.random.default_rng(0)
    observer = PercentileObserver(percentile=99.9)
    for _ in range(5):
        observer.observe(rng.uniform(-1, 1, 10_000))
    observer.observe(np.array([50.0]))  # one value in 50,001, and it widens the bins
    low, high = observer.range()
    assert -1.05 < low < -0.95 and 0.95 < high < 1.1
    min_max = MinMaxObserver()
    min_max.observe(np.array([50.0, -1.0]))
    assert min_max.range()[1] == 50.0


def test_percentile_observer_range_is_the_percentile_of_the_values():
    # 100,001 evenly spaced values on [-1, 1]; 99% kept leaves 0.5% out at each end.
    values = np.linspace(-1.0, 1.0, 100_001)
    observer = PercentileObserver(percentile=99.0, bins=2000)
    observer.observe(values)
    low, high = observer.range()
    expected_low, expected_high = np.percentile(values, [0.5, 99.5])
    bin_width = 2.0 / 2000
    assert abs(low - expected_low) <= bin_width and abs(high - expected_high) <= bin_width


def test_observers_by_name_the_percentile_one_is_called_percentile():
    assert sorted(OBSERVERS) == ["minmax", "moving_average", "percentile"]
    assert type(make_observer("percentile")) is PercentileObserver
    assert type(make_observer(PercentileObserver)) is PercentileObserver
    # PyTorch's HistogramObserver minimises the L2 error instead: the name is not reused.
    with pytest.raises(ValueError, match="unknown observer"):
        make_observer("histogram")
    assert not hasattr(tinytorch.quant, "HistogramObserver")


def test_an_observer_without_data_says_to_calibrate():
    with pytest.raises(RuntimeError, match="calibrat"):
        MinMaxObserver().qparams()
    with pytest.raises(ValueError, match="unknown observer"):
        make_observer("median")


@pytest.mark.parametrize("low, high", [(-1.0, 3.0), (0.0, 6.0), (-4.0, -1.0), (0.5, 2.0),
                                       (-0.001, 1000.0), (0.0, 0.0)])
def test_activation_qparams_make_zero_exact_and_cover_the_range(low, high):
    scale, zero_point = activation_qparams(low, high)
    assert -128 <= zero_point <= 127
    assert dequantize(np.array([zero_point]), scale, zero_point)[0] == 0.0
    values = np.array([min(low, 0.0), max(high, 0.0)])
    # Both ends of the range are representable within half a step.
    np.testing.assert_allclose(dequantize(quantize(values, scale, zero_point), scale, zero_point),
                               values, atol=scale / 2 + 1e-6 * max(1.0, abs(high)))


def test_quantize_rounds_half_away_from_zero_and_saturates():
    q = quantize(np.array([0.5, -0.5, 1.5, -1.5, 1000.0, -1000.0]), 1.0, 0)
    assert q.tolist() == [1, -1, 2, -2, 127, -128]


def test_weight_scales_are_per_channel_and_symmetric():
    weight = np.array([[0.5, -1.27], [0.0, 0.0], [0.1, 0.2]])
    np.testing.assert_allclose(weight_qparams(weight), [0.01, 1.0, 0.2 / 127], rtol=1e-6)
    np.testing.assert_allclose(weight_qparams(weight, bits=4), [1.27 / 7, 1.0, 0.2 / 7], rtol=1e-6)
    with pytest.raises(ValueError, match="bits"):
        weight_qparams(weight, bits=9)
