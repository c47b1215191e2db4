"""Device boilerplate: the CPU is accepted everywhere, any other device is refused clearly."""
import numpy as np
import pytest

import tinytorch
from tinytorch.autograd import gradcheck

CPU_ONLY = "TinyTorch runs on the CPU only; device '{}' is not available"


def test_device_names_parse_like_pytorch():
    cpu = tinytorch.device("cpu")
    assert (cpu.type, cpu.index, str(cpu), repr(cpu)) == ("cpu", None, "cpu", "device(type='cpu')")
    cuda = tinytorch.device("cuda:1")  # naming a device is fine; using it is not
    assert (cuda.type, cuda.index, str(cuda), repr(cuda)) == ("cuda", 1, "cuda:1",
                                                              "device(type='cuda', index=1)")
    assert tinytorch.device("cuda", 0) == tinytorch.device("cuda:0") != tinytorch.device("cuda")
    assert tinytorch.device("cpu:0") != cpu and tinytorch.device(cpu) == cpu
    assert hash(tinytorch.device("cpu")) == hash(cpu) and cpu != "cpu"


@pytest.mark.parametrize("args, message", [
    (("gpu",), "device type at start of device string: gpu"),
    (("CPU",), "device type at start of device string: CPU"),
    (("cuda:x",), "Invalid device string: 'cuda:x'"),
    (("cuda:-1",), "Invalid device string: 'cuda:-1'"),
    (("cuda", -1), "Device index must not be negative"),
    (("cuda:0", 1), "must not include an index because index was passed explicitly"),
    ((0,), "device 0 (an accelerator index) is not available"),
])
def test_bad_device_names_raise(args, message):
    with pytest.raises(RuntimeError) as error:
        tinytorch.device(*args)
    assert message in str(error.value)


def test_cuda_is_never_available():
    assert tinytorch.cuda.is_available() is False and tinytorch.cuda.device_count() == 0


def test_tensor_device_properties():
    x = tinytorch.ones(2)
    assert x.device == tinytorch.device("cpu") and str(x.device) == "cpu"
    assert x.is_cuda is False and x.cpu() is x


def test_to_returns_self_when_nothing_changes():
    x = tinytorch.ones(2)
    for args, kwargs in [(("cpu",), {}), ((tinytorch.float32,), {}), ((tinytorch.device("cpu"),), {}),
                         ((tinytorch.zeros(1),), {}), ((), {"device": "cpu"}),
                         ((), {"dtype": tinytorch.float32}), (("cpu:0", tinytorch.float32), {})]:
        assert x.to(*args, **kwargs) is x


def test_to_converts_dtypes_through_every_overload():
    x = tinytorch.tensor([1.5, -2.0])
    assert x.to(tinytorch.float64).dtype == np.float64
    assert x.to("cpu", tinytorch.float64).dtype == np.float64
    assert x.to(tinytorch.device("cpu"), dtype=tinytorch.int64).tolist() == [1, -2]
    assert x.to(tinytorch.zeros(1, dtype=tinytorch.int32)).dtype == np.int32
    assert x.to(device="cpu", dtype=tinytorch.float64).dtype == np.float64
    assert x.to(float).dtype == np.float64  # Python's float is float64, as in PyTorch
    copy = x.to(tinytorch.float32, copy=True)
    assert copy is not x and not np.shares_memory(copy.array, x.array)
    assert x.to("cpu", copy=True) is not x
    with pytest.raises(TypeError, match="multiple values for argument 'dtype'"):
        x.to(tinytorch.float64, dtype=tinytorch.float32)
    with pytest.raises(TypeError, match="unexpected keyword argument 'other'"):
        x.to(other=x)


def test_to_keeps_gradients_flowing():
    x = tinytorch.tensor([0.5, 2.0], dtype=tinytorch.float64, requires_grad=True)
    assert gradcheck(lambda t: t.to(tinytorch.float32).to("cpu", tinytorch.float64) * 3, x, eps=1e-3)
    assert gradcheck(lambda t: t.to(copy=True) * 3, x)


def test_moving_to_another_device_raises_one_clear_error():
    x = tinytorch.ones(2)
    for call, op, name in [(lambda: x.to("cuda"), "to", "cuda"),
                           (lambda: x.to(tinytorch.device("cuda", 1)), "to", "cuda:1"),
                           (lambda: x.to(device="mps", dtype=tinytorch.float64), "to", "mps"),
                           (lambda: x.cuda(), "cuda", "cuda"),
                           (lambda: x.cuda(1), "cuda", "cuda:1")]:
        with pytest.raises(RuntimeError) as error:
            call()
        assert str(error.value) == f"{op}: " + CPU_ONLY.format(name)


def test_a_dtype_name_is_not_a_device():
    with pytest.raises(RuntimeError, match="'float64' is not a device"):
        tinytorch.ones(2).to("float64")


FACTORIES = {
    "tensor": lambda device: tinytorch.tensor([1.0], device=device),
    "as_tensor": lambda device: tinytorch.as_tensor([1.0], device=device),
    "zeros": lambda device: tinytorch.zeros(2, device=device),
    "ones": lambda device: tinytorch.ones(2, device=device),
    "empty": lambda device: tinytorch.empty(2, device=device),
    "full": lambda device: tinytorch.full((2,), 3.0, device=device),
    "eye": lambda device: tinytorch.eye(2, device=device),
    "arange": lambda device: tinytorch.arange(3, device=device),
    "linspace": lambda device: tinytorch.linspace(0, 1, 3, device=device),
    "rand": lambda device: tinytorch.rand(2, device=device),
    "randn": lambda device: tinytorch.randn(2, device=device),
    "randint": lambda device: tinytorch.randint(0, 5, (2,), device=device),
    "randperm": lambda device: tinytorch.randperm(3, device=device),
    "zeros_like": lambda device: tinytorch.zeros_like(tinytorch.ones(2), device=device),
    "ones_like": lambda device: tinytorch.ones_like(tinytorch.ones(2), device=device),
    "full_like": lambda device: tinytorch.full_like(tinytorch.ones(2), 1.0, device=device),
    "rand_like": lambda device: tinytorch.rand_like(tinytorch.ones(2), device=device),
    "randn_like": lambda device: tinytorch.randn_like(tinytorch.ones(2), device=device),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factories_accept_the_cpu_and_refuse_other_devices(name):
    make = FACTORIES[name]
    for cpu in (None, "cpu", tinytorch.device("cpu"), "cpu:0"):
        assert isinstance(make(cpu), tinytorch.Tensor)
    op = name.replace("_like", "") if name.endswith("_like") else name
    for device, shown in (("cuda", "cuda"), (tinytorch.device("cuda", 0), "cuda:0")):
        with pytest.raises(RuntimeError) as error:
            make(device)
        assert str(error.value) == f"{op}: " + CPU_ONLY.format(shown)


# ----- PyTorch, side by side ---------------------------------------------------------------
@pytest.mark.parametrize("args", [("cpu",), ("cuda",), ("cuda:1",), ("cuda", 2), ("cpu:0",), ("mps",)])
def test_devices_print_like_pytorch(args):
    torch = pytest.importorskip("torch")
    ours, theirs = tinytorch.device(*args), torch.device(*args)
    assert (str(ours), repr(ours), ours.type, ours.index) == \
        (str(theirs), repr(theirs), theirs.type, theirs.index)


@pytest.mark.parametrize("args", [("gpu",), ("cuda:x",), ("cuda", -1), ("cuda:0", 1)])
def test_bad_devices_raise_like_pytorch(args):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.device(*args)
    with pytest.raises(RuntimeError):
        tinytorch.device(*args)


def test_to_returns_self_like_pytorch():
    torch = pytest.importorskip("torch")
    for module in (torch, tinytorch):
        x = module.ones(2)
        assert x.to("cpu") is x and x.to(module.float32) is x
        assert x.to(module.float32, copy=True) is not x
        assert module.cuda.is_available() is False or module is torch


def test_another_librarys_device_objects_are_read_by_type_and_index():
    torch = pytest.importorskip("torch")
    assert tinytorch.device(torch.device("cuda", 1)) == tinytorch.device("cuda:1")
    x = tinytorch.ones(2)
    assert x.to(torch.device("cpu")) is x
    with pytest.raises(RuntimeError, match="to: TinyTorch runs on the CPU only; device 'cuda:1'"):
        x.to(torch.device("cuda:1"))
