"""The four invariants of every lab, checked by running its tests on stubbed and mutated copies.

For each registered lab NN:

(a) the reference (the package as it is) passes all of NN's tests;
(b) with NN's regions stubbed, every one of NN's graded tests fails: no test
    gives away points for code the student has not written;
(c) with every *later* lab stubbed, NN's tests still pass and NN's tutorial
    runs, headless, as a script: neither a lab nor its tutorial depends on
    code that students only write in a later week;
(d) every mutant of NN (``mutation.py``: a plausible wrong solution) fails at
    least one of NN's graded tests: the tests catch real mistakes, not only
    missing code.

(a) also keeps the answer key honest: the tests are probes (``expect``), and
run here they compare with the key, so a key that no longer matches what the
reference produces fails (a); ``tinytorch lab answers`` remakes it.

A stubbed copy is not a copy of the repository.  Only the files holding
stubbed regions are written, into an *overlay* folder; the test process
imports every other file from the original tree (``runner.py``'s import
finder).  Unchanged files keep their path, so Numba's on-disk cache, which is
keyed by source path, stays valid and no kernel is recompiled.  When an
overlay does replace a kernel file, those runs set ``NUMBA_DISABLE_JIT=1``:
compiling the copied kernels would cost far more than running the small lab
tests in plain Python.

A tutorial runs the way a student runs it, ``python tutorials/NN_....py``,
with matplotlib drawing into files (``MPLBACKEND=Agg``), in a child process
that installs ``runner.py``'s import finder first (``TUTORIAL_RUNNER``), so
the same overlay serves it.  Numba stays on there: a stubbed kernel is quick
to compile, and a tutorial trains real models on the kernels it does not stub.

The runs are independent, so two go at once.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .mutation import load_mutants, mutated_source
from .regions import find_regions, stub_source
from .registry import LABS, Lab
from .sandbox import RUNNER, TestRun, run_tests

# python -c TUTORIAL_RUNNER ROOT OVERLAY SCRIPT: the script as __main__, importing
# tinytorch from ROOT with OVERLAY's files first (runner.py's finder; OVERLAY may be "").
TUTORIAL_RUNNER = """
import importlib.util, runpy, sys
from pathlib import Path
runner_path, root, overlay, script = sys.argv[1:5]
spec = importlib.util.spec_from_file_location("tinytorch_test_runner", runner_path)
runner = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runner)
sys.meta_path.insert(0, runner.TreeFinder(Path(root), Path(overlay) if overlay else None))
sys.argv, sys.path[0] = [script], str(Path(script).parent)
runpy.run_path(script, run_name="__main__")
"""


@dataclass
class Check:
    lab: Lab
    invariant: str  # "a", "b" or "c"
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def write_overlay(root: Path, labs: set[int], overlay: Path) -> list[Path]:
    """Write the files of ``root`` holding regions of ``labs``, stubbed, under ``overlay``."""
    written = []
    for relative in find_regions(root, labs):
        target = overlay / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(stub_source((root / relative).read_text(encoding="utf-8"), relative, labs),
                          encoding="utf-8")
        written.append(relative)
    return written


def _stubbed_run(root: Path, labs: set[int], overlay: Path) -> dict:
    """The keyword arguments of ``run_tests`` for a run with ``labs`` stubbed (overlay written now)."""
    written = write_overlay(root, labs, overlay)
    env = {"NUMBA_DISABLE_JIT": "1"} if any(path.parts[0] == "kernels" for path in written) else {}
    return {"map_imports": True, "overlay": overlay, "env": env}


def run_tutorial(root: Path, tutorial: Path, overlay: Path | None, timeout: float) -> str:
    """Run ``tutorial`` headless with the overlay's stubs; "" when it ends well, else why not."""
    with tempfile.TemporaryDirectory(prefix="tinytorch-tutorial-") as scratch:
        environment = {**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1",
                       "TINYTORCH_PLOT_DIR": str(Path(scratch) / "plots")}
        process = subprocess.Popen(
            [sys.executable, "-c", TUTORIAL_RUNNER, str(RUNNER), str(root),
             str(overlay or ""), str(root / tutorial)], cwd=scratch, env=environment,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            _, errors = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return f"tutorial {tutorial} did not finish in {timeout:g} s"
    if process.returncode == 0:
        return ""
    last = [line for line in errors.splitlines() if line.strip()][-1:] or [
        f"exit code {process.returncode}"]
    return f"tutorial {tutorial} fails: {last[0].strip()}"


def _tests_of(lab: Lab, run: TestRun) -> list[str]:
    from .grade import _belongs

    return [nodeid for nodeid in run.collected
            if any(_belongs(nodeid, selector) for selector in lab.selectors())]


def _describe(run: TestRun, nodeid: str) -> str:
    result = run.results.get(nodeid, {})
    return f"{nodeid}: {run.outcome(nodeid)} {result.get('message', '')}".rstrip()


def verify(root: Path, labs: list[Lab] | None = None, *, timeout: float = 120.0,
           stream: TextIO | None = sys.stdout) -> list[Check]:
    """Check invariants (a), (b), (c) and (d) for ``labs`` (default: every registered lab)."""
    labs = list(LABS if labs is None else labs)
    root = root.resolve()
    region_labs = {region.lab for regions in find_regions(root).values() for region in regions}
    checks: list[Check] = []

    def report(check: Check) -> None:
        checks.append(check)
        if stream is not None:
            status = "ok" if check.ok else "FAILED"
            print(f"lab {check.lab.tag} ({check.invariant}) {status}", file=stream)
            for problem in check.problems:
                print(f"    {problem}", file=stream)

    missing = {lab.number: [s for s in lab.selectors() if not (root / s.split("::")[0]).exists()]
               for lab in labs}
    all_selectors = [s for lab in labs for s in lab.selectors() if s not in missing[lab.number]]
    jobs = {}
    # Overlays are written here, in one thread: only the test processes run side by side
    # (Python 3.11's ast.parse is not safe to call from two threads at once).
    with tempfile.TemporaryDirectory(prefix="tinytorch-overlays-") as folder, \
            ThreadPoolExecutor(max_workers=2) as pool:
        jobs["reference"] = pool.submit(run_tests, root, all_selectors, timeout=timeout,
                                        map_imports=True)
        for lab in labs:
            selectors = [s for s in lab.selectors() if s not in missing[lab.number]]
            later = {number for number in region_labs if number > lab.number}
            for invariant, stubbed in (("b", {lab.number}), ("c", later)):
                if stubbed and (invariant == "c" or lab.number in region_labs):
                    options = _stubbed_run(root, stubbed, Path(folder) / f"{lab.tag}{invariant}")
                    jobs[(lab.number, invariant)] = pool.submit(
                        run_tests, root, selectors, timeout=timeout, **options)
        for lab in labs:  # (d): each mutant, stopping at the first test it fails
            for index, mutant in enumerate(load_mutants(root, lab.tag)):
                overlay = Path(folder) / f"{lab.tag}m{index}"
                target = overlay / mutant.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(mutated_source(root, mutant, lab.number), encoding="utf-8")
                env = {"PYTEST_ADDOPTS": "-x"}
                if mutant.path.startswith("kernels/"):
                    env["NUMBA_DISABLE_JIT"] = "1"
                jobs[(lab.number, "mutant", index)] = (mutant, pool.submit(
                    run_tests, root, [s for s in lab.selectors() if s not in missing[lab.number]],
                    timeout=timeout, map_imports=True, overlay=overlay, env=env))
        for lab in reversed(labs):  # later tutorials run longer: they go first
            if (root / lab.tutorial).is_file():
                later = {number for number in region_labs if number > lab.number}
                overlay = Path(folder) / f"{lab.tag}t"
                if later:
                    write_overlay(root, later, overlay)
                jobs[(lab.number, "tutorial")] = pool.submit(
                    run_tutorial, root, Path(lab.tutorial), overlay if later else None, timeout)
        reference = jobs["reference"].result()
        for lab in labs:
            problems = [f"missing test file {s}" for s in missing[lab.number]]
            tests = _tests_of(lab, reference)
            if not tests:
                problems.append("no tests collected" + (": " + reference.log[-1500:]
                                                        if reference.collect_errors else ""))
            problems += [_describe(reference, t) for t in tests if reference.outcome(t) != "passed"]
            problems += [f"cannot collect {e['nodeid']}: {e['message']}" for e in reference.collect_errors
                         if any(s.startswith(e["nodeid"]) for s in lab.selectors())]
            report(Check(lab, "a", problems))

            if lab.number not in region_labs:
                report(Check(lab, "b", ["the lab has no solution regions"]))
            else:
                stubbed = jobs[(lab.number, "b")].result()
                problems = [f"passes with lab {lab.tag} stubbed: {t}" for t in _tests_of(lab, stubbed)
                            if stubbed.outcome(t) in ("passed", "skipped")]
                report(Check(lab, "b", problems))

            problems = []
            if (lab.number, "c") in jobs:
                later_run = jobs[(lab.number, "c")].result()
                problems = [_describe(later_run, t) for t in _tests_of(lab, later_run)
                            if later_run.outcome(t) != "passed"]
                if len(_tests_of(lab, later_run)) < len(tests):
                    problems.append("some tests cannot even be collected with later labs stubbed")
            if (lab.number, "tutorial") in jobs:
                problems += [problem for problem in [jobs[(lab.number, "tutorial")].result()]
                             if problem]
            report(Check(lab, "c", problems))

            problems = []
            for key, job in jobs.items():
                if isinstance(key, tuple) and key[:2] == (lab.number, "mutant"):
                    mutant, run = job[0], job[1].result()
                    if not run.collected or all(run.outcome(t) == "passed" for t in run.collected):
                        problems.append(f"mutant {mutant.name!r} ({mutant.path}, "
                                        f"{mutant.function}) passes every graded test")
            if (lab.number, "mutant", 0) not in jobs and lab.number in region_labs:
                problems.append(f"no mutants in tests/labs/mutants/lab{lab.tag}.py")
            report(Check(lab, "d", problems))
    return checks
