"""``python -m tinytorch``: the ``tinytorch`` command, for when the script is not on PATH.

The one file of the framework that reaches up into the application layer
(``tinytorch.app``), and only when run as a program.
"""
import sys

if __name__ == "__main__":
    from tinytorch.app.cli import main

    sys.exit(main())
