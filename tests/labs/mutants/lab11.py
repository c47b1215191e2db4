"""Near-solutions of lab 11 (tinytorch.app.labs.mutation): each must fail a graded test."""
from tinytorch.app.labs.mutation import Mutant

MUTANTS = [
    Mutant("same_padding puts the odd row or column first", "tinytorch/quant/tflite_import.py",
           "same_padding", """
reach = (kernel - 1) * dilation + 1
out = (size + stride - 1) // stride
total = max(0, (out - 1) * stride + reach - size)
return total - total // 2, total // 2
"""),
    Mutant("same_padding ignores the dilation", "tinytorch/quant/tflite_import.py",
           "same_padding", """
out = (size + stride - 1) // stride
total = max(0, (out - 1) * stride + kernel - size)
return total // 2, total - total // 2
"""),
    Mutant("same_padding rounds the output count down", "tinytorch/quant/tflite_import.py",
           "same_padding", """
reach = (kernel - 1) * dilation + 1
out = size // stride
total = max(0, (out - 1) * stride + reach - size)
return total // 2, total - total // 2
"""),
    Mutant("same_padding lets the total go negative", "tinytorch/quant/tflite_import.py",
           "same_padding", """
reach = (kernel - 1) * dilation + 1
out = (size + stride - 1) // stride
total = (out - 1) * stride + reach - size
return total // 2, total - total // 2
"""),
    Mutant("same_padding pads as for stride 1: kernel - 1 in total",
           "tinytorch/quant/tflite_import.py", "same_padding", """
total = (kernel - 1) * dilation
return total // 2, total - total // 2
"""),
    Mutant("CallSplitter.block counts the byte at end as invoke's", "codegen/profile.py",
           "CallSplitter.block", """
inside = self.start <= address <= self.end
if inside:
    self.own += instructions
else:
    if self.in_invoke:
        self.calls.append(0)
    self.calls[-1] += instructions
self.in_invoke = inside
"""),
    Mutant("CallSplitter.block starts a new call at every block outside invoke",
           "codegen/profile.py", "CallSplitter.block", """
if self.start <= address < self.end:
    self.own += instructions
else:
    self.calls.append(instructions)
"""),
    Mutant("CallSplitter.block charges invoke's own blocks to the call before them",
           "codegen/profile.py", "CallSplitter.block", """
inside = self.start <= address < self.end
if inside and not self.calls:
    self.own += instructions
elif inside:
    self.calls[-1] += instructions
else:
    if self.in_invoke:
        self.calls.append(0)
    self.calls[-1] += instructions
self.in_invoke = inside
"""),
    Mutant("CallSplitter.block never notes that control came back to invoke",
           "codegen/profile.py", "CallSplitter.block", """
if self.start <= address < self.end:
    self.own += instructions
else:
    if self.in_invoke:
        self.calls.append(0)
        self.in_invoke = False
    self.calls[-1] += instructions
"""),
]
