"""The differentiable operations, one family per file (each a ``Function``)."""
