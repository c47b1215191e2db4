"""int8 fully_connected against the plain TFLite-style loops of kernels/int8/fully_connected.py."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinytorch.kernels.int8 import fully_connected, quantize_multiplier
from tinytorch.kernels.int8.fully_connected import reference_fully_connected


def make_case(rng, batches, in_features, out_features, per_channel=True, scale_range=(1e-4, 0.02)):
    x = rng.integers(-128, 128, (batches, in_features), dtype=np.int8)
    weight = rng.integers(-127, 128, (out_features, in_features), dtype=np.int8)
    bias = rng.integers(-30000, 30000, out_features, dtype=np.int32)
    count = out_features if per_channel else 1
    pairs = [quantize_multiplier(s) for s in rng.uniform(*scale_range, count)]
    multiplier = np.array([m for m, _ in pairs], dtype=np.int32)
    shift = np.array([s for _, s in pairs], dtype=np.int32)
    if not per_channel:
        multiplier, shift = int(multiplier[0]), int(shift[0])
    zero_in, zero_out = (int(v) for v in rng.integers(-128, 128, 2))
    return x, weight, bias, zero_in, zero_out, multiplier, shift


def check(case, act_min=-128, act_max=127, rounding="double"):
    x, weight, bias, zero_in, zero_out, multiplier, shift = case
    got = fully_connected(*case, act_min=act_min, act_max=act_max, rounding=rounding)
    out_features = weight.shape[0]
    multiplier = np.broadcast_to(multiplier, (out_features,))
    shift = np.broadcast_to(shift, (out_features,))
    expected = reference_fully_connected(x, weight, bias, zero_in, zero_out, multiplier, shift,
                                         act_min, act_max, rounding == "single")
    assert got.dtype == np.int8 and got.shape == (x.shape[0], out_features)
    np.testing.assert_array_equal(got, expected)
    return got


@pytest.mark.parametrize("rounding", ["double", "single"])
@pytest.mark.parametrize("batches, in_features, out_features, per_channel", [
    (1, 1, 1, True), (3, 16, 10, True), (4, 64, 7, False), (2, 33, 5, True)])
def test_matches_reference(batches, in_features, out_features, per_channel, rounding):
    rng = np.random.default_rng(batches * 1000 + in_features * 10 + out_features)
    check(make_case(rng, batches, in_features, out_features, per_channel), rounding=rounding)


def test_bias_none_equals_zero_bias_and_relu_clamp():
    rng = np.random.default_rng(1)
    x, weight, bias, zero_in, zero_out, multiplier, shift = make_case(rng, 3, 20, 6)
    without = fully_connected(x, weight, None, zero_in, zero_out, multiplier, shift)
    zeros = fully_connected(x, weight, np.zeros(6, dtype=np.int32), zero_in, zero_out,
                            multiplier, shift)
    np.testing.assert_array_equal(without, zeros)
    relu = check((x, weight, bias, zero_in, zero_out, multiplier, shift), act_min=zero_out)
    assert relu.min() >= zero_out


def test_identity_requantization_gives_the_integer_matmul():
    # multiplier 2**30 with shift 1 is exactly 1.0: the output is x @ W.T + b itself.
    rng = np.random.default_rng(2)
    x = rng.integers(-5, 6, (4, 9), dtype=np.int8)
    weight = rng.integers(-3, 4, (5, 9), dtype=np.int8)
    bias = rng.integers(-10, 10, 5, dtype=np.int32)
    out = fully_connected(x, weight, bias, -2, 3, 1 << 30, 1)
    expected = (x.astype(np.int64) + 2) @ weight.T.astype(np.int64) + bias + 3
    assert np.abs(expected).max() < 128
    np.testing.assert_array_equal(out, expected)


def test_int32_edges_wrap_like_the_c():
    # x equal to its zero point makes the sum 0, so acc = bias = INT32_MIN.  With the
    # multiplier INT32_MIN (a real of -1.0, allowed with double rounding) the rescale
    # saturates to INT32_MAX; adding the output zero point 1 then wraps in int32, as
    # in the C, to INT32_MIN, and the clamp gives -128 (not 127).  Second channel: the
    # left shift by 1 wraps INT32_MAX to -2, and -2 * 0.5 = -1; plus 1 gives 0.
    x = np.full((1, 4), 7, dtype=np.int8)
    weight = np.ones((2, 4), dtype=np.int8)
    bias = np.array([-2**31, 2**31 - 1], dtype=np.int32)
    multiplier = np.array([-2**31, 1 << 30], dtype=np.int32)
    shift = np.array([0, 1], dtype=np.int32)
    out = fully_connected(x, weight, bias, 7, 1, multiplier, shift)
    np.testing.assert_array_equal(out, [[-128, 0]])
    check((x, weight, bias, 7, 1, multiplier, shift))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(1, 3), st.integers(1, 40), st.integers(1, 8), st.booleans(),
       st.sampled_from(["double", "single"]), st.integers(0, 2**32 - 1),
       st.sampled_from([(-128, 127), (0, 127), (-3, 3)]))
def test_random_problems_match_reference(batches, in_features, out_features, per_channel,
                                          rounding, seed, clamp):
    rng = np.random.default_rng(seed)
    case = make_case(rng, batches, in_features, out_features, per_channel, scale_range=(1e-5, 0.5))
    check(case, *clamp, rounding=rounding)


def test_errors_name_the_op_and_the_shapes():
    x = np.zeros((2, 8), dtype=np.int8)
    weight = np.zeros((3, 7), dtype=np.int8)
    with pytest.raises(ValueError, match="int8 fully_connected: weight has 7 input features "
                                         "but x has 8"):
        fully_connected(x, weight, None, 0, 0, 1 << 30, 0)
    weight = np.zeros((3, 8), dtype=np.int8)
    with pytest.raises(TypeError, match="weight must have dtype int8, got int32"):
        fully_connected(x, weight.astype(np.int32), None, 0, 0, 1 << 30, 0)
    with pytest.raises(TypeError, match="bias must be an int32"):
        fully_connected(x, weight, np.zeros(3, dtype=np.float32), 0, 0, 1 << 30, 0)
    with pytest.raises(ValueError, match=r"shape \(3,\) \(one per output channel\)"):
        fully_connected(x, weight, None, 0, 0, np.ones(2, dtype=np.int32), 0)
    with pytest.raises(ValueError, match="2 dimensions"):
        fully_connected(x[0], weight, None, 0, 0, 1 << 30, 0)
    with pytest.raises(ValueError, match="rounding must be"):
        fully_connected(x, weight, None, 0, 0, 1 << 30, 0, rounding="nearest")
