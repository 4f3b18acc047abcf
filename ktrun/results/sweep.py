"""Hydra multirun: one table for a whole sweep, written next to its jobs when the sweep ends.

Each job writes `ktrun_job.json` (its overrides and exit code) and, when a search ran,
`summary.json`. The Hydra callback `SweepSummary` reads them back after the last job and writes
`sweep_summary.csv`, `sweep_summary.md` and `sweep_summary.png` in the sweep directory, and
prints the table. A job that failed still gets its row.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.experimental.callback import Callback

if TYPE_CHECKING:
    from matplotlib.figure import Figure

JOB_FILE = "ktrun_job.json"
OK_STATUSES = frozenset({"completed", "exhausted", "stopped"})
COLUMNS = ("job", "overrides", "status", "best_score", "objective", "completed", "failed", "seconds")


@dataclass(frozen=True)
class JobRow:
    job: str
    overrides: str
    status: (
        str  # completed | aborted | exhausted | stopped | config error | data error | failed | final failed
    )
    best_score: float | None
    objective: str
    completed: int
    failed: int
    seconds: float | None
    #: The job's overrides one by one (`overrides` joins them), to label its bar.
    override_list: tuple[str, ...] = ()

    def cells(self) -> list[str]:
        """The row as text, in COLUMNS order: one rendering for csv, Markdown and the terminal."""
        return [
            self.job,
            self.overrides,
            self.status,
            _fmt(self.best_score),
            self.objective,
            str(self.completed),
            str(self.failed),
            _fmt(self.seconds),
        ]


def write_job_file(run_dir: Path, overrides: list[str], exit_code: int, status: str) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / JOB_FILE).write_text(
        json.dumps({"overrides": overrides, "exit_code": exit_code, "status": status}) + "\n"
    )


def _row(job_dir: Path) -> JobRow:
    job = json.loads((job_dir / JOB_FILE).read_text()) if (job_dir / JOB_FILE).is_file() else {}
    items = tuple(str(o) for o in job.get("overrides", []))
    overrides = " ".join(items) or "(defaults)"
    summary_path = job_dir / "summary.json"
    if not summary_path.is_file():
        return JobRow(job_dir.name, overrides, job.get("status", "failed"), None, "", 0, 0, None, items)
    s = json.loads(summary_path.read_text())
    best = (s.get("best") or {}).get("score")
    objective = f"{s['objective']['name']} ({s['objective']['direction']})"
    return JobRow(
        job_dir.name,
        overrides,
        # the search's status, unless the final stage after it failed (final.retrain)
        "final failed" if job.get("status") == "final failed" else s["status"],
        best,
        objective,
        s["trials"]["completed"],
        s["trials"]["failed"],
        s.get("seconds"),
        items,
    )


def collect_sweep(sweep_dir: Path) -> list[JobRow]:
    jobs = [p.parent for p in sweep_dir.glob("*/" + JOB_FILE)]
    jobs += [p.parent for p in sweep_dir.glob("*/summary.json") if p.parent not in jobs]
    return [_row(j) for j in sorted(jobs, key=lambda p: (len(p.name), p.name))]


def _fmt(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.6g}"


def write_sweep_summary(sweep_dir: Path) -> list[JobRow]:
    rows = collect_sweep(sweep_dir)
    with open(sweep_dir / "sweep_summary.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow(r.cells())
    lines = [
        f"# Sweep summary: {sweep_dir.name}",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for r in rows:
        cells = r.cells()
        cells[1] = f"`{cells[1]}`"
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    (sweep_dir / "sweep_summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _plot(rows, sweep_dir / "sweep_summary.png")
    return rows


def bar_labels(rows: list[JobRow]) -> tuple[list[str], list[str]]:
    """Each job's label (the overrides that differ between jobs, one a line, after its job
    number) and the overrides every job shares (said once, in the title)."""
    common = [o for o in rows[0].override_list if all(o in r.override_list for r in rows)] if rows else []
    if len(rows) == 1:
        common = []
    labels = []
    for r in rows:
        own = [o for o in r.override_list if o not in common] or ["(defaults)"]
        labels.append("\n".join([f"#{r.job}", *own]))
    return labels, common


def _plot(rows: list[JobRow], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = sweep_figure(rows)
    fig.savefig(path)
    plt.close(fig)


def sweep_figure(rows: list[JobRow]) -> Figure:
    """Each job's best score as a bar labelled by what sets it apart (`bar_labels`)."""
    import matplotlib.pyplot as plt

    labels, common = bar_labels(rows)
    lines = max((label.count("\n") + 1 for label in labels), default=1)
    wide = max((len(part) for label in labels for part in label.split("\n")), default=4)
    fig, ax = plt.subplots(figsize=(max(6.0, (0.09 * wide + 0.4) * len(rows) + 1.5), 3.6 + 0.2 * lines))
    scores = [r.best_score if r.best_score is not None else 0.0 for r in rows]
    colors = ["tab:blue" if r.best_score is not None else "tab:red" for r in rows]
    bars = ax.bar(range(len(rows)), scores, color=colors)
    texts = ax.bar_label(bars, [_fmt(r.best_score) or r.status for r in rows], fontsize="small", padding=2)
    for text, r in zip(texts, rows, strict=True):
        if r.best_score is None:  # its bar has no height: the status says it, in red
            text.set_color("tab:red")
    ax.set_xticks(range(len(rows)), labels, fontsize="small")
    ax.set_xlabel("job: its own overrides (red: no completed trial)")
    ax.set_ylabel(rows[0].objective if rows and rows[0].objective else "best score")
    shared = " ".join(common)
    if len(shared) > 90:
        shared = shared[:89] + "…"
    title = "Best score per sweep job" + (f"\n(every job: {shared})" if shared else "")
    ax.set_title(title, fontsize="medium")
    ax.margins(y=0.12)
    fig.tight_layout()
    return fig


def print_sweep(rows: list[JobRow]) -> None:
    from rich.table import Table
    from rich.text import Text

    from ktrun.render.console import make_console

    table = Table(title="sweep summary")
    for col in COLUMNS:
        table.add_column(col)
    for r in rows:  # overrides are the user's text, never markup
        table.add_row(*(Text(c) for c in r.cells()))
    make_console().print(table)


class SweepSummary(Callback):
    """Registered in conf/config.yaml under `hydra.callbacks`."""

    #: Whether the last sweep had a failed job; read by the launching process, since the jobs
    #: may have run in other processes (joblib launcher).
    last_failed = False

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        if sweep_dir.is_dir():
            rows = write_sweep_summary(sweep_dir)
            SweepSummary.last_failed = any(r.status not in OK_STATUSES for r in rows)
            print_sweep(rows)
