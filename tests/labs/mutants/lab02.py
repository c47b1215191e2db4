"""Near-solutions of lab 02 (tinytorch.app.labs.mutation): each must fail a graded test."""
from tinytorch.app.labs.mutation import Mutant

MUTANTS = [
    Mutant("topological_order walks the graph breadth first, so a tensor can come before "
           "one of its consumers", "tinytorch/autograd/engine.py", "topological_order", """
order: list[Tensor] = []
visited: set[int] = set()
queue: list[Tensor] = [root]
while queue:
    tensor = queue.pop(0)
    if id(tensor) in visited:
        continue
    visited.add(id(tensor))
    order.append(tensor)
    node = tensor.grad_fn
    if node is not None:
        for _, parent in node.parents:
            queue.append(parent)
return order
"""),
    Mutant("backward keeps only the last gradient of a tensor used twice instead of the sum",
           "tinytorch/autograd/engine.py", "backward", """
pending[id(parent)] = parent_grad
"""),
    Mutant("Mul's backward swaps the factors: d(a*b)/da taken as a",
           "tinytorch/ops/arithmetic.py", "Mul.backward", """
return (unbroadcast(grad * a, a_shape) if needs_a else None,
        unbroadcast(grad * b, b_shape) if needs_b else None)
"""),
    Mutant("Div's backward forgets the minus sign of d(a/b)/db",
           "tinytorch/ops/arithmetic.py", "Div.backward", """
grad_a = unbroadcast(grad / b, a_shape) if needs_a else None
grad_b = unbroadcast(grad * a / (b * b), b_shape) if needs_b else None
"""),
    Mutant("Exp's backward returns exp(x) without multiplying by the incoming gradient",
           "tinytorch/ops/pointwise.py", "Exp.backward", """
return result
"""),
    Mutant("Log's backward returns 1/x without multiplying by the incoming gradient",
           "tinytorch/ops/pointwise.py", "Log.backward", """
return 1 / x
"""),
]
