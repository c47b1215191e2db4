"""Near-solutions of lab 05 (tinytorch.app.labs.mutation): each must fail a graded test."""
from tinytorch.app.labs.mutation import Mutant

MUTANTS = [
    Mutant("batch_indices drops the short last batch even without drop_last",
           "tinytorch/utils/data/dataloader.py", "DataLoader.batch_indices", """
stop = len(order) - len(order) % self.batch_size
return [order[start:start + self.batch_size] for start in range(0, stop, self.batch_size)]
"""),
    Mutant("batch_indices stops one index early, losing a last batch of one",
           "tinytorch/utils/data/dataloader.py", "DataLoader.batch_indices", """
stop = len(order)
if self.drop_last:
    stop -= stop % self.batch_size
return [order[start:start + self.batch_size] for start in range(0, stop - 1, self.batch_size)]
"""),
    Mutant("epoch_order shuffles with the global generator even when the loader has its own",
           "tinytorch/utils/data/dataloader.py", "DataLoader.epoch_order", """
if self.shuffle:
    return numpy_generator().permutation(examples)
return np.arange(examples)
"""),
    Mutant("epoch_order shuffles with numpy's own global generator, which manual_seed does not seed",
           "tinytorch/utils/data/dataloader.py", "DataLoader.epoch_order", """
if self.shuffle:
    return np.random.permutation(examples)
return np.arange(examples)
"""),
    Mutant("epoch_order draws one permutation and reuses it every epoch",
           "tinytorch/utils/data/dataloader.py", "DataLoader.epoch_order", """
if self.shuffle:
    if getattr(self, "_order", None) is None:
        self._order = numpy_generator(self.generator).permutation(examples)
    return self._order
return np.arange(examples)
"""),
    Mutant("_stack_tensors concatenates along the first axis instead of stacking on a new one",
           "tinytorch/utils/data/dataloader.py", "_stack_tensors", """
stacked = np.concatenate([np.atleast_1d(item.array) for item in batch])
return Tensor._wrap(stacked, False)
"""),
]
