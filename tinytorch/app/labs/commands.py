"""The ``tinytorch lab ...`` and ``tinytorch grade NN`` commands.

The parsers are built here and hung onto the main ``tinytorch`` parser by
``add_commands``; each command imports what it needs when it runs, so that
``tinytorch --help`` stays instant.  ``main`` runs the same commands on their
own, which is how the Gradescope bundle calls its copy of this package.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _lab_numbers(text: str) -> list[int]:
    """``--labs 1-3,5``: registered labs only."""
    from .registry import check_registered, parse_lab_numbers

    try:
        return check_registered(parse_lab_numbers(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _lab_number(text: str) -> int:
    """One registered lab: ``03`` or ``3``."""
    from .registry import check_registered

    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a lab number, e.g. 03, not {text!r}") from None
    try:
        return check_registered([number])[0]
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _seconds(text: str) -> float:
    """A time limit: a positive, finite number of seconds."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of seconds, not {text!r}") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"the time limit must be a positive number of seconds, "
                                         f"not {text}")
    return seconds


def _list(args: argparse.Namespace) -> int:
    from .grade import find_working_tree
    from .regions import find_regions
    from .registry import LABS

    root = find_working_tree(args.root)
    counts: dict[int, int] = {}
    for regions in find_regions(root).values():
        for region in regions:
            counts[region.lab] = counts.get(region.lab, 0) + 1
    width = max(len(lab.title) for lab in LABS)
    print(f"{'lab':<4} {'title':<{width}} {'regions':>7} {'selectors':>9}  tutorial")
    for lab in LABS:
        tutorial = lab.tutorial if (root / lab.tutorial).exists() else f"{lab.tutorial} (not written yet)"
        print(f"{lab.tag:<4} {lab.title:<{width}} {counts.get(lab.number, 0):>7} "
              f"{len(lab.selectors()):>9}  {tutorial}")
    return 0


def _release(args: argparse.Namespace) -> int:
    from .grade import find_working_tree
    from .release import ReleaseError, release

    try:
        stubbed = release(find_working_tree(args.root), args.out, args.labs, args.keep_solutions)
    except ReleaseError as error:
        print(f"tinytorch lab release: {error}", file=sys.stderr)
        return 1
    print(f"student release written to {args.out}: {len(stubbed)} file(s) with stubbed regions")
    for path in stubbed:
        print(f"  {path}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from .grade import find_working_tree
    from .registry import LABS
    from .verify import verify

    labs = [lab for lab in LABS if not args.labs or lab.number in args.labs]
    checks = verify(find_working_tree(args.root), labs, timeout=args.timeout)
    failed = [check for check in checks if not check.ok]
    print(f"{len(checks) - len(failed)} of {len(checks)} checks passed")
    return 1 if failed else 0


def _answers(args: argparse.Namespace) -> int:
    from .answer_key import AnswerKeyError, write_keys
    from .grade import find_working_tree
    from .registry import LABS

    numbers = args.labs or [lab.number for lab in LABS]
    try:
        written = write_keys(find_working_tree(args.root), numbers)
    except AnswerKeyError as error:
        print(f"tinytorch lab answers: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"  {path}")
    print(f"{len(written)} answer key file(s) written")
    return 0


def _autograder(args: argparse.Namespace) -> int:
    from .autograder import build_autograder
    from .grade import find_working_tree
    from .manifest import ManifestError

    try:
        names = build_autograder(args.lab, find_working_tree(args.root), args.out)
    except (FileNotFoundError, ManifestError) as error:
        print(f"tinytorch lab autograder: {error}", file=sys.stderr)
        return 1
    print(f"Gradescope autograder for lab {args.lab:02d} written to {args.out} ({len(names)} files)")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from .grade import Grade, GradingRefused, grade, print_table, write_results
    from .registry import get_lab

    try:
        result = grade(args.lab, args.root, timeout=args.timeout,
                       import_from_tree=args.import_from_tree, manifest=args.manifest)
    except GradingRefused as error:
        print(f"tinytorch grade: refusing to grade: {error}", file=sys.stderr)
        if args.results:
            write_results(Grade(get_lab(args.lab), [], 0.0, [str(error)]), args.results)
        return 2
    print_table(result, verbose=args.verbose)
    if args.results:
        write_results(result, args.results)
        print(f"results written to {args.results}")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``lab`` (list, release, verify, answers, autograder) and ``grade`` to a sub-command
    table."""
    root_help = "the working tree (default: the one holding the current directory)"
    lab = commands.add_parser("lab", help="weekly labs: list, student release, checks, autograder",
                              description="Instructor tools for the weekly labs.")
    lab_commands = lab.add_subparsers(dest="lab_command", metavar="LAB_COMMAND")
    lab_commands.required = True

    listing = lab_commands.add_parser("list", help="the labs, their regions, tests and tutorials")
    listing.add_argument("--root", type=Path, help=root_help)
    listing.set_defaults(run=_list)

    release = lab_commands.add_parser(
        "release", help="write a student repository with the chosen labs stubbed",
        description="Copy the tracked files into a new repository for students, with the "
                    "solution regions of the chosen labs stubbed and hidden tests left out.")
    release.add_argument("--labs", type=_lab_numbers, required=True, help="e.g. 1-10 or 1,3,5")
    release.add_argument("--out", type=Path, required=True, help="a new (or empty) folder")
    release.add_argument("--keep-solutions", type=_lab_numbers, default=[],
                         help="labs whose solutions stay in, as a worked reference (e.g. 1-3)")
    release.add_argument("--root", type=Path, help=root_help)
    release.set_defaults(run=_release)

    verify = lab_commands.add_parser(
        "verify", help="check every lab's invariants (reference passes, stubs fail, no future)",
        description="For each lab: (a) the reference passes its tests (its answer key is "
                    "current); (b) with the lab stubbed every graded test fails; (c) with every "
                    "later lab stubbed they pass and its tutorial runs; (d) each of its mutants "
                    "fails a graded test.")
    verify.add_argument("--labs", type=_lab_numbers, default=[], help="only these labs")
    verify.add_argument("--timeout", type=_seconds, default=120.0, help="seconds per test (120)")
    verify.add_argument("--root", type=Path, help=root_help)
    verify.set_defaults(run=_verify)

    answers = lab_commands.add_parser(
        "answers", help="write the labs' answer keys: their probes run on the reference",
        description="Run each lab's graded tests (probes) on the reference solution and write "
                    "what they produce as the lab's answer key (tests/labs/answers/, "
                    "tests/labs/hidden/answers/). Run it after changing a lab's tests.")
    answers.add_argument("--labs", type=_lab_numbers, default=[], help="only these labs")
    answers.add_argument("--root", type=Path, help=root_help)
    answers.set_defaults(run=_answers)

    bundle = lab_commands.add_parser("autograder", help="write a Gradescope autograder zip for a lab")
    bundle.add_argument("lab", type=_lab_number, help="lab number, e.g. 03")
    bundle.add_argument("--out", type=Path, required=True, help="the zip file to write")
    bundle.add_argument("--root", type=Path, help=root_help)
    bundle.set_defaults(run=_autograder)

    grading = commands.add_parser(
        "grade", help="run a lab's tests on your code and score them",
        description="Run lab NN's tests on the code in this working tree, each with a time "
                    "limit, print a table and optionally write Gradescope's results.json.")
    grading.add_argument("lab", type=_lab_number, help="lab number, e.g. 01")
    grading.add_argument("--results", type=Path, help="write Gradescope's results.json here")
    grading.add_argument("--timeout", type=_seconds, default=60.0, help="seconds per test (60)")
    grading.add_argument("--verbose", "-v", action="store_true",
                         help="show each failure's whole report (the traceback) below the table")
    grading.add_argument("--manifest", type=Path,
                         help="the graded tests (default: tests/labs/graded_tests.json if there, "
                              "else the tests collected here)")
    grading.add_argument("--root", type=Path, help=root_help)
    grading.add_argument("--import-from-tree", action="store_true",
                         help="import tinytorch from the working tree even if it is not installed")
    grading.set_defaults(run=_grade)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tinytorch")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    add_commands(commands)
    args = parser.parse_args(argv)
    return args.run(args)
