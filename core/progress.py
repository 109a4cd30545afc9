"""One progress callback for long work (index build, embedding, training, evaluation, coding), and its displays.

A ``Progress`` is called as ``progress(step, message)`` for a step that has no count (the pipeline's steps), or
``progress(step, message, done, total)`` when it has one (texts embedded, cases scored; or a fraction of 1.0).
:class:`Meter` turns the counts into a rate and an ETA; :func:`cli_progress` draws them as a tqdm bar on a terminal
and as a line every few seconds in a log. The app draws the same counts with ``st.progress`` (``components/``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Protocol


class Progress(Protocol):
    def __call__(self, step: str, message: str, done: float | None = None, total: float | None = None) -> None: ...


def noop_progress(step: str, message: str, done: float | None = None, total: float | None = None) -> None:
    """The default: nobody is watching."""


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass
class Meter:
    """Counts, rate and ETA of one step. ``clock`` is replaceable for tests."""

    unit: str = ""
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    done: float = 0.0
    total: float | None = None
    _first_done: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def update(self, done: float | None, total: float | None) -> None:
        if done is not None:
            if self._first_done is None:
                self._first_done = done  # work found already done (a resumed build) does not count in the rate
            self.done = done
        if total is not None:
            self.total = total

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    @property
    def rate(self) -> float | None:
        """Units per second since the step began (None before any unit is done)."""
        worked = self.done - (self._first_done or 0.0)
        elapsed = self.elapsed
        return worked / elapsed if worked > 0 and elapsed > 0 else None

    @property
    def fraction(self) -> float | None:
        return min(max(self.done / self.total, 0.0), 1.0) if self.total else None

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far (None while unknown)."""
        rate = self.rate
        if rate is None or not self.total:
            return None
        return max(self.total - self.done, 0.0) / rate

    def describe(self) -> str:
        """``12,000/35,326 texts · 84/s · about 4 min 38 s left`` (what is known of it)."""
        if self.total is None:
            return f"{duration(self.elapsed)} so far"
        if self.total == 1.0 and self.done <= 1.0:  # a fraction, not a count
            parts = [f"{self.done:.0%}"]
        else:
            parts = [f"{self.done:,.0f}/{self.total:,.0f}{' ' + self.unit if self.unit else ''}"]
            rate = self.rate
            if rate is not None:
                parts.append(f"{1 / rate:,.0f} s each" if rate < 0.5 else f"{rate:,.1f}/s" if rate < 10
                             else f"{rate:,.0f}/s")
        eta = self.eta
        if eta is not None and self.done < self.total:
            parts.append(f"about {duration(eta)} left")
        elif self.done >= self.total:
            parts.append(f"done in {duration(self.elapsed)}")
        return " · ".join(parts)


class _CliDisplay:
    """A tqdm bar per counted step on a terminal; elsewhere (a log, a pipe) a line per step and every ``every`` s."""

    def __init__(self, stream: IO[str], every: float, tty: bool | None) -> None:
        self.stream = stream
        self.every = every
        self.tty = stream.isatty() if tty is None else tty
        self.step = ""
        self.meter = Meter()
        self.bar: Any = None
        self.last_line = 0.0

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __call__(self, step: str, message: str, done: float | None = None, total: float | None = None) -> None:
        new_step = step != self.step
        if new_step:
            self._close()
            self.step, self.meter = step, Meter()
        self.meter.update(done, total)
        if self.tty and self.meter.total is not None and not (self.meter.total == 1.0 and self.meter.done <= 1.0):
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=self.meter.total, desc=step, file=self.stream, dynamic_ncols=True, leave=True,
                                initial=self.meter.done)
            self.bar.total = self.meter.total
            self.bar.set_postfix_str(message, refresh=False)
            self.bar.update(self.meter.done - self.bar.n)
            if self.meter.done >= self.meter.total:
                self._close()
            return
        now = time.monotonic()
        finished = self.meter.total is not None and self.meter.done >= self.meter.total
        if new_step or finished or now - self.last_line >= self.every:
            self.last_line = now
            tail = self.meter.describe() if self.meter.total is not None else ""
            print(f"[{step}] {message}" + (f" ({tail})" if tail else ""), file=self.stream, flush=True)


def cli_progress(stream: IO[str] | None = None, *, every: float = 10.0, tty: bool | None = None) -> Progress:
    """The command line's progress display, on standard error by default (standard output stays the result)."""
    return _CliDisplay(stream or sys.stderr, every, tty)
