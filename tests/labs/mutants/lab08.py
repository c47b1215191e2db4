"""Near-solutions of lab 08 (tinytorch.app.labs.mutation): each must fail a graded test."""
from tinytorch.app.labs.mutation import Mutant

MUTANTS = [
    Mutant("activation_qparams does not widen the range to contain 0", "tinytorch/quant/observers.py",
           "activation_qparams", """
low, high = float(low), float(high)
scale = (high - low) / (QMAX - QMIN) if high > low else 1.0
scale = float(np.float32(scale))
zero_point = int(np.clip(round(QMIN - low / scale), QMIN, QMAX))
return scale, zero_point
"""),
    Mutant("weight_qparams takes each channel's largest value instead of its largest magnitude",
           "tinytorch/quant/observers.py", "weight_qparams", """
largest = weight.reshape(weight.shape[0], -1).max(axis=1).astype(np.float64)
largest[largest == 0] = 2 ** (bits - 1) - 1
return (largest / (2 ** (bits - 1) - 1)).astype(np.float32).astype(np.float64)
"""),
    Mutant("_columns_in_nhwc_order transposes to [W, H, C] instead of [H, W, C]",
           "tinytorch/quant/convert.py", "_columns_in_nhwc_order", """
channels, height, width = image_shape
out_features = weight.shape[0]
return (weight.reshape(out_features, channels, height, width)
        .transpose(0, 3, 2, 1).reshape(out_features, -1))
"""),
    Mutant("FakeQuantize's forward forgets to subtract the zero point when mapping back to float",
           "tinytorch/quant/fake_quant.py", "FakeQuantize.forward", """
low = scale * (qmin - zero_point)
high = scale * (qmax - zero_point)
ctx.save_for_backward((x >= low) & (x <= high))
q = np.clip(round_half_away_from_zero(x / scale) + zero_point, qmin, qmax)
return (scale * q).astype(x.dtype)
"""),
    Mutant("FakeQuantize's forward leaves the ends of the range out of the straight-through "
           "mask (strict inequalities)", "tinytorch/quant/fake_quant.py", "FakeQuantize.forward", """
low = scale * (qmin - zero_point)
high = scale * (qmax - zero_point)
ctx.save_for_backward((x > low) & (x < high))
q = np.clip(round_half_away_from_zero(x / scale) + zero_point, qmin, qmax)
return (scale * (q - zero_point)).astype(x.dtype)
"""),
    Mutant("FakeQuantize's backward passes the gradient everywhere, clamped values included",
           "tinytorch/quant/fake_quant.py", "FakeQuantize.backward", """
return grad, None, None, None, None
"""),
]
