"""A finished search's results, written for people (report, plots, table) and scripts (json, csv).

Everything here reads only `SearchOutcome`: no Keras, no tuner objects. Matplotlib and rich are
imported inside the functions that need them so that importing this module stays cheap.
`summary.json` is a public contract (see `SUMMARY_KEYS`); change it only deliberately.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from ktrun.results import BEST_YAML, REPORT_MD, SUMMARY_JSON, TRIALS_CSV
from ktrun.results.plots import PLOTS, write_plots
from ktrun.results.report import report_markdown
from ktrun.results.retrain import retrain_command
from ktrun.results.trials import MESSAGE_CHARS, cell, flatten, one_line, score_text, search_hparams
from ktrun.runtime.outcome import SearchOutcome, TrialRecord
from ktrun.spec.failures import FAILURE_CLASSES

if TYPE_CHECKING:
    from ktrun.render.space_summary import SpaceSummary

#: The top-level keys of summary.json, in order. Scripts rely on them.
SUMMARY_KEYS = ("experiment", "objective", "status", "abort_reason", "best", "trials", "seconds")
#: Optional extra top-level keys of summary.json.
SUMMARY_EXTRA_KEYS = ("resumed_trials", "history_trials", "state_dir", "final", "stop_reason", "pareto")


# ── public API ────────────────────────────────────────────────────────────────────────────────


def write_results(outcome: SearchOutcome, run_dir: Path, space: SpaceSummary | None = None) -> list[Path]:
    """Write summary.json, trials.csv, report.md and, when they apply, best_hparams.yaml and plots.

    Every file is written atomically. Optional files that do not apply this time (no best trial,
    nothing to plot) are removed if an earlier write left them, so the directory never mixes runs.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    written = [
        _write_text(run_dir / SUMMARY_JSON, summary_json(outcome)),
        _write_text(run_dir / TRIALS_CSV, trials_csv(outcome)),
    ]
    best = outcome.best()
    optional: dict[str, Path | None] = {
        BEST_YAML: _write_text(run_dir / BEST_YAML, best_hparams_yaml(outcome, best)) if best else None,
    }
    plot_paths, plot_errors = write_plots(outcome, run_dir)
    optional.update(plot_paths)
    for name, path in optional.items():
        if path is None:
            (run_dir / name).unlink(missing_ok=True)
    plots = [p.name for name in PLOTS if (p := optional[name]) is not None]  # in the report's order
    report = report_markdown(outcome, space, plots, plot_errors)
    written.append(_write_text(run_dir / REPORT_MD, report))
    written.extend(p for p in optional.values() if p is not None)
    return written


def result_files(run_dir: Path) -> list[Path]:
    """The files `write_results` left in `run_dir` (what `report.mlflow` logs as artifacts)."""
    names = (SUMMARY_JSON, TRIALS_CSV, REPORT_MD, BEST_YAML, *PLOTS)
    return [run_dir / name for name in names if (run_dir / name).is_file()]


def summary_dict(outcome: SearchOutcome) -> dict[str, Any]:
    """The summary.json contract as a dict (no NaN or inf anywhere: they become null)."""
    best = outcome.best()
    by_class: dict[str, int] = {c: 0 for c in FAILURE_CLASSES}  # every class, so scripts can index
    by_class.update(outcome.failed_by_reason())
    data: dict[str, Any] = {
        "experiment": outcome.experiment,
        "objective": {"name": outcome.objective_name, "direction": outcome.direction},
        "status": outcome.status,
        "abort_reason": outcome.abort_reason,
        **({"stop_reason": outcome.stop_reason} if outcome.status == "stopped" else {}),
        "best": None
        if best is None
        else {
            "trial_id": best.trial_id,
            "score": best.score,
            **({"score_folds": best.score_folds} if outcome.folds is not None else {}),
            "hyperparameters": search_hparams(outcome, best),
        },
        "trials": {
            "completed": sum(t.status == "completed" for t in outcome.trials),
            "pruned": sum(t.status == "pruned" for t in outcome.trials),
            "failed": sum(t.status == "failed" for t in outcome.trials),
            "failed_by_reason": by_class,
            "rejected_candidates": sum(outcome.rejected.values()),
            "rejected_by_reason": dict(outcome.rejected),
        },
        "seconds": round(outcome.seconds, 3),
        "resumed_trials": outcome.resumed_trials,
        "history_trials": outcome.history_trials,
        "state_dir": outcome.state_dir,
    }
    final = outcome.final
    if final is not None:  # final.retrain: the score to report, on the test split
        data["final"] = {
            "test": None if final.error is not None else dict(final.test),
            "epochs": final.epochs,
            "model": final.model,
            "trial_id": final.trial_id,
            "test_rows": final.rows,
            "train_rows": final.train_rows,
            "error": final.error,
        }
    if outcome.objectives:
        data["pareto"] = pareto_dict(outcome)
    return cast(dict[str, Any], _finite(data))


def pareto_dict(outcome: SearchOutcome) -> dict[str, Any]:
    """summary.json's `pareto`: the objectives, the rule, the front and every trial's values."""
    rule = outcome.best_rule
    best = outcome.best()
    front = outcome.pareto_front()
    on_front = {t.trial_id for t in front}
    return {
        "objectives": [{"name": o.name, "direction": o.direction} for o in outcome.objectives],
        "best_rule": rule if isinstance(rule, str) else {"max": dict(rule.max), "min": dict(rule.min)},
        "best": None if best is None else best.trial_id,
        "front": [{"trial_id": t.trial_id, "values": dict(t.objectives)} for t in front],
        "trials": [
            {"trial_id": t.trial_id, "values": dict(t.objectives), "on_front": t.trial_id in on_front}
            for t in outcome.trials
            if t.status == "completed"
        ],
    }


def summary_json(outcome: SearchOutcome) -> str:
    return json.dumps(summary_dict(outcome), indent=2, allow_nan=False) + "\n"


def trials_csv(outcome: SearchOutcome) -> str:
    """One row per trial, hyperparameters as columns; empty cells where a value does not exist."""
    names = outcome.hyperparameter_names
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    fixed_tail = ["epochs", "seconds", "phase", "exception_type", "message"]
    # Cross-validation: the spread of each trial's fold scores, beside their mean.
    spread = ["score_std"] if outcome.folds is not None else []
    # Several objectives: each one's value after the first (which is the score).
    others = [o.name for o in outcome.objectives[1:]]
    writer.writerow(["trial_id", "status", "failure_class", "score", *spread, *others, *names, *fixed_tail])
    for t in outcome.trials:
        score = t.score if t.status in ("completed", "pruned") else None  # pruned: its partial best
        std = [cell(t.score_std if t.status == "completed" else None)] if spread else []
        std += [cell(t.objectives.get(n)) for n in others]
        hps = [cell(t.hyperparameters.get(n)) for n in names]
        tail = [cell(t.epochs), cell(t.seconds), t.phase or "", t.exception_type or ""]
        msg = flatten(t.message, MESSAGE_CHARS)
        writer.writerow([t.trial_id, t.status, t.failure_class or "", cell(score), *std, *hps, *tail, msg])
    return buf.getvalue()


def best_hparams_yaml(outcome: SearchOutcome, best: TrialRecord) -> str:
    """The best trial's hyperparameters as `pin:`, with a header saying what they are and how to retrain."""
    header = [
        f"Best trial {best.trial_id} of {outcome.experiment}: "
        f"{outcome.objective_name} = {score_text(best.score)} ({outcome.direction})",
        f"Retrain it: {retrain_command(outcome, best)}",
    ]
    body = yaml.safe_dump(
        {"pin": search_hparams(outcome, best)}, sort_keys=False, default_flow_style=False, allow_unicode=True
    )
    return "".join(f"# {one_line(line)}\n" for line in header) + body


# ── markdown sections ─────────────────────────────────────────────────────────────────────────


# ── plots ─────────────────────────────────────────────────────────────────────────────────────


# ── formatting helpers ────────────────────────────────────────────────────────────────────────


def _write_text(path: Path, text: str) -> Path:
    """Write atomically: readers see the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


def _finite(value: object) -> object:
    """A copy with every NaN or infinite float replaced by None (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
