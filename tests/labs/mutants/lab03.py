"""Near-solutions of lab 03 (tinytorch.app.labs.mutation): each must fail a graded test."""
from tinytorch.app.labs.mutation import Mutant

MUTANTS = [
    Mutant("__setattr__ registers a Parameter or Module without forgetting what the name held "
           "before (a plain attribute, a buffer, a child module)",
           "tinytorch/nn/module.py", "Module.__setattr__", """
registry = self._parameters if isinstance(value, Parameter) else self._modules
registry[name] = value
"""),
    Mutant("state_dict holds the parameters only and leaves out the buffers (BatchNorm2d's "
           "running statistics)", "tinytorch/nn/module.py", "Module._tensors_by_name", """
tensors = {}
for module_name, module in self.named_modules():
    dotted = f"{module_name}." if module_name else ""
    for name, param in module._parameters.items():
        if param is not None:
            tensors[dotted + name] = param
return tensors
"""),
    Mutant("state_dict also saves the buffers registered with persistent=False",
           "tinytorch/nn/module.py", "Module._tensors_by_name", """
tensors = {}
for module_name, module in self.named_modules():
    dotted = f"{module_name}." if module_name else ""
    for name, param in module._parameters.items():
        if param is not None:
            tensors[dotted + name] = param
    for name, buffer in module._buffers.items():
        if buffer is not None:
            tensors[dotted + name] = buffer
return tensors
"""),
    Mutant("Linear's forward adds the bias even when there is none (Linear(bias=False) raises)",
           "tinytorch/ops/matmul.py", "Linear.forward", """
return x @ weight.T + bias
"""),
    Mutant("mse_loss takes the mean whatever the reduction asks for",
           "tinytorch/ops/loss.py", "mse_loss", """
squared = (input - target) ** 2
if reduction == "none":
    return squared
return squared.mean()
"""),
    Mutant("log_softmax does not subtract the maximum first, so large logits overflow",
           "tinytorch/ops/softmax.py", "log_softmax_array", """
return x - np.log(sum_along(np.exp(x), axis=axis, keepdims=True))
"""),
]
