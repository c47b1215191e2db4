"""Progress bars: tqdm, set up once for terminals, notebooks and logs.

Training, calibration and builds take seconds to minutes; a silent terminal
makes people wonder whether anything is happening.  The bars come from tqdm
(``tqdm.autonotebook``, so a notebook gets a widget), and this file only
chooses how often they redraw, because that depends on where the text goes:

* a terminal or a notebook redraws the bar in place, at most ten times a
  second (tqdm's ``mininterval=0.1``);
* anything else (stderr redirected to a file, a pipe, a CI log) would keep
  every redraw, thousands of them per run.  There the bar draws only twice,
  when it starts and when it closes (``mininterval=inf``), so each bar leaves
  one line in the log: the final count, time and postfix.

``show_progress=False`` turns the bar off (``disable=True``).  tqdm's own
``disable=None`` would also silence it in logs; the final line is worth
keeping there.

Why not ``tqdm.auto``: its bar also supports ``async for``, and to do so it
calls ``iter()`` on the iterable when the bar is made, then again when the
loop starts.  A shuffling DataLoader draws a fresh permutation on every
``iter()``, so each epoch would consume one permutation for nothing and
training would take a different random path than the same seed without a bar.
"""
from __future__ import annotations

import math
import sys
from typing import Iterable, TypeVar

from tqdm.autonotebook import tqdm

T = TypeVar("T")


def progress_bar(iterable: Iterable[T], description: str, total: int | None = None,
                 enabled: bool = True) -> tqdm:
    """``for batch in progress_bar(loader, "epoch 1/5"): ...``, drawn as described above.

    Add fields with ``bar.set_postfix(loss=0.1, refresh=False)``: ``refresh=False``
    leaves the redraw to the bar's own schedule (a plain ``set_postfix`` redraws
    on every call, in a log too).
    """
    # A notebook kernel's stderr is no terminal, yet it renders redraws in place.
    interactive = sys.stderr.isatty() or "ipykernel" in sys.modules
    return tqdm(iterable, description, total=total, disable=not enabled,
                mininterval=0.1 if interactive else math.inf)
