"""From an int8 graph to C source: one ``<name>.h``, one ``<name>.c``, and the kernels.

What
----
The generated C is the int8 graph written out as a program.  Everything the
graph knows ahead of time becomes a constant in flash: weights (int8), biases
(int32), per-channel multipliers and shifts, and each layer's shapes and
zero points in a small parameter struct.  Everything that changes lives in
RAM, in one static arena sized by the memory planner.  The one entry point

    int <name>_invoke(const int8_t *input, int8_t *output);

calls one kernel per op, in the graph's order, with pointers into the arena
at the planned offsets; the first op reads ``input`` and the op that makes
the graph's output writes ``output`` directly.  It returns 0.

Why it looks like this
----------------------
A reader should be able to open ``<name>.c`` and follow the network layer by
layer: each op is a comment naming the layer and its shapes, then one call.
C identifiers come from the layer names (``features.0`` becomes
``features_0``) with the model's name in front, so every constant in the
firmware's symbol table says where it came from (the ELF report counts
``<name>_*`` constants as weights).

What each op's call looks like, which kernel files it needs and how much
scratch it takes is not written here: ``c_kernels.py`` has one entry per
kernel.  This file writes what every model shares: the constants' C text,
the arena, the scratch buffer, the entry point and the header.

Names are input, and input can be hostile
-----------------------------------------
A graph file may come from anyone, and a name such as
``conv1 */ system("..."); /*`` must not become C.  So no name from the graph
ever reaches the C as text: every name, in code and in comments alike, is
first turned into an identifier (letters, digits, underscores).  The model's
own name is lowercased, kept out of the kernels' ``tt_`` namespace, and cut
to 24 characters (C99 promises only 31 significant characters for external
names; ``_invoke`` takes 7), with a short hash of the full name where it is
cut so that two long names stay apart.

Files
-----
A model is its two files, ``<name>.h`` and ``<name>.c``; the kernels it
calls are shared and go into a subdirectory, ``tinytorch/``.  Two models
written into one directory therefore share one copy of the kernels, and a
firmware that runs both compiles every kernel once; and no model name can
collide with a kernel's file (a model named ``conv2d`` or ``requantize``
is just ``conv2d.c`` beside ``tinytorch/conv2d.c``).  The model's source
includes ``"tinytorch/tinytorch_kernels.h"``, and every kernel includes its
neighbours by their bare names, which C looks up in the including file's own
directory first.

The C needs ``<stdint.h>`` and nothing else: no malloc, no printf, no floats.
On a core with the DSP extension the convolutions and the fully connected
layer need int16 scratch room (two im2col columns); it is a second, small
static buffer declared only there, as large as the largest call needs.
Before any of it, the emitter refuses a layer whose int32 accumulator could
overflow (``accumulator_bounds.py``).

Besides the text, ``GeneratedModel.ops`` records what each op became: the
C prefix of its constants, whether it calls a kernel (a reshape does not)
and its MACs, so that ``profile.py`` can lay an emulated run beside the graph.

Where it sits
-------------
``deploy.py`` builds these files (``model_files``) in a scratch directory for a
target, then writes them into the user's directory (``output_directory.py``).
"""
from __future__ import annotations

import hashlib
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinytorch.serialization import write_atomically

from .accumulator_bounds import MAX_PATCH
from .c_kernels import C_KERNELS, c_kernel_name
from .memory_planner import ArenaPlan, plan_graph
from .toolchain import KERNEL_DIR

C_KEYWORDS = set("""auto break case char const continue default do double else enum extern float
for goto if inline int long register restrict return short signed sizeof static struct switch
typedef union unsigned void volatile while _Bool _Complex _Imaginary""".split())
COMMON_FILES = ["tinytorch_kernels.h", "requantize.h", "dsp_words.h"]
RUNTIME_FILES = ["startup.c", "cortex_m.ld"]  # for a firmware with no start-up code of its own
KERNEL_SUBDIRECTORY = "tinytorch"
MODEL_NAME_LIMIT = 24        # + "_invoke" = C99's 31 significant characters of an external name
CONSTANT_PREFIX_LIMIT = 48   # + the longest suffix ("_quantization") within C99's 63 internal


class EmitError(ValueError):
    """The graph cannot be written as C (the message names the op and the reason)."""


def c_identifier(name: str) -> str:
    """``name`` as a C identifier: letters, digits and underscores, not starting with a digit.

    Every character that is not an ASCII letter, digit or underscore becomes
    ``_``; underscores are stripped from both ends (an empty result becomes
    ``unnamed``); a result that now starts with a digit gets ``_`` in front.

    Worked example: ``"features.0.conv"`` -> ``"features_0_conv"``;
    ``"0weird name!"`` -> ``"0weird_name_"`` -> ``"0weird_name"`` -> ``"_0weird_name"``.
    """
    # non-[A-Za-z0-9_] to "_", strip "_" at the ends ("unnamed" if empty), no leading digit
    # BEGIN SOLUTION lab 09
    identifier = re.sub(r"[^0-9A-Za-z_]", "_", name).strip("_") or "unnamed"
    if identifier[0].isdigit():
        identifier = "_" + identifier
    return identifier
    # END SOLUTION


def model_identifier(name: str) -> str:
    """The model's C prefix: a lowercase identifier of at most 24 characters that is not a
    keyword and does not start with the kernels' ``tt_`` (see the module essay)."""
    identifier = re.sub(r"_+", "_", c_identifier(name).lower()).strip("_") or "model"
    if (identifier[0].isdigit() or identifier in C_KEYWORDS or keyword.iskeyword(identifier)
            or identifier == "tt" or identifier.startswith("tt_")):
        identifier = "model_" + identifier
    return _shortened(identifier, MODEL_NAME_LIMIT, name)


def _shortened(identifier: str, limit: int, original: str) -> str:
    """``identifier`` cut to ``limit`` characters, ending in a hash of ``original`` if cut."""
    if len(identifier) <= limit:
        return identifier
    digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:7]
    return identifier[:limit - 8].rstrip("_") + "_" + digest


@dataclass(frozen=True)
class EmittedOp:
    """What the C does for one op of the graph, in the graph's order."""
    name: str                 # the op's name in the graph
    prefix: str               # the C name in front of its constants (``<prefix>_weight``)
    calls_kernel: bool        # False for a reshape: no code at all
    macs: int                 # its multiply-accumulates per inference


@dataclass
class GeneratedModel:
    name: str                 # the C identifier used as prefix
    header: str
    source: str
    kernel_files: list[str]
    plan: ArenaPlan
    scratch_values: int       # int16 values of DSP scratch
    macs: int                 # multiply-accumulates per inference
    ops: list[EmittedOp] = field(default_factory=list)


def _array(c_type: str, name: str, values: np.ndarray, per_line: int = 16) -> str:
    values = np.asarray(values).ravel()
    rows = [", ".join(str(int(v)) for v in values[i:i + per_line])
            for i in range(0, len(values), per_line)]
    body = ",\n    ".join(rows)
    return f"static const {c_type} {name}[{len(values)}] = {{\n    {body}\n}};\n"


def _call(function: str, arguments: list[str]) -> str:
    """``function(arguments);`` indented, wrapped before 100 columns."""
    lines, line = [], f"    {function}("
    for i, argument in enumerate(arguments):
        piece = argument + (", " if i + 1 < len(arguments) else ");")
        if len(line) + len(piece.rstrip()) > 99 and not line.endswith("("):
            lines.append(line.rstrip())
            line = " " * (len(function) + 5)
        line += piece
    return "\n".join(lines + [line])


class ModelWriter:
    """The C text of one model, op by op: its constants, its calls, what they need."""

    def __init__(self, graph, model: str, plan: ArenaPlan):
        self.graph, self.model, self.plan = graph, model, plan
        self.constants: list[str] = []
        self.calls: list[str] = []
        self.used_names: set[str] = set()
        self.input_root = plan.aliases.get(graph.input, graph.input)
        self.output_root = plan.aliases.get(graph.output, graph.output)
        self.scratch_values = 0
        self.macs = 0
        self.kernel_files: set[str] = set()
        self.emitted: list[EmittedOp] = []

    def pointer(self, tensor: str) -> str:
        root = self.plan.aliases.get(tensor, tensor)
        if root == self.input_root:
            return "input"
        if root == self.output_root:
            return "output"
        return f"arena + {self.plan.offset_of(tensor)}"

    def prefix(self, op) -> str:
        """The unique C name in front of ``op``'s constants, also its name in comments."""
        base = re.sub(r"_+", "_", f"{self.model}_{c_identifier(op.name)}")
        base = _shortened(base, CONSTANT_PREFIX_LIMIT - 3, op.name)  # room for "_99"
        name, count = base, 2
        while name in self.used_names:
            name, count = f"{base}_{count}", count + 1
        self.used_names.add(name)
        return name

    def describe(self, op, prefix: str) -> str:
        """A comment for the reader: the op's C name (never its raw name), type and shapes."""
        shapes = " + ".join(str(list(self.graph.tensor(n).shape)) for n in op.inputs
                            if not self.graph.tensor(n).is_constant)
        out = list(self.graph.tensor(op.outputs[0]).shape)
        return f"    /* {prefix}: {op.type}, {shapes} -> {out} */"

    def quantization(self, prefix: str, op) -> str:
        a = op.attributes
        x, out = self.graph.tensor(op.inputs[0]), self.graph.tensor(op.outputs[0])
        single = int(self.graph.rounding == "single")
        self.constants.append(
            f"static const tt_quantization {prefix}_quantization = "
            f"{{{x.zero_point}, {out.zero_point}, {a['act_min']}, {a['act_max']}, {single}}};\n")
        return f"&{prefix}_quantization"

    def window(self, prefix: str, op, kernel, stride, dilation, padding) -> str:
        _, height, width, channels = self.graph.tensor(op.inputs[0]).shape
        _, out_h, out_w, out_c = self.graph.tensor(op.outputs[0]).shape
        values = [height, width, channels, out_h, out_w, out_c, *kernel, *stride, *dilation,
                  padding[0], padding[2]]
        self.constants.append(f"static const tt_window {prefix}_window = "
                              f"{{{', '.join(map(str, values))}}};\n")
        return f"&{prefix}_window"

    def requantization_arrays(self, prefix: str, op, weight: np.ndarray) -> list[str]:
        """The weights (in the kernel's layout), biases, multipliers and shifts of ``op``."""
        return [self.array("int8_t", f"{prefix}_weight", weight),
                self.array("int32_t", f"{prefix}_bias", self.graph.tensor(op.inputs[2]).data),
                self.array("int32_t", f"{prefix}_multiplier", op.attributes["multiplier"]),
                self.array("int32_t", f"{prefix}_shift", op.attributes["shift"])]

    def array(self, c_type: str, name: str, values) -> str:
        """A constant array in flash; returns its name."""
        self.constants.append(_array(c_type, name, values))
        return name

    def constant(self, text: str) -> None:
        """Any other constant (a parameter struct), as its C definition."""
        self.constants.append(text)

    @staticmethod
    def call(function: str, arguments: list[str]) -> str:
        return _call(function, arguments)

    def emit(self, op) -> None:
        """Append ``op``'s constants and its call (a comment, then the statement)."""
        name = c_kernel_name(op, self.graph)
        if name not in C_KERNELS:
            raise EmitError(f"op {op.name!r}: no C kernel for op type {op.type!r}")
        kernel = C_KERNELS[name]
        prefix = self.prefix(op)
        patch = kernel.products_per_output(self.graph, op)
        if patch > MAX_PATCH:
            raise EmitError(f"op {op.name!r} ({op.type}): {patch} products per output "
                            f"could overflow the int32 accumulator (at most {MAX_PATCH})")
        macs = patch * self.graph.tensor(op.outputs[0]).size
        self.macs += macs
        self.scratch_values = max(self.scratch_values, kernel.scratch_values(self.graph, op))
        self.kernel_files.update(kernel.files)
        description = self.describe(op, prefix)
        call = kernel.call(self, op, prefix)
        if call is None:  # a reshape: the arena plan gave its output its input's bytes
            self.calls.append(description[:-3] + ": the same bytes, nothing to do */")
        else:
            self.calls.append(description + "\n" + call)
        self.emitted.append(EmittedOp(op.name, prefix, call is not None, macs))


def generate_model(graph, name: str | None = None) -> GeneratedModel:
    """The C source of ``graph`` (validated first) as strings, with its arena plan."""
    graph.validate()
    model = model_identifier(name or graph.name)
    plan = plan_graph(graph)
    writer = ModelWriter(graph, model, plan)
    for op in graph.ops:
        writer.emit(op)
    input_info, output_info = graph.tensor(graph.input), graph.tensor(graph.output)
    if writer.input_root == writer.output_root:  # only reshapes: the bytes pass through
        writer.calls.append(f"    {{\n        int32_t i;\n"
                            f"        for (i = 0; i < {output_info.size}; ++i) {{\n"
                            f"            output[i] = input[i];\n        }}\n    }}")
    upper = model.upper()
    header = f"""/* {model}: an int8 network generated by TinyTorch.
 *
 * input:  int8 {list(input_info.shape)} (NHWC), scale {input_info.scale!r},
 *         zero point {input_info.zero_point}
 * output: int8 {list(output_info.shape)}, scale {output_info.scale!r},
 *         zero point {output_info.zero_point}
 * rounding: {graph.rounding}; arena {plan.arena_size} B (lower bound {plan.lower_bound} B)
 *
 * {model}_invoke runs one sample and returns 0.  Not reentrant: one static arena.
 * Build {model}.c with the kernels in tinytorch/ (*.c), compiled once however
 * many models the firmware holds.  On a Cortex-M4/M7 the kernels load 32-bit
 * words at any byte address: leave CCR.UNALIGN_TRP clear, or compile them
 * with -mno-unaligned-access (tinytorch/dsp_words.h).
 */
#ifndef TINYTORCH_MODEL_{upper}_H
#define TINYTORCH_MODEL_{upper}_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

#define {upper}_INPUT_SIZE {input_info.size}
#define {upper}_OUTPUT_SIZE {output_info.size}
#define {upper}_ARENA_SIZE {plan.arena_size}

int {model}_invoke(const int8_t *input, int8_t *output);

#ifdef __cplusplus
}}
#endif

#endif
"""
    arena = ""
    if plan.arena_size:
        words = -(-plan.arena_size // 4)
        arena = (f"/* Every activation between layers, at offsets planned ahead of time.\n"
                 f" * Declared as words so that it is word-aligned. */\n"
                 f"static int32_t {model}_arena_words[{words}];\n")
    scratch = "#define SCRATCH ((int16_t *)0)\n"
    if writer.scratch_values:
        scratch = (f"#if TT_USE_DSP\n"
                   f"/* int16 im2col columns for the DSP path */\n"
                   f"static int16_t {model}_scratch[{writer.scratch_values}];\n"
                   f"#define SCRATCH {model}_scratch\n#else\n{scratch}#endif\n")
    arena_pointer = (f"    int8_t *arena = (int8_t *){model}_arena_words;\n"
                     if plan.arena_size else "")
    source = (f'/* {model}: generated by TinyTorch; see {model}.h.  {plan.summary()}. */\n'
              f'#include "{model}.h"\n#include "{KERNEL_SUBDIRECTORY}/tinytorch_kernels.h"\n\n'
              + "\n".join(writer.constants) + "\n" + arena + "\n" + scratch + "\n"
              + f"int {model}_invoke(const int8_t *input, int8_t *output) {{\n" + arena_pointer
              + "\n".join(writer.calls) + "\n    return 0;\n}\n")
    kernel_files = COMMON_FILES + sorted(writer.kernel_files)
    return GeneratedModel(model, header, source, kernel_files, plan, writer.scratch_values,
                          writer.macs, writer.emitted)


def model_files(generated: GeneratedModel, runtime: bool = False) -> dict[str, bytes]:
    """Every file of the model, by its path relative to the output directory: ``<name>.h``,
    ``<name>.c`` and ``tinytorch/<kernel>``; with ``runtime``, also the start-up code and
    linker script, for building the directory on its own."""
    files = {f"{generated.name}.h": generated.header.encode("utf-8"),
             f"{generated.name}.c": generated.source.encode("utf-8")}
    for filename in generated.kernel_files + (RUNTIME_FILES if runtime else []):
        files[f"{KERNEL_SUBDIRECTORY}/{filename}"] = (KERNEL_DIR / filename).read_bytes()
    return files


def write_model(generated: GeneratedModel, directory: Path) -> list[Path]:
    """Write the model's files (``model_files``) into ``directory``, each atomically."""
    written = []
    for relative, payload in model_files(generated).items():
        path = Path(directory) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(str(path), payload, op="codegen")
        written.append(path)
    return written
