"""Code generation: an int8 graph becomes C that runs on an Arm Cortex-M.

The last layer of the stack.  ``tinytorch.quant`` produces an int8 graph; this
package writes it as freestanding C, builds it for the host or a
microcontroller, measures the firmware and runs it on an emulated core, where
every output byte must equal the int8 interpreter's.  Read the files in this
order:

1. ``c/requantize.h`` and the kernels in ``c/``   the int8 arithmetic in C, one kernel a file
2. ``toolchain.py``       compilers, flags, start-up code and linker script
3. ``memory_planner.py``  where each activation lives in one static arena
4. ``emitter.py``         the graph written out as ``<name>.h`` / ``<name>.c``
5. ``elf_report.py``      flash and RAM of the built firmware
6. ``emulator.py``        running it on an emulated Cortex-M, counting instructions
7. ``profile.py``         one inference op by op: instructions, MACs, weights, live bytes
8. ``deploy.py``          all of it in one call (``tinytorch deploy``)

``example_graphs.py`` builds graphs with random weights for tests and
benchmarks.  Importing this package loads nothing heavy: compilers, unicorn
and pyelftools are reached only when a function needs them.
"""
