"""Cold start: how long until TinyTorch does useful work.

    python benchmarks/cold_start.py

Measures, each in a fresh Python process:
1. ``import tinytorch`` (no kernel is compiled at import);
2. the first training step of the digits CNN with an *empty* Numba cache
   (every kernel it uses is compiled: the price of the first run after
   installing or editing a kernel);
3. the same with the cache *warm* (compiled code loaded from disk: the price
   of every later run).
The Numba cache goes to a temporary directory, so your own cache is untouched.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_description  # noqa: E402

IMPORT = "import time; t = time.perf_counter(); import tinytorch; print(time.perf_counter() - t)"
FIRST_STEP = """
import time
t = time.perf_counter()
import tinytorch
from tinytorch import nn, optim
from tinytorch.models import digits_cnn
model = digits_cnn()
optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = tinytorch.randn(32, 1, 8, 8), tinytorch.randint(0, 10, (32,))
optimizer.zero_grad()
nn.functional.cross_entropy(model(x), y).backward()
optimizer.step()
print(time.perf_counter() - t)
"""


def seconds(code: str, environment: dict[str, str]) -> float:
    output = subprocess.run([sys.executable, "-c", code], env=environment, check=True,
                            capture_output=True, text=True).stdout
    return float(output.strip().splitlines()[-1])


def main() -> None:
    print(f"Cold start; {machine_description()}")
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "NUMBA_CACHE_DIR": cache}
        results = {
            "import tinytorch": min(seconds(IMPORT, environment) for _ in range(3)),
            "first CNN step, empty Numba cache": seconds(FIRST_STEP, environment),
            "first CNN step, warm Numba cache": min(seconds(FIRST_STEP, environment) for _ in range(3)),
        }
    for name, value in results.items():
        print(f"  {name:<36} {value:7.2f} s")


if __name__ == "__main__":
    main()
