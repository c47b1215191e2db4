"""Progress bars: training reports to stderr, and a log keeps one line per bar."""
import subprocess
import sys

import numpy as np

import tinytorch
from tinytorch import nn, optim
from tinytorch.training import train_epoch
from tinytorch.utils.progress import progress_bar
from tinytorch.utils.data import DataLoader, TensorDataset


def tiny_training_run(show_progress):
    tinytorch.manual_seed(0)
    rng = np.random.default_rng(0)
    data = TensorDataset(tinytorch.tensor(rng.normal(size=(200, 4)).astype(np.float32)),
                         tinytorch.tensor(rng.integers(0, 3, size=200)))
    model = nn.Linear(4, 3)
    return train_epoch(model, DataLoader(data, batch_size=4), nn.CrossEntropyLoss(),
                       optim.SGD(model.parameters(), lr=0.1), "epoch 1/1", show_progress)


def test_training_bar_in_a_log_draws_start_and_end_only_with_the_mean_loss(capsys):
    mean_loss = tiny_training_run(show_progress=True)
    captured = capsys.readouterr()       # stderr is a capture buffer here: no terminal
    assert captured.out == ""
    records = [record for record in captured.err.split("\r") if record]
    assert len(records) == 2, records    # 50 batches, yet only the first and last draw
    assert records[0].startswith("epoch 1/1:   0%")
    assert records[1].startswith("epoch 1/1: 100%") and "50/50" in records[1]
    assert records[1].endswith(f"loss={mean_loss:.3g}]\n"), records[1]


def test_show_progress_false_writes_nothing(capsys):
    tiny_training_run(show_progress=False)
    assert capsys.readouterr().err == ""


def test_demo_log_has_one_line_per_epoch():
    result = subprocess.run([sys.executable, "-m", "tinytorch.app.cli", "demo", "--train-only",
                             "--model", "mlp", "--epochs", "3"],
                            capture_output=True, timeout=120)  # bytes: keep the "\r"
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    lines = stderr.split("\n")[:-1]
    assert len(lines) == 3, stderr
    for epoch, line in enumerate(lines, 1):
        final = line.split("\r")[-1]
        assert final.startswith(f"epoch  {epoch}/3: 100%") and "loss=" in final, line


def test_a_bar_iterates_its_loader_once_so_the_shuffle_order_does_not_depend_on_it():
    # A shuffling DataLoader draws a permutation per iter(); a bar that called iter()
    # twice would give training with and without progress different random paths.
    def three_shuffled_epochs(wrap):
        tinytorch.manual_seed(0)
        data = TensorDataset(tinytorch.tensor(np.arange(40, dtype=np.float32)))
        loader = DataLoader(data, batch_size=8, shuffle=True)
        return np.concatenate([batch[0].numpy().copy() for epoch in range(3)
                               for batch in wrap(loader, f"epoch {epoch}")])

    without_bar = three_shuffled_epochs(lambda loader, description: loader)
    for show_progress in (False, True):
        with_bar = three_shuffled_epochs(lambda loader, description: progress_bar(
            loader, description, enabled=show_progress))
        np.testing.assert_array_equal(with_bar, without_bar)
