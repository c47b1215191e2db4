"""Near-solutions of lab 04 (tinytorch.app.labs.mutation): each must fail a graded test."""
from tinytorch.app.labs.mutation import Mutant

MUTANTS = [
    Mutant("SGD adds the weight decay before maximize flips the gradient's sign",
           "tinytorch/optim/sgd.py", "SGD.update", """
if weight_decay != 0:
    grad = grad + weight_decay * param.array
if maximize:
    grad = -grad
if momentum != 0:
    state = self.state.setdefault(param, {})
    buffer = state.get("momentum_buffer")
    if buffer is None:
        buffer = state["momentum_buffer"] = grad.copy()
    else:
        buffer *= momentum
        buffer += grad if dampening == 0 else (1 - dampening) * grad
    grad = grad + momentum * buffer if nesterov else buffer
param.array -= lr * grad
"""),
    Mutant("Adam corrects the first moment's bias but forgets the second's",
           "tinytorch/optim/adam.py", "Adam.update", """
if group["maximize"]:
    grad = -grad
state["step"] += 1
step = state["step"]
if weight_decay != 0:
    if decoupled:
        param.array *= 1 - lr * weight_decay
    else:
        grad = grad + weight_decay * param.array
exp_avg += (1 - beta1) * (grad - exp_avg)
exp_avg_sq *= beta2
exp_avg_sq += (1 - beta2) * np.square(grad)
if group["amsgrad"]:
    second_moment = np.maximum(state["max_exp_avg_sq"], exp_avg_sq,
                               out=state["max_exp_avg_sq"])
else:
    second_moment = exp_avg_sq
step_size = lr / (1 - beta1 ** step)
denominator = np.sqrt(second_moment)
denominator += eps
param.array -= step_size * (exp_avg / denominator)
"""),
    Mutant("StepLR counts the decays from epoch 1 instead of epoch 0",
           "tinytorch/optim/lr_scheduler.py", "StepLR.get_lr", """
decays = (self.last_epoch + 1) // self.step_size
return [base_lr * self.gamma ** decays for base_lr in self.base_lrs]
"""),
    Mutant("CosineAnnealingLR swings the whole starting rate on top of eta_min",
           "tinytorch/optim/lr_scheduler.py", "CosineAnnealingLR.get_lr", """
cosine = math.cos(math.pi * self.last_epoch / self.T_max)
return [self.eta_min + base_lr * (1 + cosine) / 2 for base_lr in self.base_lrs]
"""),
    Mutant("clip_grad_norm_'s inf-norm takes the largest value instead of the largest magnitude",
           "tinytorch/nn/utils/clip_grad.py", "clip_grad_norm_", """
if norm_type == math.inf:
    total_norm = float(np.max([np.max(g, initial=0.0) for g in gradients]))
else:
    total_norm = sum(float(np.sum(np.abs(g, dtype=np.float64) ** norm_type))
                     for g in gradients) ** (1.0 / norm_type)
"""),
    Mutant("clip_grad_value_ clamps only from above",
           "tinytorch/nn/utils/clip_grad.py", "clip_grad_value_", """
np.minimum(g, clip_value, out=g)
"""),
]
