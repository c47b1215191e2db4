"""A progress bar for long work, with no dependencies.

Training, calibration and builds take seconds to minutes; a silent terminal
makes people wonder whether anything is happening.  ``ProgressBar`` redraws
one line in place on a terminal (carriage return, no newline) and, when the
output is a log file or a CI job, prints only the final line of each bar so
logs stay readable.
"""
from __future__ import annotations

import sys
import time
from typing import IO, Iterable, Iterator, TypeVar

T = TypeVar("T")


class ProgressBar:
    """``for batch in ProgressBar(loader, "epoch 1/5"): ...``; ``bar.set(loss=0.1)`` adds fields."""

    def __init__(self, iterable: Iterable[T], description: str = "", total: int | None = None,
                 stream: IO[str] | None = None, width: int = 24, enabled: bool = True) -> None:
        self.iterable = iterable
        self.description = description
        self.total = total if total is not None else len(iterable)  # type: ignore[arg-type]
        self.stream = stream or sys.stderr
        self.width = width
        self.enabled = enabled
        self.interactive = enabled and getattr(self.stream, "isatty", lambda: False)()
        self.fields: dict[str, str] = {}
        self.count = 0
        self.started = time.perf_counter()
        self._last_draw = 0.0

    def set(self, **fields: object) -> None:
        """Show ``name value`` pairs after the bar (floats with 4 significant digits)."""
        for name, value in fields.items():
            self.fields[name] = f"{value:.4g}" if isinstance(value, float) else str(value)

    def __iter__(self) -> Iterator[T]:
        self.started = time.perf_counter()
        for item in self.iterable:
            yield item
            self.count += 1
            now = time.perf_counter()
            if self.interactive and (now - self._last_draw > 0.1 or self.count == self.total):
                self._draw(end="")
                self._last_draw = now
        if self.enabled:
            self._draw(end="\n")

    def _draw(self, end: str) -> None:
        done = self.count / self.total if self.total else 1.0
        filled = int(round(done * self.width))
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.perf_counter() - self.started
        extras = "".join(f" {name} {value}" for name, value in self.fields.items())
        line = f"{self.description} [{bar}] {self.count}/{self.total}{extras} {elapsed:.2f}s"
        prefix = "\r" if self.interactive else ""
        self.stream.write(prefix + line + end)
        self.stream.flush()
