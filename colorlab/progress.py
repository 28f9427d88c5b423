"""What a notebook is doing, on the terminal of ``colorlab run``.

Inside a kernel that ``colorlab run`` started, :func:`phase`, :func:`step` and :func:`note` append
events to the file ``$COLORLAB_PROGRESS`` names; elsewhere they do nothing, so notebooks and the
package call them unconditionally. The runner turns the events into terminal lines (:class:`Reader`).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["ENV", "PRINT_EVERY", "phase", "step", "note", "say", "bar", "TextBar", "Reader"]

#: The file the events go to; set by the runner for each notebook.
ENV = "COLORLAB_PROGRESS"
#: Seconds between two training lines on the terminal at most (besides every tenth of the steps).
PRINT_EVERY = 30.0
#: Seconds between two training events in the file at least.
_WRITE_EVERY = 1.0
#: When a training event was last written, by progress file (a new file starts afresh).
_last_step_write: dict[str, float] = {}


def _write(event: dict[str, Any]) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    with open(path, "a") as f:
        f.write(json.dumps({"t": time.time(), **event}) + "\n")


def phase(name: str) -> None:
    """Say that a new phase of the notebook starts.

    Args:
        name: the phase (``"data"``, ``"train zhang/full"``, ``"evaluate"``, ...).
    """
    _write({"kind": "phase", "name": name})


def step(step: int, total: int, **values: float) -> None:
    """Say that training reached ``step`` of ``total``.

    It is written at most once a second, and always at the last step.

    Args:
        step: the steps done.
        total: the steps planned.
        values: shown beside the step (the loss).
    """
    now = time.time()
    where = os.environ.get(ENV, "")
    if step < total and now - _last_step_write.get(where, 0.0) < _WRITE_EVERY:
        return
    _last_step_write[where] = now
    _write({"kind": "step", "step": int(step), "total": int(total), "values": {k: float(v) for k, v in values.items()}})


def note(text: str) -> None:
    """Say something the person running the notebooks should see.

    Args:
        text: one line (the data used, files left out, ...).
    """
    _write({"kind": "note", "text": str(text)})


def say(text: str, *, warning: bool = False) -> None:
    """Tell the person running this: print ``text`` and :func:`note` it.

    The note puts the line on the terminal of ``colorlab run`` too. When the reader has gone (a
    closed pipe: ``colorlab run | head``), printing stops and the work goes on.

    Args:
        text: one line.
        warning: print it to stderr instead of stdout.

    Example:
        >>> say("8 training images")
        8 training images
    """
    stream = sys.stderr if warning else sys.stdout
    try:
        print(text, file=stream, flush=True)
    except BrokenPipeError:  # for the rest of the process
        setattr(sys, "stderr" if warning else "stdout", open(os.devnull, "w"))
    note(text)


class TextBar:
    """A progress bar as plain text, for output read after the run (an executed notebook, whose
    widget bars show ``0%`` in any static view): one line when it closes, with the count reached.

    Example:
        >>> b = TextBar(400, desc="train"); b.update(400); b.set_postfix(loss="0.1234"); b.close()
        train: 400/400 (100%), loss 0.1234
    """

    def __init__(self, total: int, *, desc: str = "", initial: int = 0) -> None:
        self.total, self.n, self.desc, self.postfix = total, initial, desc, ""

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, **values: Any) -> None:
        self.postfix = ", ".join(f"{k} {v}" for k, v in values.items())

    def close(self) -> None:
        share = f" ({100 * self.n // self.total}%)" if self.total else ""
        print(f"{self.desc}: {self.n}/{self.total}{share}" + (f", {self.postfix}" if self.postfix else ""))


def bar(total: int, *, desc: str, initial: int = 0, disable: bool = False) -> Any:
    """A progress bar: tqdm's (a widget in a live notebook, text on a terminal), or a
    :class:`TextBar` inside a notebook ``colorlab run`` executes, whose output is read afterwards.

    Args:
        total: the count at the end.
        desc: what is counted, shown before the count.
        initial: the count already reached (a resumed run).
        disable: no bar at all.

    Returns:
        An object with ``update(n)``, ``set_postfix(**values)`` and ``close()``.
    """
    if not disable and os.environ.get(ENV):
        return TextBar(total, desc=desc, initial=initial)
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, leave=False, disable=disable)


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    m, s = divmod(seconds, 60)
    return f"{m} min {s:02d} s" if m < 60 else f"{m // 60} h {m % 60:02d} min"


class Reader:
    """Read a progress file from where it last stopped, and turn its new events into lines.

    A phase gives a line when it starts. Training gives a line when another tenth of the steps is
    done, when :data:`PRINT_EVERY` seconds have passed since the last one, and at the last step,
    with the loss, the time spent and the time left. Notes are shown as they are.

    Args:
        path: the progress file (:data:`ENV`).
        clock: gives the time (for tests).

    Example:
        >>> import os, tempfile
        >>> os.environ[ENV] = path = os.path.join(tempfile.mkdtemp(), "progress.jsonl")
        >>> phase("train yuv_regression/l1"); step(400, 800, loss=0.1234); note("8 training images")
        >>> del os.environ[ENV]
        >>> lines = Reader(path, clock=lambda: 0.0).poll()
        >>> lines[0], lines[2]
        ('train yuv_regression/l1', '8 training images')
        >>> lines[1].startswith("train yuv_regression/l1: step 400/800 (50%), loss 0.1234")
        True
    """

    def __init__(self, path: str | os.PathLike, clock: Callable[[], float] = time.time) -> None:
        self.path, self.clock = Path(path), clock
        self._offset = 0
        self._phase, self._phase_start = "", 0.0
        self._last_print, self._last_tenth = -math.inf, -1
        self._first_step: tuple[int, float] | None = None  # (first step seen in the phase, its time)

    def poll(self) -> list[str]:
        """The lines for the events written since the last call (a line being written waits)."""
        if not self.path.exists():
            return []
        with self.path.open() as f:
            f.seek(self._offset)
            chunk = f.read()
        complete = chunk[: chunk.rfind("\n") + 1]  # a line being written is read next time
        self._offset += len(complete.encode())
        out = []
        for line in complete.splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            out += self._lines(event)
        return out

    def _lines(self, e: dict[str, Any]) -> list[str]:
        if e.get("kind") == "phase":
            self._phase, self._phase_start = e["name"], e.get("t", self.clock())
            self._last_print, self._last_tenth, self._first_step = -math.inf, -1, None
            return [self._phase]
        if e.get("kind") == "note":
            return [e["text"]]
        if e.get("kind") != "step":
            return []
        step, total = e["step"], max(1, e["total"])
        tenth = 10 * step // total
        now = e.get("t", self.clock())
        if step < total and tenth == self._last_tenth and now - self._last_print < PRINT_EVERY:
            return []
        self._last_print, self._last_tenth = now, tenth
        if self._first_step is None:  # the rate is measured from the first step seen: it leaves out
            self._first_step = (step, now)  # model setup, and a resumed run that starts past 0
        done, since = step - self._first_step[0], self._first_step[1]
        elapsed = now - self._phase_start
        left = (now - since) / done * (total - step) if done > 0 else math.nan
        values = "".join(f", {k} {v:.4f}" for k, v in e.get("values", {}).items())
        timing = f", {_duration(elapsed)} elapsed" + (f", ~{_duration(left)} left" if step < total and done > 0 else "")
        return [f"{self._phase}: step {step}/{total} ({100 * step // total}%){values}{timing}"]
