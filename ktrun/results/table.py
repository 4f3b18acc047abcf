"""The results in the terminal: the top trials as a table and the sentence that sums the search up."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ktrun.results import REPORT_MD, SUMMARY_JSON, TRIALS_CSV
from ktrun.results.trials import (
    cell,
    hp_columns,
    pareto_sentence,
    ranked,
    score_text,
    secs,
    short,
    status_sentence,
)
from ktrun.runtime.outcome import SearchOutcome

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


def results_table(outcome: SearchOutcome, limit: int = 10) -> Table:
    """The end-of-search terminal table: the best trials, with failures summarized in the caption."""
    from rich.table import Table
    from rich.text import Text

    top = ranked(outcome)[:limit]
    table = Table(
        title=Text(f"{outcome.experiment}: top trials by {outcome.objective_name} ({outcome.direction})"),
        caption=Text(_caption(outcome, len(top))),
        caption_justify="left",
    )
    table.add_column("rank", justify="right")
    table.add_column("trial")
    table.add_column("score", justify="right")
    table.add_column("hyperparameters", overflow="fold")
    table.add_column("epochs", justify="right")
    table.add_column("seconds", justify="right")
    names = hp_columns(outcome, top)
    for i, t in enumerate(top, 1):
        hps = "  ".join(f"{n}={short(t.hyperparameters[n])}" for n in names if n in t.hyperparameters)
        table.add_row(
            str(i),
            Text(t.trial_id),
            score_text(t.score),
            Text(hps),
            cell(t.epochs),
            secs(t.seconds),
            style="bold" if i == 1 else None,
        )
    return table


def print_results(
    outcome: SearchOutcome, console: Console | None = None, run_dir: Path | None = None
) -> None:
    """Print the results table, one line on status and best trial, and where the files are."""
    from rich.text import Text

    from ktrun.render.console import make_console

    console = console or make_console()
    console.print(results_table(outcome))
    console.print(Text(status_sentence(outcome)))
    front = pareto_sentence(outcome)
    if front is not None:
        console.print(Text(front))
    if run_dir is not None:
        console.print(Text(f"Results: {Path(run_dir) / REPORT_MD} (and {SUMMARY_JSON}, {TRIALS_CSV})"))
    if outcome.best_model_path:
        console.print(Text(f"Best model: {outcome.best_model_path}"))


def print_final(outcome: SearchOutcome, console: Console) -> None:
    """The final stage's score on the test split."""
    from rich.text import Text

    final = outcome.final
    if final is None or final.error is not None:  # a failure is said where it happens
        return
    scores = "  ".join(f"{k}={score_text(v)}" for k, v in final.test.items())
    console.print(
        Text(
            f"Final: trial {final.trial_id} retrained for {final.epochs} epoch(s) "
            f"on {final.train_rows} rows; "
            f"test ({final.rows} rows): {scores}"
        )
    )
    if final.model:
        console.print(Text(f"Final model: {final.model}"))


def _caption(outcome: SearchOutcome, shown: int) -> str:
    scored = sum(t.scored for t in outcome.trials)
    parts = [f"showing {shown} of {scored} scored trial(s)" if scored else "no completed trial with a score"]
    failed = outcome.failed_by_reason()
    if failed:
        detail = ", ".join(f"{c} {n}" for c, n in failed.items())
        parts.append(f"{sum(failed.values())} failed ({detail})")
    rejected = sum(outcome.rejected.values())
    if rejected:
        parts.append(f"{rejected} candidate(s) rejected before training")
    return " · ".join(parts)
