"""What process tuning buys: training steps with and without ``tinytorch.kernels.tune_process``.

    python benchmarks/process_tuning.py [--threads 1] [--rounds 2] [--models mlp,cnn,lenet]

Runs ``train_step.py`` and ``train_step.py --no-tune`` in fresh processes,
alternating, ``--rounds`` times each (glibc's memory setting cannot be undone
inside a process, and the OpenMP wait policy is read once, at start), and
prints each library's best step time in both kinds of process and the ratio
untuned / tuned.  PyTorch's column moves too: its OpenMP threads obey the same
wait policy when it is set before PyTorch loads, as ``train_step.py`` does.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_description  # noqa: E402

TRAIN_STEP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_step.py")
MODEL_LINE = re.compile(r"^(\w+) \(batch \d+\):$")
TIMING_LINE = re.compile(r"^  (\S.*?)\s+([\d.]+) ms/step")


def step_times(arguments: list[str]) -> dict[tuple[str, str], float]:
    """{(model, candidate): ms per step} from one run of ``train_step.py``."""
    environment = {name: value for name, value in os.environ.items() if name != "OMP_WAIT_POLICY"}
    output = subprocess.run([sys.executable, TRAIN_STEP, *arguments], env=environment,
                            check=True, capture_output=True, text=True).stdout
    times, model = {}, ""
    for line in output.splitlines():
        if match := MODEL_LINE.match(line):
            model = match.group(1)
        elif (match := TIMING_LINE.match(line)) and model:
            times[(model, match.group(1))] = float(match.group(2))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each kind (default 2)")
    parser.add_argument("--models", default="mlp,cnn,lenet")
    args = parser.parse_args()
    common = ["--threads", str(args.threads), "--models", args.models]
    best: dict[str, dict[tuple[str, str], float]] = {"tuned": {}, "untuned": {}}
    for _ in range(args.rounds):
        for kind, extra in (("tuned", []), ("untuned", ["--no-tune"])):
            for key, milliseconds in step_times(common + extra).items():
                best[kind][key] = min(best[kind].get(key, float("inf")), milliseconds)
    print(f"Training step in a tuned and an untuned process, best of {args.rounds} runs each, "
          f"{args.threads} thread(s); {machine_description()}")
    print(f"  {'model':<6} {'library':<16} {'tuned':>10} {'untuned':>10} {'untuned/tuned':>14}")
    for (model, candidate), tuned in best["tuned"].items():
        if candidate not in ("tinytorch", "pytorch") or (model, candidate) not in best["untuned"]:
            continue
        untuned = best["untuned"][(model, candidate)]
        print(f"  {model:<6} {candidate:<16} {tuned:7.3f} ms {untuned:7.3f} ms "
              f"{untuned / tuned:13.2f}x")


if __name__ == "__main__":
    main()
