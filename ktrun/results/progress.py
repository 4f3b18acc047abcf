"""The live view of a search: trial i of N, best so far, failures, elapsed and ETA (rich)."""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Iterable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text


class SearchProgress:
    """Fed by the tuner's trial events; a bar on a terminal, one line per trial elsewhere."""

    def __init__(self, console: Console, total: int, objective: str, direction: str) -> None:
        self.console = console
        self.total = total
        self.objective = objective
        self.direction = direction
        self.best: float | None = None
        self.done = 0
        self.failed = 0
        self.pruned = 0
        self.started = time.monotonic()
        self.live = console.is_terminal
        self.bar = Progress(
            TextColumn("[bold]trial {task.completed}/{task.total}"),
            BarColumn(),
            TextColumn("{task.description}", markup=False),  # the objective's name is the user's
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task = self.bar.add_task(self._status(), total=total)

    def __enter__(self) -> SearchProgress:
        if self.live:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.bar.stop()

    def _status(self) -> str:
        best = "—" if self.best is None else f"{self.best:.4g}"
        cut = f" • {self.pruned} pruned" if self.pruned else ""
        return f"best {self.objective} {best} • {self.failed} failed{cut}"

    def resume(self, trials: Iterable[Any], pruned: Collection[str]) -> None:
        """An earlier run's ended trials (`pruned`: the ids it pruned): the count, the failures
        and the best start from the whole search's, not from this run's first trial."""
        for trial in trials:
            if trial.status in ("COMPLETED", "FAILED"):
                self._count(trial, trial.trial_id in pruned)
        self.bar.update(self.task, completed=min(self.done, self.total), description=self._status())

    def _count(self, trial: Any, pruned: bool) -> float | None:
        self.done += 1
        score = trial.score if trial.status == "COMPLETED" else None
        if trial.status == "FAILED":
            self.failed += 1
        elif pruned:  # its partial best is no result to beat
            self.pruned += 1
        elif score is not None and math.isfinite(score):
            better = self.best is None or (
                score > self.best if self.direction == "max" else score < self.best
            )
            if better:
                self.best = score
        return score

    def __call__(self, event: str, trial: Any, ctx: Any) -> None:
        if event != "trial_end" or trial.status not in ("COMPLETED", "FAILED"):
            return
        pruned = getattr(ctx, "pruned_after", None)
        score = self._count(trial, pruned is not None)
        self.bar.update(self.task, completed=min(self.done, self.total), description=self._status())
        if not self.live:
            what = f"{self.objective}={score:.4g}" if score is not None else "FAILED"
            if pruned is not None:
                what = f"pruned after epoch {pruned} ({what})"
            elapsed = time.monotonic() - self.started
            self.console.print(
                Text(
                    f"trial {trial.trial_id} ({self.done}/{self.total}): {what} • {self._status()} • "
                    f"{elapsed:.0f} s"
                )
            )
