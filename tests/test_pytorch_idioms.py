"""PyTorch code, unchanged but for the import, runs on TinyTorch and gives the right numbers.

Each snippet below is written the way beginners' PyTorch code is written (fit
a polynomial from numpy to tensors to autograd to nn to optim; softmax
regression by hand, then refactored into modules and data loaders; a LeNet;
a train/test loop with a device and a checkpoint; requires_grad, no_grad and
in-place writes).  A snippet is a function of the module it calls ``torch``:
the ``lib`` fixture passes TinyTorch, and PyTorch too when it is installed.
Every run is checked against an independent reference that does not depend on
the library (a numpy computation of the same steps from the same starting
values, a closed form, or central differences), so the PyTorch run also
proves that the reference is right.  Where starting values come from a
random initializer, they are read from the model before training.
"""
import math
import random

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import tinytorch
import tinytorch.nn.functional  # noqa: F401  (the snippets reach it as torch.nn.functional)
import tinytorch.utils.data  # noqa: F401  (the snippets reach it as torch.utils.data)


@pytest.fixture(params=["tinytorch", "torch"])
def lib(request):
    """The library a snippet runs on: TinyTorch always, PyTorch when installed."""
    if request.param == "torch":
        return pytest.importorskip("torch")
    return tinytorch


def numpy_of(tensor):
    return tensor.detach().cpu().numpy().astype(np.float64)


# ===== numpy references ===============================================================
def polynomial_gradients(x, y, a, b, c, d):
    """d(sum((a + b x + c x^2 + d x^3 - y)^2))/d(a, b, c, d), by hand."""
    grad_y_pred = 2.0 * (a + b * x + c * x ** 2 + d * x ** 3 - y)
    return np.array([grad_y_pred.sum(), (grad_y_pred * x).sum(), (grad_y_pred * x ** 2).sum(),
                     (grad_y_pred * x ** 3).sum()])


def polynomial_by_gradient_descent(coefficients, learning_rate, steps):
    x = np.linspace(-math.pi, math.pi, 2000)
    y = np.sin(x)
    coefficients = np.array(coefficients, dtype=np.float64)
    for _ in range(steps):
        coefficients -= learning_rate * polynomial_gradients(x, y, *coefficients)
    return coefficients


def softmax_regression_steps(weights, bias, batches, lr):
    """Minibatch gradient descent on mean cross-entropy; weights are (features, classes)."""
    weights, bias = weights.astype(np.float64), bias.astype(np.float64)
    for xb, yb in batches:
        logits = xb @ weights + bias
        probabilities = np.exp(logits - logits.max(1, keepdims=True))
        probabilities /= probabilities.sum(1, keepdims=True)
        probabilities[np.arange(len(yb)), yb] -= 1.0
        grad_logits = probabilities / len(yb)
        weights = weights - lr * xb.T @ grad_logits
        bias = bias - lr * grad_logits.sum(0)
    return weights, bias


def cross_entropy_np(logits, labels):
    shifted = logits - logits.max(1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    return -log_probabilities[np.arange(len(labels)), labels].mean()


def conv2d_np(x, weight, bias, stride=1, padding=0):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(x, weight.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("ncijkl,ockl->noij", windows, weight) + bias[None, :, None, None]


def max_pool_2x2_np(x):
    n, c, h, w = x.shape
    return x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def digits_like_data(samples, features=20, classes=4, seed=0):
    """Separable-ish synthetic data: labels from a random linear teacher."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, features)).astype(np.float32)
    teacher = rng.standard_normal((features, classes))
    y = (x @ teacher + 0.5 * rng.standard_normal((samples, classes))).argmax(1).astype(np.int64)
    return x, y


# ===== fitting sin(x) with a cubic: tensors, autograd, a Function, nn, optim ============
def test_tensors_with_gradients_written_by_hand(lib):
    def snippet(torch, steps):
        dtype = torch.float
        device = torch.device("cpu")
        x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
        y = torch.sin(x)
        a = torch.randn((), device=device, dtype=dtype)
        b = torch.randn((), device=device, dtype=dtype)
        c = torch.randn((), device=device, dtype=dtype)
        d = torch.randn((), device=device, dtype=dtype)
        start = [a.item(), b.item(), c.item(), d.item()]
        learning_rate = 1e-6
        for t in range(steps):
            y_pred = a + b * x + c * x ** 2 + d * x ** 3
            loss = (y_pred - y).pow(2).sum().item()
            grad_y_pred = 2.0 * (y_pred - y)
            grad_a = grad_y_pred.sum()
            grad_b = (grad_y_pred * x).sum()
            grad_c = (grad_y_pred * x ** 2).sum()
            grad_d = (grad_y_pred * x ** 3).sum()
            a -= learning_rate * grad_a
            b -= learning_rate * grad_b
            c -= learning_rate * grad_c
            d -= learning_rate * grad_d
        return start, [a.item(), b.item(), c.item(), d.item()], loss

    start, end, _ = snippet(lib, 200)
    np.testing.assert_allclose(end, polynomial_by_gradient_descent(start, 1e-6, 200),
                               rtol=2e-4, atol=1e-5)


def test_autograd_replaces_the_hand_written_gradients(lib):
    def snippet(torch, steps):
        dtype = torch.float
        x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
        y = torch.sin(x)
        a = torch.randn((), dtype=dtype, requires_grad=True)
        b = torch.randn((), dtype=dtype, requires_grad=True)
        c = torch.randn((), dtype=dtype, requires_grad=True)
        d = torch.randn((), dtype=dtype, requires_grad=True)
        start = [a.item(), b.item(), c.item(), d.item()]
        learning_rate = 1e-6
        for t in range(steps):
            y_pred = a + b * x + c * x ** 2 + d * x ** 3
            loss = (y_pred - y).pow(2).sum()
            loss.backward()
            with torch.no_grad():
                a -= learning_rate * a.grad
                b -= learning_rate * b.grad
                c -= learning_rate * c.grad
                d -= learning_rate * d.grad
                a.grad = None
                b.grad = None
                c.grad = None
                d.grad = None
        return start, [a.item(), b.item(), c.item(), d.item()]

    start, end = snippet(lib, 200)
    np.testing.assert_allclose(end, polynomial_by_gradient_descent(start, 1e-6, 200),
                               rtol=2e-4, atol=1e-5)


def test_a_custom_autograd_function(lib):
    def snippet(torch, steps):
        class LegendrePolynomial3(torch.autograd.Function):
            @staticmethod
            def forward(ctx, input):
                ctx.save_for_backward(input)
                return 0.5 * (5 * input ** 3 - 3 * input)

            @staticmethod
            def backward(ctx, grad_output):
                input, = ctx.saved_tensors
                return grad_output * 1.5 * (5 * input ** 2 - 1)

        dtype = torch.float
        x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
        y = torch.sin(x)
        a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
        b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
        c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
        d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
        learning_rate = 5e-6
        for t in range(steps):
            P3 = LegendrePolynomial3.apply
            y_pred = a + b * P3(c + d * x)
            loss = (y_pred - y).pow(2).sum()
            loss.backward()
            with torch.no_grad():
                for parameter in (a, b, c, d):
                    parameter -= learning_rate * parameter.grad
                    parameter.grad = None
        return [a.item(), b.item(), c.item(), d.item()]

    x = np.linspace(-math.pi, math.pi, 2000)
    y = np.sin(x)
    a, b, c, d = 0.0, -1.0, 0.0, 0.3
    for _ in range(50):
        z = c + d * x
        p3, dp3 = 0.5 * (5 * z ** 3 - 3 * z), 1.5 * (5 * z ** 2 - 1)
        g = 2 * (a + b * p3 - y)
        a, b, c, d = (a - 5e-6 * g.sum(), b - 5e-6 * (g * p3).sum(),
                      c - 5e-6 * (g * b * dp3).sum(), d - 5e-6 * (g * b * dp3 * x).sum())
    np.testing.assert_allclose(snippet(lib, 50), [a, b, c, d], rtol=2e-4, atol=1e-5)


def polynomial_model(torch):
    p = torch.tensor([1, 2, 3])
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    return xx, y, model


def test_nn_sequential_with_a_manual_update(lib):
    def snippet(torch, steps):
        xx, y, model = polynomial_model(torch)
        loss_fn = torch.nn.MSELoss(reduction="sum")
        linear_layer = model[0]
        start = [linear_layer.bias.item()] + linear_layer.weight.detach()[0].tolist()
        learning_rate = 1e-6
        for t in range(steps):
            y_pred = model(xx)
            loss = loss_fn(y_pred, y)
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for param in model.parameters():
                    param -= learning_rate * param.grad
        return start, [linear_layer.bias.item(), linear_layer.weight[:, 0].item(),
                       linear_layer.weight[:, 1].item(), linear_layer.weight[:, 2].item()]

    start, end = snippet(lib, 100)
    np.testing.assert_allclose(end, polynomial_by_gradient_descent(start, 1e-6, 100),
                               rtol=2e-4, atol=1e-5)


def test_an_optimizer_does_the_update(lib):
    def snippet(torch, steps):
        xx, y, model = polynomial_model(torch)
        loss_fn = torch.nn.MSELoss(reduction="sum")
        start = [model[0].bias.item()] + model[0].weight.detach()[0].tolist()
        optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
        for t in range(steps):
            y_pred = model(xx)
            loss = loss_fn(y_pred, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return start, [model[0].bias.item()] + model[0].weight.detach()[0].tolist()

    start, end = snippet(lib, 60)
    x = np.linspace(-math.pi, math.pi, 2000)
    parameters, square_average = np.array(start), np.zeros(4)
    for _ in range(60):  # RMSprop, alpha 0.99, eps 1e-8
        gradient = polynomial_gradients(x, np.sin(x), *parameters)
        square_average = 0.99 * square_average + 0.01 * gradient ** 2
        parameters -= 1e-3 * gradient / (np.sqrt(square_average) + 1e-8)
    np.testing.assert_allclose(end, parameters, rtol=1e-4, atol=1e-5)


def test_a_custom_module_with_parameters_and_sgd(lib):
    def snippet(torch, steps):
        class Polynomial3(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = torch.nn.Parameter(torch.randn(()))
                self.b = torch.nn.Parameter(torch.randn(()))
                self.c = torch.nn.Parameter(torch.randn(()))
                self.d = torch.nn.Parameter(torch.randn(()))

            def forward(self, x):
                return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

            def string(self):
                return (f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + "
                        f"{self.d.item()} x^3")

        x = torch.linspace(-math.pi, math.pi, 2000)
        y = torch.sin(x)
        model = Polynomial3()
        start = [p.item() for p in model.parameters()]
        criterion = torch.nn.MSELoss(reduction="sum")
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
        for t in range(steps):
            y_pred = model(x)
            loss = criterion(y_pred, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return start, [p.item() for p in model.parameters()], model.string()

    start, end, text = snippet(lib, 100)
    np.testing.assert_allclose(end, polynomial_by_gradient_descent(start, 1e-6, 100),
                               rtol=2e-4, atol=1e-5)
    assert text.startswith("y = ") and text.endswith(" x^3")


def test_a_dynamic_graph_reusing_a_parameter_with_momentum(lib):
    def snippet(torch, extra_terms_per_step):
        class DynamicNet(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = torch.nn.Parameter(torch.randn(()))
                self.b = torch.nn.Parameter(torch.randn(()))
                self.c = torch.nn.Parameter(torch.randn(()))
                self.d = torch.nn.Parameter(torch.randn(()))
                self.e = torch.nn.Parameter(torch.randn(()))

            def forward(self, x, last_exponent):
                y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
                for exp in range(4, last_exponent + 1):
                    y = y + self.e * x ** exp
                return y

        x = torch.linspace(-math.pi, math.pi, 2000)
        y = torch.sin(x)
        model = DynamicNet()
        start = [p.item() for p in model.parameters()]
        criterion = torch.nn.MSELoss(reduction="sum")
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
        for last_exponent in extra_terms_per_step:
            y_pred = model(x, last_exponent)
            loss = criterion(y_pred, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return start, [p.item() for p in model.parameters()]

    choices = random.Random(5)
    exponents = [choices.randint(4, 5) for _ in range(30)]
    start, end = snippet(lib, exponents)
    x = np.linspace(-math.pi, math.pi, 2000)
    parameters, buffer = np.array(start), None
    for last in exponents:
        a, b, c, d, e = parameters
        powers = [x ** k for k in range(4, last + 1)]
        g = 2 * (a + b * x + c * x ** 2 + d * x ** 3 + e * sum(powers) - np.sin(x))
        gradient = np.array([g.sum(), (g * x).sum(), (g * x ** 2).sum(), (g * x ** 3).sum(),
                             sum((g * p).sum() for p in powers)])
        buffer = gradient if buffer is None else 0.9 * buffer + gradient
        parameters = parameters - 1e-8 * buffer
    np.testing.assert_allclose(end, parameters, rtol=1e-4, atol=1e-5)


# ===== softmax regression by hand, then refactored =====================================
BS, LR = 32, 0.5


def batches_of(x, y, bs):
    return [(x[i:i + bs].astype(np.float64), y[i:i + bs]) for i in range(0, len(x), bs)]


def test_weights_by_hand_log_softmax_nll_and_in_place_updates(lib):
    def snippet(torch, x_train, y_train, epochs):
        x_train, y_train = map(torch.tensor, (x_train, y_train))
        n, c = x_train.shape
        weights = torch.randn(c, 4) / math.sqrt(c)
        weights.requires_grad_()
        bias = torch.zeros(4, requires_grad=True)
        start = weights.detach().numpy().copy()

        def log_softmax(x):
            return x - x.exp().sum(-1).log().unsqueeze(-1)

        def model(xb):
            return log_softmax(xb @ weights + bias)

        def nll(input, target):
            return -input[range(target.shape[0]), target].mean()

        def accuracy(out, yb):
            preds = torch.argmax(out, dim=1)
            return (preds == yb).float().mean()

        loss_func = nll
        bs, lr = BS, LR
        for epoch in range(epochs):
            for i in range((n - 1) // bs + 1):
                start_i = i * bs
                end_i = start_i + bs
                xb = x_train[start_i:end_i]
                yb = y_train[start_i:end_i]
                pred = model(xb)
                loss = loss_func(pred, yb)
                loss.backward()
                with torch.no_grad():
                    weights -= weights.grad * lr
                    bias -= bias.grad * lr
                    weights.grad.zero_()
                    bias.grad.zero_()
        return (start, weights.detach().numpy(), bias.detach().numpy(),
                loss_func(model(xb), yb).item(), accuracy(model(xb), yb).item())

    x, y = digits_like_data(100)
    start, weights, bias, loss, accuracy = snippet(lib, x, y, 2)
    expected_w, expected_b = softmax_regression_steps(start, np.zeros(4),
                                                      batches_of(x, y, BS) * 2, LR)
    np.testing.assert_allclose(weights, expected_w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bias, expected_b, rtol=1e-4, atol=1e-5)
    xb, yb = x[96:].astype(np.float64), y[96:]
    logits = xb @ expected_w + expected_b
    assert loss == pytest.approx(cross_entropy_np(logits, yb), rel=1e-4)
    assert accuracy == pytest.approx((logits.argmax(1) == yb).mean())


def test_cross_entropy_equals_log_softmax_and_nll_by_hand(lib):
    def snippet(torch, logits, labels):
        F = torch.nn.functional
        logits, labels = torch.tensor(logits), torch.tensor(labels)
        by_hand = -(logits - logits.exp().sum(-1).log().unsqueeze(-1))[
            range(labels.shape[0]), labels].mean()
        return (F.cross_entropy(logits, labels).item(),
                F.nll_loss(F.log_softmax(logits, dim=1), labels).item(), by_hand.item())

    rng = np.random.default_rng(1)
    logits, labels = rng.standard_normal((6, 5)).astype(np.float32), rng.integers(0, 5, 6)
    for value in snippet(lib, logits, labels):
        assert value == pytest.approx(cross_entropy_np(logits.astype(np.float64), labels),
                                      rel=1e-5)


def test_a_module_with_parameters_updated_by_hand_and_zero_grad(lib):
    def snippet(torch, x_train, y_train, epochs):
        nn, F = torch.nn, torch.nn.functional

        class Mnist_Logistic(nn.Module):
            def __init__(self):
                super().__init__()
                self.weights = nn.Parameter(torch.randn(20, 4) / math.sqrt(20))
                self.bias = nn.Parameter(torch.zeros(4))

            def forward(self, xb):
                return xb @ self.weights + self.bias

        x_train, y_train = map(torch.tensor, (x_train, y_train))
        n = x_train.shape[0]
        model = Mnist_Logistic()
        start = model.weights.detach().numpy().copy()
        loss_func = F.cross_entropy
        for epoch in range(epochs):
            for i in range((n - 1) // BS + 1):
                xb = x_train[i * BS:i * BS + BS]
                yb = y_train[i * BS:i * BS + BS]
                loss = loss_func(model(xb), yb)
                loss.backward()
                with torch.no_grad():
                    for p in model.parameters():
                        p -= p.grad * LR
                    model.zero_grad()
        return start, model.weights.detach().numpy(), model.bias.detach().numpy()

    x, y = digits_like_data(100)
    start, weights, bias = snippet(lib, x, y, 2)
    expected_w, expected_b = softmax_regression_steps(start, np.zeros(4),
                                                      batches_of(x, y, BS) * 2, LR)
    np.testing.assert_allclose(weights, expected_w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bias, expected_b, rtol=1e-4, atol=1e-5)


def test_linear_sgd_tensor_dataset_and_data_loader(lib):
    def snippet(torch, x_train, y_train, epochs):
        nn, F, optim = torch.nn, torch.nn.functional, torch.optim
        from_data = torch.utils.data
        x_train, y_train = map(torch.tensor, (x_train, y_train))
        train_ds = from_data.TensorDataset(x_train, y_train)
        train_dl = from_data.DataLoader(train_ds, batch_size=BS)
        model = nn.Linear(20, 4)
        start = (model.weight.detach().numpy().copy(), model.bias.detach().numpy().copy())
        opt = optim.SGD(model.parameters(), lr=LR)
        loss_func = F.cross_entropy
        for epoch in range(epochs):
            model.train()
            for xb, yb in train_dl:
                pred = model(xb)
                loss = loss_func(pred, yb)
                loss.backward()
                opt.step()
                opt.zero_grad()
        return start, model.weight.detach().numpy(), model.bias.detach().numpy()

    x, y = digits_like_data(100)
    (w0, b0), weights, bias = snippet(lib, x, y, 2)
    expected_w, expected_b = softmax_regression_steps(w0.T, b0, batches_of(x, y, BS) * 2, LR)
    np.testing.assert_allclose(weights, expected_w.T, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bias, expected_b, rtol=1e-4, atol=1e-5)


def test_fit_with_shuffled_loader_and_validation_loss_weighted_by_batch_size(lib):
    def snippet(torch, x_train, y_train, x_valid, y_valid, epochs):
        nn, F, optim = torch.nn, torch.nn.functional, torch.optim
        DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset

        def get_data(train_ds, valid_ds, bs):
            return (DataLoader(train_ds, batch_size=bs, shuffle=True),
                    DataLoader(valid_ds, batch_size=bs * 2))

        def loss_batch(model, loss_func, xb, yb, opt=None):
            loss = loss_func(model(xb), yb)
            if opt is not None:
                loss.backward()
                opt.step()
                opt.zero_grad()
            return loss.item(), len(xb)

        def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
            for epoch in range(epochs):
                model.train()
                for xb, yb in train_dl:
                    loss_batch(model, loss_func, xb, yb, opt)
                model.eval()
                with torch.no_grad():
                    losses, nums = zip(*[loss_batch(model, loss_func, xb, yb)
                                         for xb, yb in valid_dl])
                val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
            return val_loss

        x_train, y_train, x_valid, y_valid = map(torch.tensor, (x_train, y_train, x_valid,
                                                               y_valid))
        train_dl, valid_dl = get_data(TensorDataset(x_train, y_train),
                                      TensorDataset(x_valid, y_valid), BS)
        model = nn.Sequential(nn.Linear(20, 4))
        opt = optim.SGD(model.parameters(), lr=LR, momentum=0.9)
        before = F.cross_entropy(model(x_valid), y_valid).item()
        val_loss = fit(epochs, model, F.cross_entropy, opt, train_dl, valid_dl)
        return before, val_loss, model[0].weight.detach().numpy(), model[0].bias.detach().numpy()

    x, y = digits_like_data(300)
    before, val_loss, weights, bias = snippet(lib, x[:200], y[:200], x[200:], y[200:], 3)
    logits = x[200:].astype(np.float64) @ weights.T.astype(np.float64) + bias
    assert val_loss == pytest.approx(cross_entropy_np(logits, y[200:]), rel=1e-4)
    assert val_loss < 0.8 * before


def test_a_cnn_with_lambda_layers_and_adaptive_pooling(lib):
    def snippet(torch, images):
        nn = torch.nn

        class Lambda(nn.Module):
            def __init__(self, func):
                super().__init__()
                self.func = func

            def forward(self, x):
                return self.func(x)

        def preprocess(x):
            return x.view(-1, 1, 8, 8)

        model = nn.Sequential(
            Lambda(preprocess),
            nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            Lambda(lambda x: x.view(x.size(0), -1)),
        )
        out = model(torch.tensor(images))
        weights = {name: value.detach().numpy().copy() for name, value in
                   model.state_dict().items()}
        return out.detach().numpy(), weights

    images = np.random.default_rng(2).standard_normal((5, 64)).astype(np.float32)
    out, w = snippet(lib, images)
    hidden = np.maximum(conv2d_np(images.reshape(-1, 1, 8, 8).astype(np.float64), w["1.weight"],
                                  w["1.bias"], stride=2, padding=1), 0)
    expected = np.maximum(conv2d_np(hidden, w["3.weight"], w["3.bias"], 2, 1), 0).mean((2, 3))
    assert out.shape == (5, 10)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


# ===== a LeNet ==========================================================================
def lenet(torch):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, input):
            c1 = F.relu(self.conv1(input))
            s2 = F.max_pool2d(c1, (2, 2))
            c3 = F.relu(self.conv2(s2))
            s4 = F.max_pool2d(c3, 2)
            s4 = torch.flatten(s4, 1)
            f5 = F.relu(self.fc1(s4))
            f6 = F.relu(self.fc2(f5))
            return self.fc3(f6)

    return Net()


def lenet_np(w, image):
    x = max_pool_2x2_np(np.maximum(conv2d_np(image, w["conv1.weight"], w["conv1.bias"]), 0))
    x = max_pool_2x2_np(np.maximum(conv2d_np(x, w["conv2.weight"], w["conv2.bias"]), 0))
    x = x.reshape(len(x), -1)
    x = np.maximum(x @ w["fc1.weight"].T + w["fc1.bias"], 0)
    x = np.maximum(x @ w["fc2.weight"].T + w["fc2.bias"], 0)
    return x @ w["fc3.weight"].T + w["fc3.bias"]


def test_lenet_parameters_backward_with_a_given_gradient_and_bias_grad(lib):
    def snippet(torch, image, upstream):
        net = lenet(torch)
        params = list(net.parameters())
        shapes = (len(params), tuple(params[0].size()))
        input = torch.tensor(image)
        out = net(input)
        net.zero_grad()
        grad_before = net.conv1.bias.grad
        out.backward(torch.tensor(upstream))
        weights = {name: value.detach().numpy().astype(np.float64) for name, value in
                   net.state_dict().items()}
        return shapes, grad_before, out.detach().numpy(), net.conv1.bias.grad.numpy(), weights

    rng = np.random.default_rng(3)
    image = rng.standard_normal((1, 1, 32, 32)).astype(np.float32)
    upstream = rng.standard_normal((1, 10)).astype(np.float32)
    shapes, grad_before, out, bias_grad, w = snippet(lib, image, upstream)
    assert shapes == (10, (6, 1, 5, 5))
    assert grad_before is None or not np.any(grad_before.numpy())
    np.testing.assert_allclose(out, lenet_np(w, image.astype(np.float64)), rtol=1e-4, atol=1e-5)
    numeric = np.zeros(6)
    for channel in range(6):  # central differences through the float64 numpy network
        for sign in (1, -1):
            shifted = dict(w, **{"conv1.bias": w["conv1.bias"] + sign * 1e-6 * np.eye(6)[channel]})
            numeric[channel] += sign * (lenet_np(shifted, image.astype(np.float64))
                                        * upstream).sum() / 2e-6
    np.testing.assert_allclose(bias_grad, numeric, rtol=1e-3, atol=1e-5)


def test_lenet_update_through_data_and_then_through_an_optimizer(lib):
    def snippet(torch, image, target):
        nn, optim = torch.nn, torch.optim
        net = lenet(torch)
        before = {name: value.detach().numpy().astype(np.float64).copy() for name, value in
                  net.state_dict().items()}
        criterion = nn.MSELoss()
        input, target = torch.tensor(image), torch.tensor(target).view(1, -1)
        output = net(input)
        loss = criterion(output, target)
        net.zero_grad()
        loss.backward()
        grads = {name: p.grad.numpy().astype(np.float64).copy() for name, p in
                 net.named_parameters()}
        learning_rate = 0.01
        for f in net.parameters():
            f.data.sub_(f.grad.data * learning_rate)
        after_manual = {name: p.detach().numpy().astype(np.float64).copy() for name, p in
                        net.named_parameters()}
        optimizer = optim.SGD(net.parameters(), lr=0.01)
        optimizer.zero_grad()
        output = net(input)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        return before, grads, after_manual, loss.item()

    rng = np.random.default_rng(4)
    image = rng.standard_normal((1, 1, 32, 32)).astype(np.float32)
    target = rng.standard_normal(10).astype(np.float32)
    before, grads, after_manual, second_loss = snippet(lib, image, target)
    for name in grads:
        np.testing.assert_allclose(after_manual[name], before[name] - 0.01 * grads[name],
                                   rtol=1e-5, atol=1e-7)
    expected = ((lenet_np(after_manual, image.astype(np.float64)) - target) ** 2).mean()
    assert second_loss == pytest.approx(expected, rel=1e-4)


def test_loss_grad_fn_chain_is_walkable(lib):
    def snippet(torch):
        net = lenet(torch)
        loss = torch.nn.MSELoss()(net(torch.zeros(1, 1, 32, 32)), torch.zeros(1, 10))
        return loss.grad_fn, loss.grad_fn.next_functions[0][0]

    loss_node, previous = snippet(lib)
    assert loss_node is not None and previous is not None and previous is not loss_node


def test_lenet_agrees_with_pytorch_from_the_same_weights():
    real_torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    image = rng.standard_normal((2, 1, 32, 32)).astype(np.float32)
    upstream = rng.standard_normal((2, 10)).astype(np.float32)
    ours = lenet(tinytorch)
    theirs = lenet(real_torch)
    theirs.load_state_dict({name: real_torch.from_numpy(value.detach().numpy().copy())
                            for name, value in ours.state_dict().items()})
    results = []
    for library, net in ((tinytorch, ours), (real_torch, theirs)):
        out = net(library.tensor(image))
        out.backward(library.tensor(upstream))
        results.append((out.detach().numpy(), {n: p.grad.numpy() for n, p in
                                               net.named_parameters()}))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-4, atol=1e-5)
    for name, gradient in results[1][1].items():
        np.testing.assert_allclose(results[0][1][name], gradient, rtol=1e-3, atol=1e-5,
                                   err_msg=name)


# ===== the quickstart: device, train/test loops, checkpoint =============================
def quickstart(torch, train, test, epochs, path):
    nn = torch.nn
    DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset
    training_data = TensorDataset(torch.tensor(train[0]), torch.tensor(train[1]))
    test_data = TensorDataset(torch.tensor(test[0]), torch.tensor(test[1]))
    batch_size = 64
    train_dataloader = DataLoader(training_data, batch_size=batch_size)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)
    for X, y in test_dataloader:
        first_shapes = (tuple(X.shape), tuple(y.shape), y.dtype == torch.int64)
        break

    device = "cuda" if torch.cuda.is_available() else "cpu"

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(8 * 8, 32),
                nn.ReLU(),
                nn.Linear(32, 32),
                nn.ReLU(),
                nn.Linear(32, 10),
            )

        def forward(self, x):
            x = self.flatten(x)
            logits = self.linear_relu_stack(x)
            return logits

    model = NeuralNetwork().to(device)
    start = {name: value.detach().cpu().numpy().copy() for name, value in
             model.state_dict().items()}
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)

    def train_loop(dataloader, model, loss_fn, optimizer):
        size = len(dataloader.dataset)
        model.train()
        for batch, (X, y) in enumerate(dataloader):
            X, y = X.to(device), y.to(device)
            pred = model(X)
            loss = loss_fn(pred, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            if batch % 100 == 0:
                loss, current = loss.item(), (batch + 1) * len(X)
                assert current <= size

    def test_loop(dataloader, model, loss_fn):
        size = len(dataloader.dataset)
        num_batches = len(dataloader)
        model.eval()
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in dataloader:
                X, y = X.to(device), y.to(device)
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
        test_loss /= num_batches
        correct /= size
        return test_loss, correct

    for t in range(epochs):
        train_loop(train_dataloader, model, loss_fn, optimizer)
        result = test_loop(test_dataloader, model, loss_fn)

    torch.save(model.state_dict(), path)
    model = NeuralNetwork().to(device)
    model.load_state_dict(torch.load(path, weights_only=True))
    classes = [f"class {k}" for k in range(10)]
    model.eval()
    x, y = test_data[0][0], test_data[0][1]
    with torch.no_grad():
        x = x.to(device)
        pred = model(x.unsqueeze(0))
        predicted, actual = classes[pred[0].argmax(0)], classes[y]
    final = {name: value.detach().cpu().numpy() for name, value in model.state_dict().items()}
    return first_shapes, start, result, (predicted, actual), final


def mlp_np(w, x):
    h = np.maximum(x @ w["linear_relu_stack.0.weight"].T + w["linear_relu_stack.0.bias"], 0)
    h2 = np.maximum(h @ w["linear_relu_stack.2.weight"].T + w["linear_relu_stack.2.bias"], 0)
    return h, h2, h2 @ w["linear_relu_stack.4.weight"].T + w["linear_relu_stack.4.bias"]


def mlp_sgd_step_np(w, x, y, lr):
    h, h2, logits = mlp_np(w, x)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    g3 = p / len(y)
    grads = {"linear_relu_stack.4.weight": g3.T @ h2, "linear_relu_stack.4.bias": g3.sum(0)}
    g2 = (g3 @ w["linear_relu_stack.4.weight"]) * (h2 > 0)
    grads.update({"linear_relu_stack.2.weight": g2.T @ h, "linear_relu_stack.2.bias": g2.sum(0)})
    g1 = (g2 @ w["linear_relu_stack.2.weight"]) * (h > 0)
    grads.update({"linear_relu_stack.0.weight": g1.T @ x, "linear_relu_stack.0.bias": g1.sum(0)})
    return {name: w[name] - lr * grads[name] for name in w}


def test_quickstart_train_test_save_and_load(lib, tmp_path):
    rng = np.random.default_rng(6)
    images = rng.standard_normal((300, 1, 8, 8)).astype(np.float32)
    labels = (images.reshape(300, -1)[:, :10].argmax(1)).astype(np.int64)
    train, test = (images[:200], labels[:200]), (images[200:], labels[200:])
    shapes, start, (test_loss, correct), (predicted, actual), final = quickstart(
        lib, train, test, 2, str(tmp_path / "model.pth"))
    assert shapes == ((64, 1, 8, 8), (64,), True)

    w = {name: value.astype(np.float64) for name, value in start.items()}
    x_train = train[0].reshape(200, -1).astype(np.float64)
    for _ in range(2):
        for i in range(0, 200, 64):
            w = mlp_sgd_step_np(w, x_train[i:i + 64], train[1][i:i + 64], 0.1)
    for name in w:
        np.testing.assert_allclose(final[name], w[name], rtol=1e-3, atol=1e-5, err_msg=name)
    x_test = test[0].reshape(100, -1).astype(np.float64)
    logits = mlp_np(w, x_test)[2]
    batch_losses = [cross_entropy_np(logits[i:i + 64], test[1][i:i + 64]) for i in (0, 64)]
    assert test_loss == pytest.approx(np.mean(batch_losses), rel=1e-4)
    assert correct == pytest.approx((logits.argmax(1) == test[1]).mean())
    assert predicted == f"class {logits[0].argmax()}" and actual == f"class {test[1][0]}"


# ===== autograd mechanics: requires_grad, no_grad, in-place correctness ================
def test_requires_grad_flows_from_any_input_and_frozen_layers_get_no_grad(lib):
    def snippet(torch):
        nn = torch.nn
        x = torch.randn(5, 5)
        y = torch.randn(5, 5)
        z = torch.randn((5, 5), requires_grad=True)
        a = x + y
        b = a + z
        flags = (a.requires_grad, b.requires_grad)

        class Pretrained(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(nn.Linear(4, 6), nn.ReLU())
                self.fc = nn.Linear(6, 2)

            def forward(self, x):
                return self.fc(self.features(x))

        model = Pretrained()
        for param in model.parameters():
            param.requires_grad = False
        model.fc = nn.Linear(6, 3)  # a new head: its parameters require grad by default
        optimizer = torch.optim.SGD(model.fc.parameters(), lr=1e-2, momentum=0.9)
        model(torch.ones(7, 4)).sum().backward()
        optimizer.step()
        return flags, model.features[0].weight.grad, model.fc.bias.grad.numpy()

    flags, frozen_grad, head_bias_grad = snippet(lib)
    assert flags == (False, True)
    assert frozen_grad is None
    np.testing.assert_array_equal(head_bias_grad, np.full(3, 7.0))


def test_no_grad_set_grad_enabled_and_the_decorator(lib):
    def snippet(torch):
        x = torch.ones(3, requires_grad=True)
        with torch.no_grad():
            inside = x * 2
        with torch.set_grad_enabled(False):
            switched_off = x * 2

        @torch.no_grad()
        def doubler(t):
            return t * 2

        with torch.no_grad():
            with torch.enable_grad():
                re_enabled = x * 2
        return (inside.requires_grad, switched_off.requires_grad, doubler(x).requires_grad,
                re_enabled.requires_grad, torch.is_grad_enabled())

    assert snippet(lib) == (False, False, False, True, True)


def test_eval_mode_turns_dropout_off(lib):
    def snippet(torch):
        nn = torch.nn
        model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(p=0.5))
        x = torch.ones(2, 4)
        model.eval()
        with torch.no_grad():
            first, second = model(x), model(x)
        return first.numpy(), second.numpy(), model[0](x).detach().numpy(), model.training

    first, second, linear, training = snippet(lib)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, linear)
    assert training is False


def raises_in_backward(lib, build):
    """Run ``build(torch)`` which returns the backward to call; it must raise."""
    backward = build(lib)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        backward()


def test_writing_a_saved_input_by_index_is_caught(lib):
    def snippet(torch):
        w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = torch.tensor([4.0, 5.0, 6.0])
        y = w * x
        x[0] = 100
        return lambda: y.sum().backward()

    raises_in_backward(lib, snippet)


def test_writing_a_saved_parameter_under_no_grad_is_caught(lib):
    def snippet(torch):
        w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = (w * w).sum()
        with torch.no_grad():
            w.fill_(10)
        return y.backward

    raises_in_backward(lib, snippet)


def test_writing_through_detach_is_caught(lib):
    def snippet(torch):
        w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = (w * w).sum()
        w.detach()[0] = 7.0
        return y.backward

    raises_in_backward(lib, snippet)


def test_writing_through_a_reshaped_view_of_a_saved_input_is_caught(lib):
    def snippet(torch):
        w = torch.ones(2, 3, requires_grad=True)
        x = torch.arange(6.0).reshape(2, 3)
        y = (w * x).sum()
        flat = x.view(-1)
        flat[4] = -1.0
        return y.backward

    raises_in_backward(lib, snippet)


def test_writing_through_data_is_caught(lib):
    def snippet(torch):
        w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = w.exp().sum()  # exp saves its output, which shares nothing with w
        z = (w * w).sum()
        w.data.mul_(2.0)
        return w, y, z

    w, y, z = snippet(lib)
    y.backward()  # nothing it saved was touched
    np.testing.assert_allclose(w.grad.numpy(), np.exp([1.0, 2.0, 3.0]), rtol=1e-6)
    if lib is tinytorch:
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.backward()
    else:
        # PyTorch's .data shares the memory but not the version counter, so the
        # gradient comes out silently wrong: 2 * (the doubled w) instead of 2 * w.
        # TinyTorch's .data shares the counter, as detach() does in both, and refuses.
        z.backward()
        np.testing.assert_allclose(w.grad.numpy(),
                                   np.exp([1.0, 2.0, 3.0]) + 4 * np.array([1.0, 2.0, 3.0]),
                                   rtol=1e-6)


def test_update_under_no_grad_is_in_place_and_a_leaf_refuses_it_outside(lib):
    def snippet(torch):
        p = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
        alias = p.detach()  # shares p's memory
        (p * p).sum().backward()
        lr = 0.1
        same = p
        with torch.no_grad():
            p -= p.grad * lr
        try:
            p -= p.grad * lr
            refused = None
        except RuntimeError as error:
            refused = str(error)
        return same is p, p.detach().numpy().copy(), alias.numpy().copy(), p.requires_grad, refused

    same, values, alias_values, requires_grad, refused = snippet(lib)
    expected = np.array([1.0, -2.0, 3.0]) * (1 - 2 * 0.1)
    assert same and requires_grad
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    np.testing.assert_allclose(alias_values, expected, rtol=1e-6)
    assert refused is not None and "leaf Variable that requires grad" in refused


def test_initializing_through_data_and_apply(lib):
    def snippet(torch):
        nn = torch.nn

        def init_weights(m):
            if isinstance(m, nn.Linear):
                torch.nn.init.xavier_uniform_(m.weight)
                m.bias.data.fill_(0.01)

        net = nn.Sequential(nn.Linear(30, 20), nn.ReLU(), nn.Linear(20, 10))
        net.apply(init_weights)
        out = net(torch.ones(2, 30))
        out.sum().backward()  # the writes above must not have broken anything
        return ([m.bias.detach().numpy().copy() for m in (net[0], net[2])],
                [m.weight.detach().numpy().copy() for m in (net[0], net[2])],
                net[2].bias.grad.numpy())

    biases, weights, grad = snippet(lib)
    for bias in biases:
        np.testing.assert_allclose(bias, 0.01, rtol=1e-6)
    for weight in weights:  # xavier: uniform in +-sqrt(6 / (fan_in + fan_out))
        bound = math.sqrt(6 / sum(weight.shape))
        assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.5 * bound
    np.testing.assert_array_equal(grad, [2.0] * 10)


def test_torch_max_of_outputs_data_counts_correct_predictions(lib):
    def snippet(torch, logits, labels):
        outputs = torch.tensor(logits, requires_grad=True) * 1.0
        labels = torch.tensor(labels)
        correct, total = 0, 0
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
        values = torch.max(outputs.data, 1).values
        return correct, total, predicted.numpy(), values.numpy()

    rng = np.random.default_rng(8)
    logits = rng.standard_normal((9, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 9)
    correct, total, predicted, values = snippet(lib, logits, labels)
    assert (correct, total) == ((logits.argmax(1) == labels).sum(), 9)
    np.testing.assert_array_equal(predicted, logits.argmax(1))
    np.testing.assert_array_equal(values, logits.max(1))


def test_gradients_accumulate_until_zeroed_and_retain_graph(lib):
    def snippet(torch):
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        y = (x ** 3).sum()
        y.backward(retain_graph=True)
        first = x.grad.numpy().copy()
        y.backward()
        second = x.grad.numpy().copy()
        x.grad.zero_()
        (x * 5).sum().backward()
        return first, second, x.grad.numpy()

    first, second, third = snippet(lib)
    np.testing.assert_array_equal(first, [3.0, 12.0])
    np.testing.assert_array_equal(second, [6.0, 24.0])
    np.testing.assert_array_equal(third, [5.0, 5.0])
