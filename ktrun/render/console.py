"""The console every run prints through: rich's own on a terminal, a log's elsewhere.

Off a terminal (a CI log, a pipe, a file) rich would wrap every line at 80 columns, mid-token,
and cut table cells to `+experi…`; there a line is never wrapped or cut, since the reader (a log
viewer, grep) has no width to fit.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

#: A width no line or table reaches: rich never wraps or truncates within it.
LOG_WIDTH = 100_000


def make_console(stderr: bool = False) -> Console:
    from rich.console import Console

    console = Console(stderr=stderr)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, width=LOG_WIDTH, soft_wrap=True)


class PrefixedLines(io.TextIOBase):
    """A text stream that starts each line with `prefix` and writes whole lines at once, so
    parallel jobs sharing one terminal or log interleave by line, each line saying whose it is."""

    def __init__(self, target: TextIO, prefix: str) -> None:
        self.target = target
        self.prefix = prefix
        self.pending = ""

    def write(self, s: str) -> int:
        self.pending += s
        if "\n" in self.pending:
            done, _, self.pending = self.pending.rpartition("\n")
            self.target.write("".join(f"{self.prefix}{line}\n" for line in done.split("\n")))
            self.target.flush()
        return len(s)

    def flush(self) -> None:
        if self.pending:
            self.target.write(self.prefix + self.pending)
            self.pending = ""
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8")

    def writable(self) -> bool:
        return True


@contextmanager
def prefixed_output(prefix: str) -> Iterator[None]:
    """Every line this process prints to stdout and stderr from Python starts with `prefix`."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = PrefixedLines(out, prefix), PrefixedLines(err, prefix)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = out, err
