"""int8 max_pool2d / avg_pool2d against the plain TFLite-style loops of kernels/int8/pooling.py."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinytorch.kernels.int8 import avg_pool2d, max_pool2d
from tinytorch.kernels.int8.pooling import reference_avg_pool2d, reference_max_pool2d

CONFIGS = [
    # (N, H, W, C, kernel, stride, padding (top, bottom, left, right))
    (2, 6, 6, 3, (2, 2), (2, 2), (0, 0, 0, 0)),
    (1, 7, 5, 2, (3, 3), (2, 2), (1, 1, 1, 1)),
    (1, 5, 7, 4, (3, 2), (1, 2), (0, 1, 1, 0)),    # asymmetric, TFLite SAME-style
    (1, 4, 4, 1, (4, 4), (1, 1), (2, 1, 3, 0)),
    (1, 1, 1, 5, (1, 1), (1, 1), (0, 0, 0, 0)),
]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("clamp", [(-128, 127), (0, 127), (-20, 30)])
def test_matches_reference(config, clamp):
    n, h, w, c, kernel, stride, padding = config
    x = np.random.default_rng(h * 100 + w * 10 + c).integers(-128, 128, (n, h, w, c), dtype=np.int8)
    got_max = max_pool2d(x, kernel, stride, padding, *clamp)
    got_avg = avg_pool2d(x, kernel, stride, padding, *clamp)
    np.testing.assert_array_equal(got_max, reference_max_pool2d(x, kernel, stride, padding, *clamp))
    np.testing.assert_array_equal(got_avg,
                                  reference_avg_pool2d(x, kernel, stride, padding, *clamp))
    assert got_max.dtype == got_avg.dtype == np.int8


@pytest.mark.parametrize("values, expected", [
    ([[3, 0]], 2),         # 1.5: (3 + 1) / 2 = 2
    ([[-3, 0]], -2),       # -1.5: (-3 - 1) / 2 = -2, ties leave zero both ways
    ([[1, 0, 0]], 0),      # 0.33: (1 + 1) / 3 = 0
    ([[-2, 0, 0, 0]], -1),  # -0.5: (-2 - 2) / 4 = -1
    ([[2, 0, 0, 0]], 1),   # 0.5: (2 + 2) / 4 = 1
    ([[-1, 0, 0]], 0),     # -0.33: (-1 - 1) / 3 = -0.67, truncated toward zero: 0
    ([[127, 127]], 127),
    ([[-128, -127]], -128),  # -127.5: (-255 - 1) / 2 = -128
])
def test_average_rounding_by_hand(values, expected):
    x = np.array(values, dtype=np.int8)[np.newaxis, :, :, np.newaxis]
    kernel = x.shape[1:3]
    assert avg_pool2d(x, kernel)[0, 0, 0, 0] == expected
    assert reference_avg_pool2d(x, kernel, kernel, (0, 0, 0, 0))[0, 0, 0, 0] == expected


def test_padding_is_excluded_from_the_average_and_the_max():
    # A 2x2 window at the corner with padding 1 sees one value: the average is
    # that value (not a quarter of it), and padding never wins the max.
    x = np.full((1, 2, 2, 1), -100, dtype=np.int8)
    assert avg_pool2d(x, 2, 1, (1, 0, 1, 0))[0, 0, 0, 0] == -100
    assert max_pool2d(x, 2, 1, (1, 0, 1, 0))[0, 0, 0, 0] == -100


def test_all_padding_windows():
    x = np.random.default_rng(0).integers(-128, 128, (1, 2, 2, 3), dtype=np.int8)
    # Padding 2 with a 2x2 kernel, stride 2: the first window lies entirely in padding.
    out = max_pool2d(x, 2, 2, (2, 0, 2, 0), act_min=-50, act_max=127)
    np.testing.assert_array_equal(out[0, 0, 0], [-50, -50, -50])  # -128 before the clamp
    np.testing.assert_array_equal(out,
                                  reference_max_pool2d(x, (2, 2), (2, 2), (2, 0, 2, 0), -50, 127))
    # With the full int8 range as the clamp, the empty window is -128, as is a
    # window of nothing but -128 (the starting value must not be above it).
    np.testing.assert_array_equal(max_pool2d(x, 2, 2, (2, 0, 2, 0))[0, 0, 0], [-128] * 3)
    lowest = np.full((1, 2, 2, 1), -128, dtype=np.int8)
    assert max_pool2d(lowest, 2)[0, 0, 0, 0] == -128
    with pytest.raises(ValueError, match=r"int8 avg_pool2d: some windows cover only padding "
                                         r"\(output rows \[0\], columns \[0\]\)"):
        avg_pool2d(x, 2, 2, (2, 0, 2, 0))


def test_average_is_within_half_a_step_of_the_true_mean():
    x = np.random.default_rng(3).integers(-128, 128, (2, 6, 6, 4), dtype=np.int8)
    out = avg_pool2d(x, 3, 3)
    mean = x.astype(np.float64).reshape(2, 2, 3, 2, 3, 4).mean(axis=(2, 4))
    assert np.abs(out - mean).max() <= 0.5


@st.composite
def pool_problems(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    # Padding below the kernel size keeps every window on the input, as PyTorch requires.
    padding = (draw(st.integers(0, kernel[0] - 1)), draw(st.integers(0, kernel[0] - 1)),
               draw(st.integers(0, kernel[1] - 1)), draw(st.integers(0, kernel[1] - 1)))
    height = draw(st.integers(max(1, kernel[0] - padding[0] - padding[1]), 6))
    width = draw(st.integers(max(1, kernel[1] - padding[2] - padding[3]), 6))
    channels = draw(st.integers(1, 3))
    clamp = draw(st.sampled_from([(-128, 127), (0, 127), (-10, 10)]))
    seed = draw(st.integers(0, 2**32 - 1))
    return kernel, stride, padding, height, width, channels, clamp, seed


@settings(max_examples=80, deadline=None, derandomize=True)
@given(pool_problems())
def test_random_problems_match_reference(problem):
    kernel, stride, padding, height, width, channels, clamp, seed = problem
    x = np.random.default_rng(seed).integers(-128, 128, (1, height, width, channels), dtype=np.int8)
    np.testing.assert_array_equal(max_pool2d(x, kernel, stride, padding, *clamp),
                                  reference_max_pool2d(x, kernel, stride, padding, *clamp))
    np.testing.assert_array_equal(avg_pool2d(x, kernel, stride, padding, *clamp),
                                  reference_avg_pool2d(x, kernel, stride, padding, *clamp))


def test_arguments():
    x = np.zeros((1, 4, 4, 2), dtype=np.int8)
    assert max_pool2d(x, 2).shape == (1, 2, 2, 2)              # stride defaults to kernel
    assert avg_pool2d(x, (1, 2), 1, (0, 1)).shape == (1, 4, 5, 2)  # (h, w) padding
    with pytest.raises(TypeError, match="int8 max_pool2d: x must have dtype int8"):
        max_pool2d(x.astype(np.uint8), 2)
    with pytest.raises(ValueError, match="kernel must be a positive int"):
        avg_pool2d(x, 0)
    with pytest.raises(ValueError, match="act_min <= act_max"):
        max_pool2d(x, 2, act_min=1, act_max=0)
    with pytest.raises(ValueError, match="does not fit"):
        avg_pool2d(x, 5)
