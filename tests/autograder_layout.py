"""A Gradescope layout in a temporary folder, and run_autograder run on it as Gradescope would."""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tinytorch.app.labs.autograder import build_autograder


def autograder_layout(root: Path, lab: int, base: Path) -> Path:
    """``base/autograder`` with the bundle of ``lab`` unpacked in ``source``.  Only the grader
    (root, where the tests run as root) reads it: the sandbox works on copies elsewhere."""
    layout = base / "autograder"
    (layout / "results").mkdir(parents=True)
    (layout / "submission").mkdir()
    build_autograder(lab, root, base / "bundle.zip")
    with zipfile.ZipFile(base / "bundle.zip") as bundle:
        bundle.extractall(layout / "source")
    os.chmod(layout / "source" / "run_autograder", 0o755)
    return layout


def run_autograder(layout: Path, repository: Path) -> dict:
    """Put ``repository`` in the submission, run the bundle's run_autograder, read results.json."""
    submission = layout / "submission"
    shutil.rmtree(submission)
    shutil.copytree(repository, submission / "tinytorch-lab", symlinks=True)
    results = layout / "results" / "results.json"
    results.unlink(missing_ok=True)
    environment = {**os.environ, "AUTOGRADER_ROOT": str(layout),
                   "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    process = subprocess.run(["bash", str(layout / "source" / "run_autograder")],
                             env=environment, capture_output=True, text=True, timeout=900)
    assert process.returncode == 0, process.stderr[-3000:]
    return json.loads(results.read_text(encoding="utf-8"))
