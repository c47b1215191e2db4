"""The application layer: what people run, built on top of the whole stack.

The framework below (``tinytorch`` and its layers ``tinytorch.kernels`` and
``tinytorch.codegen``) is a library: it computes and returns, prints nothing
it was not asked for, and changes nothing in the process that imports it.
This package is the other kind of code, the kind that owns a process:

* ``cli.py``       the ``tinytorch`` command (``python -m tinytorch`` runs it too);
* ``demo.py``      ``tinytorch demo``: digits to int8 C on an emulated Cortex-M;
* ``quantize.py``  ``tinytorch quantize``: a saved digits model to an int8 graph;
* ``labs/``        the course machinery: student releases, grading, the autograder.

It sits on top, so imports point down into it and never out of it: the
framework never imports ``tinytorch.app``, and this package may import any
layer, the code generator included.  Because the commands own their process,
they are the ones that call ``tinytorch.kernels.tune_process()``: the
process-wide settings a library must not make behind its host's back.
"""
