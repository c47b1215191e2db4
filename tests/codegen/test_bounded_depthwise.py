"""The bounded depthwise kernel: the emitter's proof, the shortened requantization, the bytes.

tt_depthwise_conv2d_bounded requantizes with per-channel constants that the
code generator (accumulator_bounds.bounded_rescale) prepares only after
proving that every accumulator of the layer is small.  These tests check the
identity behind it in Python, the proof at its boundary, the kernel against
the Python kernels on random depthwise layers (host reference C, emulated
Cortex-M4 DSP path, emulated M0), and that the emitter picks it exactly when
it applies and falls back otherwise.
"""
import ctypes

import numpy as np
import pytest

from tinytorch.codegen import toolchain
from tinytorch.codegen.deploy import CoreModel, HostModel, build_model
from tinytorch.codegen.accumulator_bounds import bounded_rescale
from tinytorch.codegen.emitter import generate_model
from tinytorch.codegen.emulator import CortexM
from tinytorch.codegen.example_graphs import GraphBuilder
from tinytorch.kernels import int8 as kernels
from tinytorch.kernels.int8.requantize import quantize_multiplier, requantize
from tinytorch.quant import Int8Interpreter

from c_kernel_structs import Quantization, Window, rescale_bytes


def bounded_in_python(acc, row, act_min=-128, act_max=127):
    """requantize.h's tt_requantize_bounded with Python integers (no wrapping: proven)."""
    _, multiplier, offset, left_shift, right_shift = row
    scaled = acc << left_shift
    assert -2**31 <= scaled < 2**31
    high = (scaled * multiplier + 2**31) >> 32  # SMMULR
    return min(max((2 * high + offset + (high >> 31)) >> right_shift, act_min), act_max)


def random_depthwise(rng, realistic=True):
    """A depth-multiplier-1 depthwise layer, double rounding, with its expected output."""
    kernel = (3, 3) if rng.random() < 0.6 else tuple(int(v) for v in rng.integers(1, 4, 2))
    stride = [(1, 1), (2, 2), (1, 2)][int(rng.integers(0, 3))]
    dilation = (2, 2) if rng.random() < 0.15 else (1, 1)
    padding = tuple(int(v) for v in rng.integers(0, 3, 4))
    channels = int(rng.choice([1, 2, 3, 4, 5, 7, 8, 12, 13]))
    height = max(int(rng.integers(1, 9)), dilation[0] * (kernel[0] - 1) + 1)
    width = max(int(rng.integers(1, 9)), dilation[1] * (kernel[1] - 1) + 1)
    x = rng.integers(-128, 128, (1, height, width, channels)).astype(np.int8)
    weight = rng.integers(-127, 128, (channels, *kernel, 1)).astype(np.int8)
    if realistic:
        bias = rng.integers(-2**int(rng.integers(4, 21)), 2**20, channels).astype(np.int32)
        pairs = [quantize_multiplier(float(rng.uniform(1e-4, 0.5) * 2.0 ** rng.integers(-6, 4)))
                 for _ in range(channels)]
    else:  # any legal pair, larger biases: the proof fails more often
        bias = rng.integers(-2**int(rng.integers(0, 29)), 2**28, channels).astype(np.int32)
        pairs = [(int(rng.integers(0, 2**31)), int(rng.integers(-31, 8)))
                 for _ in range(channels)]
    multiplier = np.array([m for m, _ in pairs], dtype=np.int32)
    shift = np.array([s for _, s in pairs], dtype=np.int32)
    input_zero_point, output_zero_point = (int(v) for v in rng.integers(-128, 128, 2))
    act_min, act_max = (-128, 127) if rng.random() < 0.4 else (
        output_zero_point, int(rng.integers(output_zero_point, 128)))
    expected = kernels.conv2d(x, weight, bias, input_zero_point, output_zero_point, multiplier,
                              shift, stride, padding, dilation, channels, act_min, act_max,
                              "double")
    rows = bounded_rescale(weight, bias, multiplier, shift, input_zero_point, output_zero_point)
    window = Window(height, width, channels, *expected.shape[1:], *kernel, *stride, *dilation,
                    padding[0], padding[2])
    quantization = Quantization(input_zero_point, output_zero_point, act_min, act_max, 0)
    return dict(x=x, weight=np.ascontiguousarray(weight[..., 0].transpose(1, 2, 0)), rows=rows,
                window=window, quantization=quantization, expected=expected,
                general=(bias, multiplier, shift))


def every_tie_case(output_zero_point=-3):
    """A 1x1 layer whose outputs hit every rounding tie: weight 1, bias 0, multiplier
    0.5 (so h = round(x / 2)), right shifts 0..7 on channels 0..7, x over all of int8."""
    x = np.arange(-128, 128, dtype=np.int64).astype(np.int8)
    x = np.repeat(x, 8).reshape(1, 16, 16, 8)
    weight = np.ones((8, 1, 1, 1), dtype=np.int8)
    bias = np.zeros(8, np.int32)
    multiplier = np.full(8, 2**30, np.int32)
    shift = -np.arange(8, dtype=np.int32)
    expected = kernels.conv2d(x, weight, bias, 0, output_zero_point, multiplier, shift,
                              groups=8, rounding="double")
    rows = bounded_rescale(weight, bias, multiplier, shift, 0, output_zero_point)
    return dict(x=x, weight=np.ascontiguousarray(weight[..., 0].transpose(1, 2, 0)), rows=rows,
                window=Window(16, 16, 8, 16, 16, 8, 1, 1, 1, 1, 1, 1, 0, 0),
                quantization=Quantization(0, output_zero_point, -128, 127, 0),
                expected=expected)


def run_on_host(library, case):
    out = np.zeros(case["expected"].shape, dtype=np.int8)
    rescale = rescale_bytes(case["rows"])
    library.tt_depthwise_conv2d_bounded(
        ctypes.byref(case["window"]), ctypes.byref(case["quantization"]),
        case["x"].ctypes.data_as(ctypes.c_void_p), case["weight"].ctypes.data_as(ctypes.c_void_p),
        rescale.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p))
    return out


def test_the_shortened_requantization_equals_tflite_double_rounding():
    rng = np.random.default_rng(0)
    for trial in range(300):
        shift = int(rng.integers(-31, 8))
        multiplier = int(rng.integers(0, 2**31)) if trial % 3 else quantize_multiplier(
            float(rng.uniform(0.01, 0.99)) * 2.0**shift)[0]
        zero_point = int(rng.integers(-128, 128))
        reach = 2**int(rng.integers(0, 31 - max(shift, 0)))
        rows = bounded_rescale([[0]], [0], [multiplier], [shift], 0, zero_point)
        if rows is None:
            continue
        accumulators = np.concatenate([rng.integers(-reach, reach, 200), [-reach, reach - 1],
                                       rng.integers(-40, 40, 40)])
        if trial < 16:  # multiplier 0.5, small shifts, every residue: every tie
            multiplier, shift = 2**30, -(trial % 8)
            rows = bounded_rescale([[0]], [0], [multiplier], [shift], 0, zero_point)
            accumulators = np.arange(-600, 600)
        for acc in accumulators:
            acc = int(acc)
            if not -2**30 <= acc << max(shift, 0) < 2**30:
                continue
            assert bounded_in_python(acc, rows[0]) == requantize(
                acc, multiplier, shift, zero_point, -128, 127, False), (acc, multiplier, shift)


def test_the_proof_holds_up_to_its_boundary_and_not_beyond():
    # One 1x1 channel with weight 1 and input zero point 0: the accumulator is
    # bias + x, x in [-128, 127], so the reach is 128.
    multiplier, shift = quantize_multiplier(0.3)
    ok = bounded_rescale([[1]], [2**30 - 1 - 128], [multiplier], [shift], 0, 0)
    assert ok is not None
    assert bounded_rescale([[1]], [2**30 - 128], [multiplier], [shift], 0, 0) is None
    assert bounded_rescale([[1]], [-2**30 + 128], [multiplier], [shift], 0, 0) is not None
    assert bounded_rescale([[1]], [-2**30 + 127], [multiplier], [shift], 0, 0) is None
    # A positive shift shifts the range left: the limit halves per bit.
    big_multiplier, big_shift = quantize_multiplier(3.0)
    assert big_shift == 2
    assert bounded_rescale([[1]], [2**28 - 129], [big_multiplier], [big_shift], 0, 0) is not None
    assert bounded_rescale([[1]], [2**28 - 128], [big_multiplier], [big_shift], 0, 0) is None
    # At the very end of the proven range the shortened form still equals TFLite's.
    for acc in (2**30 - 1, 2**30 - 129, -2**30, -2**30 + 128):
        for zero_point in (-128, 0, 127):
            rows = bounded_rescale([[1]], [0], [multiplier], [shift], 0, zero_point)
            assert bounded_in_python(acc, rows[0]) == requantize(
                acc, multiplier, shift, zero_point, -128, 127, False)
    # Negative multipliers and shifts past 30 either way are never proven.
    assert bounded_rescale([[1]], [0], [-5], [0], 0, 0) is None
    assert bounded_rescale([[0]], [0], [2**30], [31], 0, 0) is None
    assert bounded_rescale([[1]], [0], [2**30], [-31], 0, 0) is None


def test_realistic_layers_are_almost_always_proven():
    rng = np.random.default_rng(11)
    proven = sum(random_depthwise(rng)["rows"] is not None for _ in range(50))
    assert proven >= 45


@pytest.mark.parametrize("seed", range(60))
def test_bounded_depthwise_on_the_host_matches_python(host_kernels, seed):
    rng = np.random.default_rng(seed)
    case = random_depthwise(rng, realistic=seed % 4 != 3)
    if case["rows"] is None:
        # The emitter's proof fails: the layer runs through tt_depthwise_conv2d.
        out = np.zeros(case["expected"].shape, dtype=np.int8)
        pointer = lambda array: array.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
        host_kernels.tt_depthwise_conv2d(
            ctypes.byref(case["window"]), ctypes.byref(case["quantization"]),
            pointer(case["x"]), pointer(case["weight"]), *map(pointer, case["general"]),
            pointer(out))
    else:
        out = run_on_host(host_kernels, case)
    np.testing.assert_array_equal(out, case["expected"])


def test_every_rounding_tie_on_the_host_matches_python(host_kernels):
    case = every_tie_case()
    np.testing.assert_array_equal(run_on_host(host_kernels, case), case["expected"])


@pytest.fixture(scope="module", params=["cortex-m4", "cortex-m0plus"])
def core(request, codegen_build_dir):
    elf = codegen_build_dir / f"bounded-depthwise-{request.param}.elf"
    if not elf.exists():
        toolchain.build_firmware(toolchain.kernel_sources(), elf, request.param,
                                 keep_symbols=["tt_depthwise_conv2d_bounded"])
    return CortexM(elf, request.param)


@pytest.mark.parametrize("seed", range(26))
def test_bounded_depthwise_on_emulated_cores_matches_python(core, seed):
    case = every_tie_case() if seed == 25 else random_depthwise(np.random.default_rng(100 + seed))
    assert case["rows"] is not None, "realistic layers are proven (see the test above)"
    core.release_all()
    out_size = case["expected"].size
    out = core.allocate(out_size)
    core.call("tt_depthwise_conv2d_bounded", core.allocate(bytes(case["window"])),
              core.allocate(bytes(case["quantization"])), core.allocate(case["x"].tobytes()),
              core.allocate(case["weight"].tobytes()),
              core.allocate(rescale_bytes(case["rows"]).tobytes()), out)
    got = np.frombuffer(core.read(out, out_size), np.int8).reshape(case["expected"].shape)
    np.testing.assert_array_equal(got, case["expected"])


def depthwise_graph(rng, rounding="double", multiplier=1, channels=6, stride=(1, 1),
                    bias_scale=None):
    g = GraphBuilder("dw", (1, 7, 5, channels), rng, rounding)
    g.depthwise("dw", stride=stride, multiplier=multiplier)
    graph = g.build()
    if bias_scale is not None:  # a bias near the int32 limit: no proof possible
        graph.tensor("dw.bias").data[:] = bias_scale
    return graph


SELECTION = {
    "3x3 stride 1": (dict(), "tt_depthwise_conv2d_bounded"),
    "3x3 stride 2, 7 channels": (dict(stride=(2, 2), channels=7), "tt_depthwise_conv2d_bounded"),
    "depth multiplier 2": (dict(multiplier=2), "tt_depthwise_conv2d("),
    "single rounding": (dict(rounding="single"), "tt_depthwise_conv2d("),
    "huge bias": (dict(bias_scale=2**31 - 1), "tt_depthwise_conv2d("),
}


@pytest.mark.parametrize("name", list(SELECTION))
def test_the_emitter_selects_the_bounded_kernel_only_where_proven(codegen_build_dir, name):
    options, kernel = SELECTION[name]
    graph = depthwise_graph(np.random.default_rng(5), **options)
    generated = generate_model(graph)
    calls = [line for line in generated.source.splitlines() if "tt_depthwise" in line]
    assert len(calls) == 1 and kernel in calls[0]
    inputs = np.random.default_rng(6).integers(-128, 128, (20, 7, 5, 6 if "7" not in name else 7)
                                               ).astype(np.int8)
    expected = Int8Interpreter(graph).invoke(inputs)
    directory = codegen_build_dir / "bounded" / name.replace(" ", "_").replace(",", "")
    library = build_model(generated, directory / "host", "host")
    np.testing.assert_array_equal(HostModel(library, generated, graph)(inputs), expected)
    elf = build_model(generated, directory / "m4", "cortex-m4")
    np.testing.assert_array_equal(CoreModel(elf, "cortex-m4", generated, graph)(inputs[:2]),
                                  expected[:2])
