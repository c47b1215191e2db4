"""Quantization-aware training: the fake quantizer, its straight-through gradient, and what it buys."""
import numpy as np

import tinytorch
from tinytorch import nn, optim
from tinytorch.autograd.gradcheck import gradcheck
from tinytorch.quant import FakeQuantize, Int8Interpreter, calibrate, convert, prepare, prepare_qat
from tinytorch.quant.interpreter import dequantize, quantize
from tinytorch.training import train_epoch
from tinytorch.utils.data import DataLoader, TensorDataset


def test_fake_quantize_is_quantize_then_dequantize():
    x = np.linspace(-3, 3, 101)
    out = FakeQuantize.apply(tinytorch.tensor(x), 0.05, 7, -128, 127).array
    # Away from ties; test_fake_quant_rounding.py checks that both round ties the same way.
    np.testing.assert_allclose(out, dequantize(quantize(x, 0.05, 7), 0.05, 7), atol=1e-12)


def test_straight_through_gradient_is_one_inside_the_range_and_zero_outside():
    x = tinytorch.tensor(np.array([-10.0, -0.3, 0.0, 0.26, 10.0]), requires_grad=True)
    FakeQuantize.apply(x, 0.01, 0, -128, 127).sum().backward()
    assert x.grad.array.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_straight_through_gradient_matches_the_identity_away_from_steps():
    # Central differences see the staircase; between steps, with a fine grid, the STE's
    # identity gradient is what the derivative of the un-rounded map would be.
    x = tinytorch.tensor(np.array([0.1234, -0.4567]), requires_grad=True)
    assert gradcheck(lambda t: FakeQuantize.apply(t, 1e-12, 0, -2**62, 2**62), (x,),
                     eps=1e-6, atol=1e-4)


def test_qat_recovers_at_least_half_of_what_4_bit_ptq_loses(trained_cnn, digits):
    train_images, train_labels, test_images, test_labels = digits
    model = trained_cnn.model
    loader = DataLoader(TensorDataset(tinytorch.tensor(train_images), tinytorch.tensor(train_labels)),
                        batch_size=32, shuffle=True)

    def int8_accuracy(prepared):
        return (Int8Interpreter(convert(prepared)).predict(test_images) == test_labels).mean()

    ptq = prepare(model, train_images[:1], weight_bits=4)
    calibrate(ptq, loader, num_batches=None, show_progress=False)
    ptq_accuracy = int8_accuracy(ptq)
    lost = trained_cnn.test_accuracy - ptq_accuracy
    assert lost > 0, "4-bit PTQ lost nothing: this test would prove nothing"

    tinytorch.manual_seed(0)
    qat = prepare_qat(model, train_images[:256], weight_bits=4)
    optimizer = optim.SGD(qat.parameters(), lr=0.01, momentum=0.9)
    for _ in range(2):
        train_epoch(qat, loader, nn.CrossEntropyLoss(), optimizer, show_progress=False)
    recovered = int8_accuracy(qat) - ptq_accuracy
    assert recovered >= lost / 2, (trained_cnn.test_accuracy, ptq_accuracy, ptq_accuracy + recovered)


def test_qat_leaves_the_float_model_untouched(trained_cnn, digits):
    before = {k: v.array.copy() for k, v in trained_cnn.model.state_dict().items()}
    qat = prepare_qat(trained_cnn.model, digits[0][:64], weight_bits=4)
    loss = nn.CrossEntropyLoss()(qat(tinytorch.tensor(digits[0][:64])),
                                 tinytorch.tensor(digits[1][:64]))
    loss.backward()
    optim.SGD(qat.parameters(), lr=0.1).step()
    for key, value in trained_cnn.model.state_dict().items():
        np.testing.assert_array_equal(value.array, before[key], err_msg=key)
