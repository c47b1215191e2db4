"""The ``tinytorch`` command line.

Each sub-command is a thin front end over a function of the package, so that
everything the command does can also be done, and tested, from Python.
Heavy modules are imported inside the command that needs them: ``tinytorch
--help`` must answer instantly.
"""
from __future__ import annotations

import argparse
import sys


def _demo(args: argparse.Namespace) -> int:
    from tinytorch import demo

    demo.main(args.model, epochs=args.epochs, seed=args.seed, show_progress=not args.quiet)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinytorch",
        description="TinyTorch: build the ML stack from tensors to int8 C on a microcontroller.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    demo = commands.add_parser(
        "demo", help="train a network on handwritten digits and report its accuracy",
        description="Train a network on the bundled 8x8 digits with SGD and print its accuracy.")
    demo.add_argument("--model", choices=["mlp", "cnn"], default="mlp",
                      help="mlp: 64-128-64-10 (default); cnn: two conv + pool stages")
    demo.add_argument("--epochs", type=int, default=20, help="passes over the training set (default 20)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
