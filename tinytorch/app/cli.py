"""The ``tinytorch`` command line.

Each sub-command is a thin front end over a function of the package, so that
everything the command does can also be done, and tested, from Python.
Heavy modules are imported inside the command that needs them: ``tinytorch
--help`` must answer instantly.  Run as a program, the command owns its
process, so it applies the process-wide tuning
(``tinytorch.kernels.tune_process``) before any command runs; the child
processes it starts inherit the thread wait policy.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter


MLPERF_TINY = ("kws", "resnet", "vww", "ad")  # tinytorch.app.mlperf_tiny.MODELS, without importing it


def _demo(args: argparse.Namespace) -> int:
    if args.model in MLPERF_TINY:
        return _mlperf_demo(args)
    from tinytorch.app import demo

    if args.train_only:
        result = demo.main(args.model, epochs=args.epochs, seed=args.seed,
                           show_progress=not args.quiet)
        model = result.model
    else:
        result = demo.run_end_to_end(args.model, epochs=args.epochs, seed=args.seed,
                                     target=args.target, out=args.out,
                                     clock_mhz=args.clock_mhz or 100.0,
                                     show_progress=not args.quiet, toolchain_name=args.toolchain)
        model = result.training.model
        print()
        print(result.summary())
    if args.save:
        from tinytorch.models import save_model

        save_model(model, demo.MODELS[args.model][2], args.save)
        print(f"saved {args.save}")
    return 0 if args.train_only or result.bit_exact else 1


def _mlperf_demo(args: argparse.Namespace) -> int:
    from tinytorch.app.mlperf import run_reference_model

    for option, given in (("--train-only", args.train_only), ("--save", args.save),
                          ("--out", args.out)):
        if given:
            raise ValueError(f"{option} applies to the digits models (cnn, mlp); "
                             f"{args.model} is a trained .tflite model")
    result = run_reference_model(args.model, target=args.target, samples=args.samples,
                                 clock_mhz=args.clock_mhz or 120.0,
                                 show_progress=not args.quiet, toolchain_name=args.toolchain)
    print()
    print(result.summary())
    return 0 if result.bit_exact else 1


def _quantize(args: argparse.Namespace) -> int:
    from tinytorch.app.quantize import quantize_checkpoint

    report = quantize_checkpoint(args.checkpoint, out=args.out, observer=args.observer,
                                 weight_bits=args.weight_bits, rounding=args.rounding,
                                 calibration_batches=args.calibration_batches,
                                 show_progress=not args.quiet)
    print(report)
    return 0


def _import(args: argparse.Namespace) -> int:
    from tinytorch.app.mlperf_tiny import MODELS
    from tinytorch.quant.tflite_import import import_tflite

    bundled = args.model in MODELS
    path = MODELS[args.model].path if bundled else args.model
    graph = import_tflite(path, name=args.name or (args.model if bundled else None),
                          rounding=args.rounding)
    constants = sum(t.data.nbytes for t in graph.tensors.values() if t.is_constant)
    types = Counter(op.type for op in graph.ops)
    x, y = graph.tensor(graph.input), graph.tensor(graph.output)
    print(f"imported {path}: {len(graph.ops)} int8 ops "
          f"({', '.join(f'{n} {t}' for t, n in types.most_common())}), "
          f"{constants:,} bytes of weights and biases")
    print(f"input {list(x.shape)} ({graph.input_layout}, scale {x.scale:.6g}, zero point "
          f"{x.zero_point}); output {list(y.shape)} (scale {y.scale:.6g}, zero point "
          f"{y.zero_point})")
    exact = True
    if args.check:
        from tinytorch.app.tflite_micro import compare_with_tflite_micro, edge_and_random_inputs

        comparison = compare_with_tflite_micro(path, graph,
                                               edge_and_random_inputs(graph, args.check))
        print(comparison.summary())
        exact = comparison.bit_exact
    if args.out:
        graph.save(args.out)
        print(f"wrote {args.out}.json and {args.out}.npz")
    return 0 if exact else 1


def _deploy(args: argparse.Namespace) -> int:
    from tinytorch.codegen.deploy import deploy

    result = deploy(args.graph, args.target, args.out, optimization=f"-{args.optimization}",
                    flash=args.flash, ram=args.ram, emulate_samples=args.emulate,
                    toolchain_name=args.toolchain, profile=args.profile)
    print(result.summary())
    print(f"wrote {len(result.files)} files to {args.out}")
    return 0 if result.bit_exact in (None, True) else 1


def _bytes(text: str) -> int:
    """A size such as 65536, 64K or 1M (K = 1024 bytes)."""
    units = {"K": 1024, "M": 1024 * 1024}
    text = text.strip().upper().removesuffix("B")
    scale = units.get(text[-1:], 1)
    try:
        return int(text[:-1] if scale > 1 else text) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size in bytes: {text!r} (e.g. 65536, 64K, 1M)")


def _count(text: str) -> int:
    """A whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a whole number >= 0: {text!r}")
    return value


def _add_toolchain_option(command: argparse.ArgumentParser) -> None:
    command.add_argument("--toolchain", choices=["zig", "gcc"],
                         help="the Cortex-M cross compiler: zig (pip's ziglang) or gcc "
                              "(arm-none-eabi-gcc); default $TINYTORCH_TOOLCHAIN, else zig")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinytorch",
        description="TinyTorch: build the ML stack from tensors to int8 C on a microcontroller.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    demo = commands.add_parser(
        "demo", help="the whole stack: train on digits, quantize, generate C, run on a Cortex-M",
        description="Train a network on the bundled 8x8 digits, quantize it to int8, generate "
                    "C, build it for the host and a Cortex-M, run the test set on both (the "
                    "core emulated) and check every output byte against the int8 interpreter. "
                    "With --model kws, resnet, vww or ad: import that MLPerf Tiny model instead "
                    "and run it the same way, also against TensorFlow Lite Micro. "
                    "Exits with status 1 if any byte differs.")
    demo.add_argument("--model", choices=["cnn", "mlp", *MLPERF_TINY], default="cnn",
                      help="cnn: two conv + pool stages and a linear layer (default); "
                           "mlp: 64-128-64-10; or one of the MLPerf Tiny models, trained "
                           "elsewhere and imported from .tflite (no training): kws "
                           "(keyword spotting), resnet (image classification), vww (visual "
                           "wake words), ad (anomaly detection)")
    demo.add_argument("--samples", type=_count, default=8, metavar="N",
                      help="MLPerf Tiny models: inputs to run and compare, all -128, all 127 "
                           "and random (default 8)")
    demo.add_argument("--epochs", type=int, default=20, help="passes over the training set (default 20)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--target", choices=["cortex-m4", "cortex-m7", "cortex-m0plus"],
                      default="cortex-m4", help="the microcontroller core (default cortex-m4)")
    demo.add_argument("--clock-mhz", type=float,
                      help="core clock for the latency estimate (default 100; 120 for the "
                           "MLPerf Tiny models, the clock their published latencies use)")
    demo.add_argument("--out", metavar="DIR",
                      help="keep the generated C and the builds here (default: a temporary "
                           "directory, removed)")
    demo.add_argument("--train-only", action="store_true",
                      help="only train and print the accuracies")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.add_argument("--save", metavar="CHECKPOINT",
                      help="also save the trained model here (a .npz for `tinytorch quantize`)")
    _add_toolchain_option(demo)
    demo.set_defaults(run=_demo)

    quantize = commands.add_parser(
        "quantize", help="quantize a trained digits model to int8 and report what it cost",
        description="Calibrate a checkpoint saved by `tinytorch demo --save` on the digits "
                    "training set, convert it to an int8 graph, and print float vs int8 "
                    "accuracy, per-layer SQNR and model size.")
    quantize.add_argument("checkpoint", help="a model checkpoint (.npz) from `tinytorch demo --save`")
    quantize.add_argument("--out", metavar="GRAPH",
                          help="write the int8 graph here (GRAPH.json + GRAPH.npz)")
    quantize.add_argument("--observer", choices=["minmax", "moving_average", "percentile"],
                          default="minmax", help="activation range observer (default minmax)")
    quantize.add_argument("--weight-bits", type=int, default=8,
                          help="bits per weight, 2 to 8 (default 8)")
    quantize.add_argument("--rounding", choices=["double", "single"], default="double",
                          help="requantization rounding (default double, as TFLite Micro)")
    quantize.add_argument("--calibration-batches", type=int, default=20,
                          help="batches of 64 training images to calibrate on (default 20)")
    quantize.add_argument("--quiet", action="store_true", help="no progress bars")
    quantize.set_defaults(run=_quantize)

    import_ = commands.add_parser(
        "import", help="read an int8 .tflite model (trained elsewhere) into an int8 graph",
        description="Read an int8 .tflite file into an int8 graph, print what it holds and, "
                    "with --out, save it for `tinytorch deploy`. MODEL is a path, or one of "
                    "the bundled MLPerf Tiny models: kws, resnet, vww, ad. An operator the "
                    "graph cannot express is refused by name and index.")
    import_.add_argument("model", help="a .tflite file, or kws / resnet / vww / ad")
    import_.add_argument("--out", metavar="GRAPH",
                         help="write the int8 graph here (GRAPH.json + GRAPH.npz)")
    import_.add_argument("--name", help="the graph's name, used in the C (default: the "
                                        "file's name, or kws / resnet / vww / ad)")
    import_.add_argument("--rounding", choices=["double", "single"], default="double",
                         help="the rounding of the runtime the model is for: double (TFLite "
                              "Micro, CMSIS-NN; default) or single (TFLite built with "
                              "TFLITE_SINGLE_ROUNDING)")
    import_.add_argument("--check", type=_count, default=0, metavar="N",
                         help="run N inputs (all -128, all 127, random) through the graph and "
                              "TensorFlow Lite Micro (pip install tflite-micro) and compare "
                              "every activation; exit 1 if any byte differs (default 0)")
    import_.set_defaults(run=_import)

    deploy = commands.add_parser(
        "deploy", help="generate C for an int8 graph, build it for a target and report its size",
        description="Write GRAPH (from `tinytorch quantize --out` or `tinytorch import "
                    "--out`) as freestanding C, build it for the target, print flash, RAM "
                    "and arena size, and optionally run it on an emulated core against the "
                    "int8 interpreter.")
    deploy.add_argument("graph", help="an int8 graph (GRAPH.json + GRAPH.npz) from "
                                      "`tinytorch quantize --out` or `tinytorch import --out`")
    deploy.add_argument("--target", default="cortex-m4",
                        choices=["host", "cortex-m0plus", "cortex-m4", "cortex-m7"],
                        help="where the C will run (default cortex-m4)")
    deploy.add_argument("--out", required=True,
                        help="directory for the .c and .h files: new, empty, or written by "
                             "tinytorch before (it never overwrites other files)")
    deploy.add_argument("--optimization", choices=["Os", "O2"], default="Os",
                        help="compiler optimization (default Os: smallest code)")
    deploy.add_argument("--flash", type=_bytes, help="flash budget, e.g. 256K; fail if exceeded")
    deploy.add_argument("--ram", type=_bytes, help="RAM budget, e.g. 64K; fail if exceeded")
    deploy.add_argument("--emulate", type=_count, default=0, metavar="N",
                        help="run N random inputs on the emulated target and compare with "
                             "the interpreter (default 0)")
    deploy.add_argument("--profile", action="store_true",
                        help="run one input on the emulated core op by op and print each op's "
                             "instructions, MACs, weight bytes and live arena bytes")
    _add_toolchain_option(deploy)
    deploy.set_defaults(run=_deploy)

    from tinytorch.app.labs.commands import add_commands  # argparse only; each command imports lazily

    add_commands(commands)  # `tinytorch lab ...` and `tinytorch grade NN`
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command.  Without ``argv`` this is the program (the ``tinytorch`` script,
    ``python -m tinytorch``): it reads ``sys.argv`` and tunes the process it owns.  Called
    from Python with an argument list, it leaves the calling process as it found it."""
    args = build_parser().parse_args(argv)
    if argv is None:
        from tinytorch.kernels import tune_process

        tune_process()  # idle OpenMP threads sleep, freed memory is reused
    try:
        return args.run(args)
    except (OSError, ValueError, RuntimeError, NotImplementedError) as error:
        # Bad input (a missing file, a wrong checkpoint, an unsupported layer): one clear
        # line instead of a traceback.  Programming errors (TypeError, ...) still show theirs.
        print(f"tinytorch {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
