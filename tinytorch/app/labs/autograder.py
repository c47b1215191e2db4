"""The Gradescope autograder for one lab, as the zip file Gradescope asks for.

Gradescope builds an image from the zip's ``setup.sh`` once, then for every
submission runs ``run_autograder``, with the zip unpacked in
``/autograder/source`` and the student's files in ``/autograder/submission``,
and reads ``/autograder/results/results.json``.  The bundle holds:

* ``setup.sh``: installs what the tests need (numpy, numba, pytest, hypothesis,
  and for the code-generation labs a C compiler, ziglang, unicorn, pyelftools,
  and tflite, the reader of the .tflite files lab 11 imports);
* ``run_autograder``: hands everything to ``grader/autograde.py``, the
  bundle's own grading code (a copy of ``tinytorch/app/labs``, imported as
  ``grader``; the student's copy of it is never run): it copies the
  student's repository without its tests and pytest configuration, runs
  the instructor's visible tests, then the hidden ones, each confined and in
  record mode, and judges the records against the answer key
  (``autograde.py`` and ``verdict.py`` explain why this cannot be gamed);
* ``tests/``: the lab's visible and hidden test files;
* ``answers/``: the lab's answer key (``answer_key.py``), kept out of every
  folder a test process can read;
* ``graded_tests.json``: the lab's graded tests and their points, collected
  from the reference when the bundle is built (``manifest.py``).  The grader
  scores against it, so a submission whose tests do not even load scores 0
  out of the full total, test by test.

The zip is written beside its final name and renamed into place.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

from .answer_key import key_path
from .manifest import manifest_text
from .registry import get_lab

LABS_PACKAGE = Path(__file__).parent
MANIFEST_NAME = "graded_tests.json"
EXECUTABLE = 0o100755 << 16
REGULAR = 0o100644 << 16

SETUP = """#!/usr/bin/env bash
# Runs once, when Gradescope builds the image: what the lab's tests need.  The
# code-generation labs build C for the host (a C compiler) and for Cortex-M
# (the pip-installed cross compiler and emulator); lab 11 reads .tflite files.
set -euo pipefail
if ! command -v cc >/dev/null 2>&1; then
  apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev
fi
python3 -m pip install --quiet "numpy>=1.24" "numba>=0.59" "tqdm>=4.60" "pytest>=7" "hypothesis>=6" \
  "ziglang>=0.13" "unicorn==2.1.4" "pyelftools>=0.29" "tflite>=2.18"
"""

RUN = """#!/usr/bin/env bash
# Grades one submission of lab {tag}: {title}.  All of it happens in the grader's
# own process (grader/autograde.py), which never imports the student's code.
set -uo pipefail
AUTOGRADER=${{AUTOGRADER_ROOT:-/autograder}}
cd "$AUTOGRADER/source"
python3 -c "import sys; from grader.autograde import main; sys.exit(main(sys.argv[1:]))" \\
  {number} --source "$AUTOGRADER/source" --submission "$AUTOGRADER/submission" \\
  --results "$AUTOGRADER/results/results.json" --timeout "${{TINYTORCH_TEST_TIMEOUT:-60}}"
"""


def _add(bundle: zipfile.ZipFile, name: str, data: bytes | str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = EXECUTABLE if executable else REGULAR
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, data)


def build_autograder(number: int, root: Path, out: Path) -> list[str]:
    """Write lab ``number``'s Gradescope bundle to ``out``; returns the names inside."""
    lab = get_lab(number)
    root, out = Path(root).resolve(), Path(out)
    test_files = sorted({selector.split("::")[0] for selector in lab.selectors(include_hidden=True)})
    missing = [name for name in test_files if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(f"lab {lab.tag}: test files not found: {', '.join(missing)}")
    partial = out.with_name(out.name + ".partial")
    out.parent.mkdir(parents=True, exist_ok=True)
    graded_tests = manifest_text(root, [lab], include_hidden=True)
    with zipfile.ZipFile(partial, "w") as bundle:
        _add(bundle, "setup.sh", SETUP, executable=True)
        run = RUN.format(tag=lab.tag, title=lab.title, number=lab.number)
        _add(bundle, "run_autograder", run, executable=True)
        _add(bundle, MANIFEST_NAME, graded_tests)
        for module in sorted(LABS_PACKAGE.glob("*.py")):
            _add(bundle, f"grader/{module.name}", module.read_bytes())
        for name in test_files:
            _add(bundle, f"tests/{Path(name).relative_to('tests').as_posix()}", (root / name).read_bytes())
        for hidden in (False, True):  # the answer key, never copied where tests run
            key = key_path(root, lab, hidden)
            if key.exists():
                _add(bundle, f"answers/{key.relative_to(root).as_posix()}", key.read_bytes())
        names = bundle.namelist()
    os.replace(partial, out)
    return names
