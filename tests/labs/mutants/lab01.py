"""Near-solutions of lab 01 (tinytorch.app.labs.mutation): each must fail a graded test."""
from tinytorch.app.labs.mutation import Mutant

MUTANTS = [
    Mutant("unbroadcast sums the leading axes but forgets the stretched size-1 ones",
           "tinytorch/ops/arithmetic.py", "unbroadcast", """
while grad.ndim > len(shape):
    grad = grad.sum(axis=0)
return grad
"""),
]
