"""Ctrl-C and SIGTERM during a search: stop at the next batch, keep what completed, exit 130/143.

The handlers only set a flag (`request.signum`); the trial guard stops the fit at the next batch and
the tuner turns the flag into `SearchInterrupted`, so the trial in flight stays unfinished in
the state and runs again on resume. A `KeyboardInterrupt` or `SystemExit` raised by user code
(a custom object) is then told apart from the user's Ctrl-C by this flag. A second signal exits
at once: every state file is written atomically, so that cannot corrupt the state.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import keras_tuner as kt


class Request:
    """The signal that asked the search to stop (None while nobody asked)."""

    signum: int | None = None


request = Request()


class SearchInterrupted(kt.errors.FatalError):
    """Raised at the next safe point after SIGINT/SIGTERM; Keras Tuner lets FatalError through."""


def check() -> None:
    """Raise `SearchInterrupted` when a stop was requested."""
    if request.signum is not None:
        raise SearchInterrupted(f"stopped by {signal.Signals(request.signum).name}")


def _handler(signum: int, frame: FrameType | None) -> None:
    if request.signum is not None:  # the second Ctrl-C: leave now (state files are atomic)
        os.write(2, b"\nktrun: stopping at once; completed trials are kept\n")
        os._exit(128 + signum)
    request.signum = signum
    os.write(
        2,
        f"\nktrun: {signal.Signals(signum).name} received: stopping after the current batch "
        "(again to exit at once)\n".encode(),
    )


@contextmanager
def handlers() -> Iterator[None]:
    """SIGINT/SIGTERM handlers for the search only (main thread; otherwise a no-op)."""
    request.signum = None
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old: dict[int, Any] = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        sys.stderr.flush()
