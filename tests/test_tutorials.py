"""Every tutorial runs headless, as a script, on the reference solution."""
import os
import pathlib
import subprocess
import sys

import pytest

TUTORIALS = sorted((pathlib.Path(__file__).parent.parent / "tutorials").glob("[0-9][0-9]_*.py"))


def test_there_are_tutorials():
    assert TUTORIALS


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs(path, tmp_path):
    plots = tmp_path / "plots"
    result = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120,
                            env={**os.environ, "MPLBACKEND": "Agg", "TINYTORCH_PLOT_DIR": str(plots)})
    assert result.returncode == 0, result.stderr[-2000:]
    # A tutorial that draws figures saves each one as a PNG when there is no display.
    if "matplotlib" in path.read_text(encoding="utf-8"):
        saved = sorted(plots.glob("*.png"))
        assert saved, f"{path.name} drew no figure into {plots}"
        assert all(png.read_bytes().startswith(b"\x89PNG") for png in saved)
