"""nn: Module bookkeeping, layers, losses and their gradients."""
import math

import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.autograd import gradcheck
from tinytorch.nn import functional as F


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 8)
        self.out = nn.Linear(8, 3)
        self.register_buffer("calls", tinytorch.zeros(()))
        self.scale = 2.0  # a plain attribute: not a parameter, not in state_dict

    def forward(self, x):
        return self.out(F.relu(self.hidden(x))) * self.scale


def test_registration_names_follow_pytorch():
    model = TwoLayer()
    assert [name for name, _ in model.named_parameters()] == [
        "hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert list(model.state_dict()) == [
        "calls", "hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert [name for name, _ in model.named_children()] == ["hidden", "out"]
    assert [name for name, _ in model.named_modules()] == ["", "hidden", "out"]
    assert "scale" not in model.state_dict()


def test_sequential_state_dict_keys_and_indexing():
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert isinstance(model[1], nn.ReLU) and isinstance(model[-1], nn.Linear)
    assert len(model[:2]) == 2
    with pytest.raises(IndexError):
        model[3]


def test_shared_parameter_is_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, shared)
    assert len(list(model.parameters())) == 2


def test_assigning_a_tensor_over_a_parameter_is_refused():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="weight"):
        layer.weight = tinytorch.zeros(2, 2)
    layer.bias = None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]


def test_module_without_super_init_gives_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_train_eval_reaches_every_descendant():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(), nn.ReLU()))
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_load_state_dict_round_trip_copies_values_in_place():
    source, target = TwoLayer(), TwoLayer()
    weight_before = target.hidden.weight
    target.load_state_dict(source.state_dict())
    assert target.hidden.weight is weight_before  # optimizers keep their references
    for (name, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items()):
        np.testing.assert_array_equal(a.array, b.array, err_msg=name)


def test_load_state_dict_wrong_shape_names_key_and_both_shapes_and_changes_nothing():
    model = nn.Sequential(nn.Linear(4, 3))
    before = {k: v.array.copy() for k, v in model.state_dict().items()}
    bad = {"0.weight": np.zeros((5, 4), np.float32), "0.bias": np.ones(3, np.float32)}
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(bad)
    message = str(error.value)
    assert "0.weight" in message and "(5, 4)" in message and "(3, 4)" in message
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.array, before[key])  # bias not half-loaded


def test_load_state_dict_strict_missing_and_unexpected_keys():
    model = nn.Sequential(nn.Linear(2, 2))
    state = model.state_dict()
    del state["0.bias"]
    state["0.extra"] = tinytorch.zeros(1)
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    assert '"0.bias"' in str(error.value) and '"0.extra"' in str(error.value)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["0.extra"]


def test_repr_lists_children_like_pytorch():
    text = repr(nn.Sequential(nn.Linear(64, 10), nn.ReLU()))
    assert text == ("Sequential(\n  (0): Linear(in_features=64, out_features=10, bias=True)\n"
                    "  (1): ReLU()\n)")


def test_linear_default_init_matches_pytorch_bounds():
    tinytorch.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for values in (layer.weight.array, layer.bias.array):
        assert values.dtype == np.float32
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.95 * bound  # uniform: the range is used
    # Var of U(-b, b) = b^2 / 3
    assert abs(layer.weight.array.var() - bound ** 2 / 3) < 0.05 * bound ** 2 / 3


def test_manual_seed_makes_init_reproducible_bit_for_bit():
    tinytorch.manual_seed(7)
    a = nn.Linear(5, 5).weight.array.copy()
    tinytorch.manual_seed(7)
    b = nn.Linear(5, 5).weight.array.copy()
    tinytorch.manual_seed(8)
    c = nn.Linear(5, 5).weight.array.copy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_linear_forward_equals_numpy_and_gradchecks():
    layer = nn.Linear(3, 2).double()
    x = tinytorch.randn(4, 3, dtype=tinytorch.float64, requires_grad=True)
    expected = x.array @ layer.weight.array.T + layer.bias.array
    np.testing.assert_allclose(layer(x).array, expected)
    assert gradcheck(lambda x, w, b: F.linear(x, w, b), (x, layer.weight, layer.bias))


def test_linear_input_features_mismatch_names_layer_and_shape():
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=3.*\(4, 5\)"):
        nn.Linear(3, 2)(tinytorch.zeros(4, 5))


@pytest.mark.parametrize("layer", [nn.ReLU(), nn.ReLU6(), nn.Sigmoid(), nn.Tanh(),
                                   nn.Softmax(dim=1), nn.LogSoftmax(dim=1), nn.Flatten()])
def test_activation_layers_gradcheck(layer):
    x = tinytorch.tensor(np.random.default_rng(1).uniform(-8, 8, (3, 4)), requires_grad=True)
    assert gradcheck(layer, x)


def test_relu6_clamps_at_zero_and_six():
    x = tinytorch.tensor([-1.0, 0.5, 5.0, 7.0])
    np.testing.assert_array_equal(nn.ReLU6()(x).array, [0.0, 0.5, 5.0, 6.0])


def test_dropout_scales_kept_units_and_is_off_in_eval():
    tinytorch.manual_seed(3)
    layer = nn.Dropout(p=0.25)
    x = tinytorch.ones(200, 50)
    y = layer(x).array
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    assert 0.72 < kept.mean() < 0.78
    layer.eval()
    assert layer(x) is x


def test_dropout_gradient_uses_the_same_mask():
    tinytorch.manual_seed(4)
    x = tinytorch.ones(10, 10, requires_grad=True)
    y = F.dropout(x, 0.5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.array, y.array)  # d(sum)/dx = mask / (1 - p)


def test_dropout_rejects_bad_probability():
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_cross_entropy_loss_matches_a_numpy_reference():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 4))
    labels = np.array([0, 3, 1, 1, 2, 0])
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    expected = -log_probs[np.arange(6), labels].mean()
    got = nn.CrossEntropyLoss()(tinytorch.tensor(logits), tinytorch.tensor(labels))
    assert abs(got.item() - expected) < 1e-12


def test_cross_entropy_rejects_float_targets_and_out_of_range_labels():
    logits = tinytorch.zeros(2, 3)
    with pytest.raises(RuntimeError, match="integer"):
        F.cross_entropy(logits, tinytorch.tensor([0.0, 1.0]))
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.cross_entropy(logits, tinytorch.tensor([0, 3]))


def test_mse_loss_value_and_gradient():
    a = tinytorch.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    b = tinytorch.ones(2, 3, dtype=tinytorch.float64)
    loss = nn.MSELoss()(a, b)
    assert abs(loss.item() - ((np.arange(6.0) - 1) ** 2).mean()) < 1e-12
    assert gradcheck(lambda a: F.mse_loss(a, b), a)


def test_forward_hook_sees_output_and_can_be_removed():
    layer = nn.Linear(2, 2)
    seen = []
    handle = layer.register_forward_hook(lambda module, inputs, output: seen.append(output.shape))
    layer(tinytorch.zeros(3, 2))
    handle.remove()
    layer(tinytorch.zeros(3, 2))
    assert seen == [(3, 2)]


def test_zero_grad_clears_gradients():
    model = nn.Linear(2, 1)
    model(tinytorch.ones(1, 2)).sum().backward()
    assert model.weight.grad is not None
    model.zero_grad()
    assert model.weight.grad is None


def test_missing_forward_is_a_clear_error():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(tinytorch.zeros(1))


def test_sequential_layers_can_be_replaced_and_removed():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4))
    head = nn.Linear(3, 1)
    model[-1] = head
    assert model[2] is head and list(model.state_dict()) == [
        "0.weight", "0.bias", "2.weight", "2.bias"]
    assert model(tinytorch.ones(5, 2)).shape == (5, 1)
    del model[1]
    assert [name for name, _ in model.named_children()] == ["0", "1"] and model[1] is head
    with pytest.raises(IndexError, match="index 2 is out of range for 2 modules"):
        model[2] = nn.ReLU()
    with pytest.raises(TypeError, match="cannot assign a int"):
        model[0] = 3
