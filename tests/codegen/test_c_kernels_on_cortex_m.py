"""The C kernels on emulated Cortex-M cores against the Python kernels.

On the M4 the convolutions and the fully connected layer take the DSP path
(SMLAD, SXTB16); on the M0 (the emulated stand-in for an M0+) they take the
reference path, built without the DSP extension.  Both must give the Python
kernels' bytes, with TFLite's requantization and with the bounded one the
emitter uses where it proves it exact.  Softmax has one path, run on both.
"""
import numpy as np
import pytest

from tinytorch.codegen import toolchain
from tinytorch.codegen.accumulator_bounds import bounded_rescale
from tinytorch.codegen.emulator import CortexM

from c_kernel_structs import Quantization, SoftmaxParameters, Window, rescale_bytes
from random_int8_layers import random_conv, random_fully_connected, random_softmax

KERNEL_FUNCTIONS = ["tt_conv2d", "tt_depthwise_conv2d", "tt_fully_connected", "tt_softmax"]


@pytest.fixture(scope="module", params=["cortex-m4", "cortex-m0plus"])
def core(request, codegen_build_dir):
    elf = codegen_build_dir / f"kernels-{request.param}.elf"
    if not elf.exists():
        toolchain.build_firmware(toolchain.kernel_sources(), elf, request.param,
                                 keep_symbols=KERNEL_FUNCTIONS)
    return CortexM(elf, request.param)


def place(core, array) -> int:
    return core.allocate(np.ascontiguousarray(array).tobytes())


def test_the_m4_build_has_the_dsp_path_and_the_m0_build_does_not(core):
    assert ("tt_matmul_dsp" in core.symbols) == (core.target == "cortex-m4")


@pytest.mark.parametrize("seed", range(30))
def test_conv2d_and_depthwise_on_the_core_match_python(core, seed):
    p = random_conv(np.random.default_rng(seed))
    core.release_all()
    x, weight, out_shape = p["x"], p["weight"], p["expected"].shape
    window = Window(*x.shape[1:], *out_shape[1:], *weight.shape[1:3], *p["stride"],
                    *p["dilation"], p["padding"][0], p["padding"][2])
    quantization = Quantization(p["input_zero_point"], p["output_zero_point"], p["act_min"],
                                p["act_max"], p["rounding"] == "single")
    out = core.allocate(int(np.prod(out_shape)))
    common = [place(core, bytes(window))]
    tensors = [place(core, x)]
    parameters = [place(core, p["bias"]), place(core, p["multiplier"]), place(core, p["shift"]),
                  out]
    if p["depthwise"]:
        depthwise_weight = weight[..., 0].transpose(1, 2, 0)
        core.call("tt_depthwise_conv2d", *common, place(core, bytes(quantization)), *tensors,
                  place(core, depthwise_weight), *parameters)
    else:
        scratch = core.allocate(4 * weight[0].size)
        core.call("tt_conv2d", *common, p["groups"], place(core, bytes(quantization)), *tensors,
                  place(core, weight), *parameters[:3], 0, out, scratch)
    got = np.frombuffer(core.read(out, int(np.prod(out_shape))), np.int8).reshape(out_shape)
    np.testing.assert_array_equal(got, p["expected"])


@pytest.mark.parametrize("seed", range(15))
def test_fully_connected_on_the_core_matches_python(core, seed):
    p = random_fully_connected(np.random.default_rng(seed))
    core.release_all()
    quantization = Quantization(p["input_zero_point"], p["output_zero_point"], p["act_min"],
                                p["act_max"], p["rounding"] == "single")
    out_features = p["weight"].shape[0]
    out = core.allocate(out_features)
    core.call("tt_fully_connected", p["x"].shape[1], out_features,
              place(core, bytes(quantization)), place(core, p["x"]), place(core, p["weight"]),
              place(core, p["bias"]), place(core, p["multiplier"]), place(core, p["shift"]), 0,
              out, core.allocate(2 * p["x"].shape[1]))
    got = np.frombuffer(core.read(out, out_features), np.int8).reshape(1, out_features)
    np.testing.assert_array_equal(got, p["expected"])


@pytest.mark.parametrize("seed", range(15))
def test_softmax_on_the_core_matches_python(core, seed):
    p = random_softmax(np.random.default_rng(seed))
    core.release_all()
    x = p["x"]
    out = core.allocate(x.size)
    core.call("tt_softmax", place(core, bytes(SoftmaxParameters(**p["parameters"]))),
              x.shape[0], x.shape[1], place(core, x), out)
    got = np.frombuffer(core.read(out, x.size), np.int8).reshape(x.shape)
    np.testing.assert_array_equal(got, p["expected"])


def bounded_case(kind: str, seed: int):
    """A random double-rounding convolution ("conv", groups allowed, not depthwise) or fully
    connected layer, with the emitter's bounded constants, or None where the proof fails."""
    rng = np.random.default_rng(seed)
    p = random_conv(rng) if kind == "conv" else random_fully_connected(rng)
    if p["rounding"] != "double" or p.get("depthwise"):
        return None
    rows = bounded_rescale(p["weight"], p["bias"], p["multiplier"], p["shift"],
                           p["input_zero_point"], p["output_zero_point"])
    return None if rows is None else (p, rescale_bytes(rows))


BOUNDED_SEEDS = {kind: [seed for seed in range(120) if bounded_case(kind, seed)][:15]
                 for kind in ("conv", "fc")}


@pytest.mark.parametrize("kind, seed", [(kind, seed) for kind, seeds in BOUNDED_SEEDS.items()
                                        for seed in seeds])
def test_conv2d_and_fully_connected_with_the_bounded_rescale_match_python(core, kind, seed):
    """The requantization the emitter picks where accumulator_bounds proves it exact:
    rescale given, bias, multiplier and shift null; the Python kernels' bytes."""
    p, rescale = bounded_case(kind, seed)
    core.release_all()
    quantization = Quantization(p["input_zero_point"], p["output_zero_point"], p["act_min"],
                                p["act_max"], 0)
    out_shape = p["expected"].shape
    out = core.allocate(int(np.prod(out_shape)))
    if kind == "conv":
        x, weight = p["x"], p["weight"]
        window = Window(*x.shape[1:], *out_shape[1:], *weight.shape[1:3], *p["stride"],
                        *p["dilation"], p["padding"][0], p["padding"][2])
        core.call("tt_conv2d", place(core, bytes(window)), p["groups"],
                  place(core, bytes(quantization)), place(core, x), place(core, weight), 0, 0, 0,
                  place(core, rescale), out, core.allocate(4 * weight[0].size))
    else:
        core.call("tt_fully_connected", p["x"].shape[1], out_shape[1],
                  place(core, bytes(quantization)), place(core, p["x"]), place(core, p["weight"]),
                  0, 0, 0, place(core, rescale), out, core.allocate(2 * p["x"].shape[1]))
    got = np.frombuffer(core.read(out, int(np.prod(out_shape))), np.int8).reshape(out_shape)
    np.testing.assert_array_equal(got, p["expected"])


def test_the_bounded_cases_are_many():
    assert all(len(seeds) == 15 for seeds in BOUNDED_SEEDS.values())
