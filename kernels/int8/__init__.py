"""Int8 kernels: TFLite / CMSIS-NN integer arithmetic, bit-exact, on plain numpy arrays.

Every function takes int8 activations (NHWC), int8 weights (``[out, kh, kw,
in / groups]`` or ``[out, in]``), int32 biases and explicit quantization
parameters (zero points, per-channel multipliers and shifts, the activation
clamp), so parameters read from a .tflite file or computed by
``tinytorch.quant`` can be passed straight in.  Read the files in this order:

1. ``affine.py``           real = scale * (q - zero_point); the one rounding rule
2. ``requantize.py``       real multipliers as (int32, shift); the integer rescale
3. ``checks.py``           the argument checks every public function runs first
4. ``fully_connected.py``  the simplest layer: a dot product, then requantize
5. ``conv2d.py``           the same over sliding windows; groups and depthwise
6. ``conv2d_fast.py``      conv2d's loops rearranged for the machine (planes, rows)
7. ``pooling.py``          max and average pooling, no requantization needed
8. ``add.py``              adding two tensors that have different scales
9. ``softmax.py``          probabilities: exp and division in fixed point

Each file with arithmetic of its own (``requantize.py`` and the op files)
opens with the plain version: TFLite's reference C++ written out as Python
loops on Python ints, in functions named ``reference_*``.  That version is
the definition, and the oracle the tests compare the fast version with; the
fast version follows it in the same file (for the convolution, in
``conv2d_fast.py``).

Importing compiles nothing; Numba compiles each kernel on its first call (and
caches it on disk).
"""
from .add import add, add_parameters
from .affine import dequantize, quantize, round_half_away_from_zero
from .conv2d import conv2d
from .fully_connected import fully_connected
from .pooling import avg_pool2d, max_pool2d
from .requantize import multiply_by_quantized_multiplier, quantize_multiplier
from .softmax import softmax, softmax_parameters

__all__ = ["add", "add_parameters", "avg_pool2d", "conv2d", "dequantize", "fully_connected",
           "max_pool2d", "multiply_by_quantized_multiplier", "quantize", "quantize_multiplier",
           "round_half_away_from_zero", "softmax", "softmax_parameters"]
