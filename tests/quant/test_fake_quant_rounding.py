"""One rounding rule, half away from zero as TFLite: affine mapping, fake quantization, convert.

The reference is Python's decimal module, which rounds the exact value of a
float: ROUND_HALF_UP on |x| (ties away from zero), with x's sign put back.
"""
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.kernels.int8 import affine
from tinytorch.kernels.int8.affine import dequantize, quantize, round_half_away_from_zero
from tinytorch.quant import FakeQuantize, calibrate, convert, prepare


def reference_round(value: float) -> float:
    magnitude = Decimal(abs(float(value))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return float(magnitude) if value >= 0 else -float(magnitude)


def reference_quantize(value: float, scale: float, zero_point: int, qmin=-128, qmax=127) -> int:
    return int(min(qmax, max(qmin, reference_round(float(value) / scale) + zero_point)))


TRICKY = [
    np.nextafter(0.5, 0.0),     # 0.49999999999999994: floor(x + 0.5) gets this one wrong
    np.nextafter(0.5, 1.0),
    np.nextafter(1.5, 0.0),
    np.nextafter(-2.5, 0.0),
    2.0**52 - 0.5,              # the largest float64 tie
    2.0**52 + 1.0,              # odd integers where x + 0.5 is itself rounded
    2.0**53 - 1.0,
    -(2.0**52 + 3.0),
    1e-300, -1e-300, 0.0, -0.0,
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exact_ties_round_away_from_zero(dtype):
    x = (np.arange(-20, 20) + 0.5).astype(dtype)
    got = round_half_away_from_zero(x)
    assert got.dtype == dtype
    assert got.tolist() == [reference_round(v) for v in x]
    # Not numpy's rule: np.round sends half of these ties to the even neighbour.
    assert (got != np.round(x)).sum() == 20


def test_values_near_ties_and_large_values_round_to_the_nearest_integer():
    x = np.array(TRICKY, dtype=np.float64)
    assert round_half_away_from_zero(x).tolist() == [reference_round(v) for v in x]
    x32 = np.array([np.nextafter(np.float32(0.5), np.float32(0)), np.float32(2**23 + 1),
                    np.float32(-(2**23) + 0.5), np.float32(8388607.5)], dtype=np.float32)
    got = round_half_away_from_zero(x32)
    assert got.dtype == np.float32
    assert got.tolist() == [reference_round(v) for v in x32]


def test_random_values_at_many_magnitudes_match_the_reference():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(2000) * 10.0 ** rng.integers(-3, 9, 2000)
    assert round_half_away_from_zero(x).tolist() == [reference_round(v) for v in x]


@pytest.mark.parametrize("scale, zero_point", [(1.0, 0), (0.25, -3), (4 / 255, -64), (0.1, 127)])
def test_quantize_rounds_ties_away_from_zero_then_clamps(scale, zero_point):
    rng = np.random.default_rng(1)
    ties = (np.arange(-140, 140) + 0.5) * scale  # exact ties whenever scale is a power of two
    x = np.concatenate([ties, rng.uniform(-300, 300, 500) * scale, [1e9, -1e9]])
    q = quantize(x, scale, zero_point)
    assert q.dtype == np.int8
    assert q.tolist() == [reference_quantize(v, scale, zero_point) for v in x]


def test_quantize_per_channel_into_int32_like_a_bias():
    scales = np.array([0.5, 0.125, 2.0**-20])
    real = np.array([1.25, -0.0625, 3000.0])  # two ties and one that saturates
    q = quantize(real, scales, 0, -(2**31), 2**31 - 1, dtype=np.int32)
    assert q.dtype == np.int32
    assert q.tolist() == [reference_quantize(v, s, 0, -(2**31), 2**31 - 1)
                          for v, s in zip(real, scales)]


def test_dequantize_is_scale_times_q_minus_zero_point_and_inverts_quantize():
    q = np.arange(-128, 128, dtype=np.int8)
    for scale, zero_point in [(0.02, 5), (4 / 255, -128), (1.0, 127)]:
        real = dequantize(q, scale, zero_point)
        assert real.dtype == np.float32
        assert real.tolist() == [float(np.float32(scale * (int(v) - zero_point))) for v in q]
        np.testing.assert_array_equal(quantize(real, scale, zero_point), q)


def test_the_interpreter_doors_are_the_affine_functions():
    from tinytorch.quant import interpreter

    assert interpreter.quantize is affine.quantize and interpreter.dequantize is affine.dequantize


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fake_quantize_at_exact_ties_equals_quantize_then_dequantize(dtype):
    scale, zero_point = 0.25, 3
    x = ((np.arange(-130, 126) + 0.5) * scale).astype(dtype)  # every one a tie, some clamp
    out = FakeQuantize.apply(tinytorch.tensor(x), scale, zero_point, -128, 127).array
    assert out.dtype == dtype
    expected = [scale * (reference_quantize(v, scale, zero_point) - zero_point) for v in x]
    assert out.tolist() == expected


def test_fake_quantize_departs_from_pytorch_only_at_exact_ties():
    torch = pytest.importorskip("torch")
    scale, zero_point = 0.25, 3
    rng = np.random.default_rng(2)
    off_ties = rng.uniform(-40, 40, 1000).astype(np.float32)
    ties = ((np.arange(-130, 126) + 0.5) * scale).astype(np.float32)
    ours = {name: FakeQuantize.apply(tinytorch.tensor(x), scale, zero_point, -128, 127).array
            for name, x in (("off", off_ties), ("ties", ties))}
    theirs = {name: torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), scale, zero_point,
                                                          -128, 127).numpy()
              for name, x in (("off", off_ties), ("ties", ties))}
    np.testing.assert_array_equal(ours["off"], theirs["off"])
    # PyTorch rounds ties to even; here they go away from zero (TFLite's rule), so at a tie
    # the two differ by one step exactly where the even neighbour is the one nearer zero
    # (unless the clamp then catches both).
    level = (ties / scale).astype(np.float64)  # k + 0.5, exactly
    toward_zero = np.trunc(level)
    away = np.array([reference_round(v) for v in level])
    differ = (toward_zero % 2 == 0) & (np.clip(away + zero_point, -128, 127)
                                        != np.clip(toward_zero + zero_point, -128, 127))
    assert differ.sum() > 100
    np.testing.assert_array_equal(ours["ties"] != theirs["ties"], differ)
    np.testing.assert_array_equal(np.abs(ours["ties"] - theirs["ties"])[differ], scale)


def test_convert_rounds_weight_and_bias_ties_away_from_zero():
    model = nn.Sequential(nn.Linear(4, 1))
    # max |w| = 15.875 = 127 * 0.125: the weight scale is exactly 1/8, so these are k + 0.5 steps.
    model[0].weight.array[:] = [[15.875, 0.0625, 0.3125, -0.3125]]
    # Inputs over [0, 255/128] give the input scale 1/128, so the bias scale is 2^-10.
    model[0].bias.array[:] = [-2.5 * 2.0**-10]
    inputs = np.array([[0.0, 0.0, 0.0, 0.0], [255 / 128] * 4], dtype=np.float32)
    prepared = prepare(model, inputs)
    calibrate(prepared, [tinytorch.tensor(inputs)], show_progress=False)
    graph = convert(prepared)
    assert graph.tensor("input").scale == 1 / 128
    weight = next(t for name, t in graph.tensors.items() if name.endswith(".weight"))
    bias = next(t for name, t in graph.tensors.items() if name.endswith(".bias"))
    assert weight.data.tolist() == [[127, 1, 3, -3]]  # ties to even would give [127, 0, 2, -2]
    assert bias.data.tolist() == [-3]
