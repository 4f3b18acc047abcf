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
import re
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from ktrun.render.fmt import percent, points
from ktrun.runtime.outcome import FAILURE_CLASSES, SearchOutcome, TrialRecord
from ktrun.spec.refs import Scalar

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from rich.console import Console
    from rich.table import Table

    from ktrun.render.space_summary import SpaceSummary

#: The top-level keys of summary.json, in order. Scripts rely on them.
SUMMARY_KEYS = ("experiment", "objective", "status", "abort_reason", "best", "trials", "seconds")
#: Optional extra top-level keys of summary.json.
SUMMARY_EXTRA_KEYS = ("resumed_trials", "state_dir")
#: Keras Tuner's Hyperband adds bookkeeping values under this prefix; they are not search choices.
TUNER_PREFIX = "tuner/"
MESSAGE_CHARS = 200
TOP_TRIALS = 10

SUMMARY_JSON = "summary.json"
TRIALS_CSV = "trials.csv"
REPORT_MD = "report.md"
BEST_YAML = "best_hparams.yaml"
OBJECTIVE_PNG = "objective.png"
HPARAMS_PNG = "hparams.png"


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
    plot_paths, plot_errors = _write_plots(outcome, run_dir)
    optional.update(plot_paths)
    for name, path in optional.items():
        if path is None:
            (run_dir / name).unlink(missing_ok=True)
    plots = [p.name for p in (optional[OBJECTIVE_PNG], optional[HPARAMS_PNG]) if p is not None]
    report = report_markdown(outcome, space, plots, plot_errors)
    written.append(_write_text(run_dir / REPORT_MD, report))
    written.extend(p for p in optional.values() if p is not None)
    return written


def retrain_command(outcome: SearchOutcome, best: TrialRecord | None = None) -> str | None:
    """The shell command that retrains the best trial: the experiment's overrides plus one pin each.

    Earlier `pin.*` and `tuner.max_trials` overrides are dropped (Hydra refuses a second `+pin.x`).
    """
    best = best if best is not None else outcome.best()
    if best is None:
        return None
    kept = [o for o in outcome.overrides if _override_key(o) != "tuner.max_trials"]
    kept = [o for o in kept if not (_override_key(o) + ".").startswith("pin.")]
    pins = [f"+pin.{k}={_hydra_value(v)}" for k, v in _search_hparams(outcome, best).items()]
    return " ".join(shlex.quote(arg) for arg in ["ktrun", *kept, *pins, "tuner.max_trials=1"])


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
        "best": None
        if best is None
        else {
            "trial_id": best.trial_id,
            "score": best.score,
            "hyperparameters": _search_hparams(outcome, best),
        },
        "trials": {
            "completed": sum(t.status == "completed" for t in outcome.trials),
            "failed": sum(t.status == "failed" for t in outcome.trials),
            "failed_by_reason": by_class,
            "rejected_candidates": sum(outcome.rejected.values()),
            "rejected_by_reason": dict(outcome.rejected),
        },
        "seconds": round(outcome.seconds, 3),
        "resumed_trials": outcome.resumed_trials,
        "state_dir": outcome.state_dir,
    }
    return cast(dict[str, Any], _finite(data))


def summary_json(outcome: SearchOutcome) -> str:
    return json.dumps(summary_dict(outcome), indent=2, allow_nan=False) + "\n"


def trials_csv(outcome: SearchOutcome) -> str:
    """One row per trial, hyperparameters as columns; empty cells where a value does not exist."""
    names = outcome.hyperparameter_names
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    fixed_tail = ["epochs", "seconds", "phase", "exception_type", "message"]
    writer.writerow(["trial_id", "status", "failure_class", "score", *names, *fixed_tail])
    for t in outcome.trials:
        score = t.score if t.status == "completed" else None
        hps = [_cell(t.hyperparameters.get(n)) for n in names]
        tail = [_cell(t.epochs), _cell(t.seconds), t.phase or "", t.exception_type or ""]
        msg = _flatten(t.message, MESSAGE_CHARS)
        writer.writerow([t.trial_id, t.status, t.failure_class or "", _cell(score), *hps, *tail, msg])
    return buf.getvalue()


def best_hparams_yaml(outcome: SearchOutcome, best: TrialRecord) -> str:
    """The best trial's hyperparameters as `pin:`, with a header saying what they are and how to retrain."""
    header = [
        f"Best trial {best.trial_id} of {outcome.experiment}: "
        f"{outcome.objective_name} = {_score(best.score)} ({outcome.direction})",
        f"Retrain it: {retrain_command(outcome, best)}",
    ]
    body = yaml.safe_dump(
        {"pin": _search_hparams(outcome, best)}, sort_keys=False, default_flow_style=False, allow_unicode=True
    )
    return "".join(f"# {_one_line(line)}\n" for line in header) + body


def ranked(outcome: SearchOutcome) -> list[TrialRecord]:
    """Completed trials with a finite score, best first (ties keep trial order)."""
    sign = -1.0 if outcome.direction == "max" else 1.0
    return sorted((t for t in outcome.trials if t.scored), key=lambda t: sign * (t.score or 0.0))


def report_markdown(
    outcome: SearchOutcome,
    space: SpaceSummary | None = None,
    plots: Sequence[str] = (),
    plot_errors: Sequence[str] = (),
) -> str:
    """report.md: what a person wants after a search, most useful first."""
    best = outcome.best()
    obj = f"`{outcome.objective_name}` ({outcome.direction})"
    status: str = outcome.status
    if outcome.status == "aborted" and outcome.abort_reason:
        status += f": {_one_line(outcome.abort_reason)}"
    out = [f"# {outcome.experiment}: {status}", ""]
    out += [_status_sentence(outcome), ""]
    if outcome.resumed_trials:
        out += [f"{outcome.resumed_trials} trial(s) came from an earlier, interrupted run.", ""]

    out += ["## Best trial", ""]
    if best is None:
        out += [f"No completed trial with a finite {obj}: there is no best trial.", ""]
    else:
        out += [f"Trial **{_one_line(best.trial_id)}**: {obj} = **{_score(best.score)}**", ""]
        hps = _search_hparams(outcome, best)
        if hps:
            out += _md_table(["hyperparameter", "value"], [[k, _cell(v)] for k, v in hps.items()])
        if best.epochs is not None:
            out += [
                f"Trained {best.epochs} epoch(s)" + (f" in {_secs(best.seconds)}." if best.seconds else ".")
            ]
        if outcome.best_model_path:
            out += [f"Saved model: `{outcome.best_model_path}`."]
        out += [""]

    top = ranked(outcome)[:TOP_TRIALS]
    if top:
        names = _hp_columns(outcome, top)
        out += [f"## Top trials by {obj}", ""]
        rows = [
            [str(i), t.trial_id, _score(t.score)]
            + [_short(t.hyperparameters.get(n)) for n in names]
            + [_cell(t.epochs), _secs(t.seconds)]
            for i, t in enumerate(top, 1)
        ]
        out += _md_table(["rank", "trial", "score", *names, "epochs", "seconds"], rows)
    unscored = sum(t.status == "completed" and not t.scored for t in outcome.trials)
    if unscored:
        out += [
            f"{unscored} completed trial(s) reported a missing or non-finite score and are not ranked.",
            "",
        ]

    out += _failures_md(outcome)
    out += _rejected_md(outcome)
    if space is not None:
        out += _space_md(space)
    if plots or plot_errors:
        out += ["## Plots", ""]
        out += [f"![{p.removesuffix('.png')}]({p})" for p in plots]
        out += [f"- {_one_line(e)}" for e in plot_errors]
        out += [""]
    out += ["## Retrain the best configuration", ""]
    command = retrain_command(outcome, best)
    if command is None:
        out += ["There is no best trial to retrain.", ""]
    else:
        out += ["```sh", command, "```", ""]
        out += [f"The same values are in `{BEST_YAML}` under `pin:`.", ""]
    if outcome.state_dir:
        out += [f"Keras Tuner state: `{outcome.state_dir}`.", ""]
    return "\n".join(out)


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
    names = _hp_columns(outcome, top)
    for i, t in enumerate(top, 1):
        hps = "  ".join(f"{n}={_short(t.hyperparameters[n])}" for n in names if n in t.hyperparameters)
        table.add_row(
            str(i),
            Text(t.trial_id),
            _score(t.score),
            Text(hps),
            _cell(t.epochs),
            _secs(t.seconds),
            style="bold" if i == 1 else None,
        )
    return table


def print_results(
    outcome: SearchOutcome, console: Console | None = None, run_dir: Path | None = None
) -> None:
    """Print the results table, one line on status and best trial, and where the files are."""
    from rich.console import Console
    from rich.text import Text

    console = console or Console()
    console.print(results_table(outcome))
    console.print(Text(_status_sentence(outcome)))
    if run_dir is not None:
        console.print(Text(f"Results: {Path(run_dir) / REPORT_MD} (and {SUMMARY_JSON}, {TRIALS_CSV})"))
    if outcome.best_model_path:
        console.print(Text(f"Best model: {outcome.best_model_path}"))


# ── markdown sections ─────────────────────────────────────────────────────────────────────────


def _status_sentence(outcome: SearchOutcome) -> str:
    done = sum(t.status == "completed" for t in outcome.trials)
    failed = len(outcome.trials) - done
    head = f"Search {outcome.status}"
    if outcome.status == "aborted" and outcome.abort_reason:
        head += f" ({_one_line(outcome.abort_reason)})"
    if outcome.status == "exhausted":
        head += " (every feasible point was tried before tuner.max_trials was reached)"
    text = f"{head}: {done} trial(s) completed, {failed} failed in {_secs(outcome.seconds)}."
    best = outcome.best()
    if best is not None:
        text += f" Best: trial {best.trial_id}, {outcome.objective_name} = {_score(best.score)}."
    return text


def _failures_md(outcome: SearchOutcome) -> list[str]:
    out = ["## Failures", ""]
    failed = [t for t in outcome.trials if t.status == "failed"]
    if not failed:
        return [*out, "No failed trials.", ""]
    counts = outcome.failed_by_reason()
    order = [c for c in FAILURE_CLASSES if c in counts] + [c for c in counts if c not in FAILURE_CLASSES]
    rows = []
    for cls in order:
        example = next(t for t in failed if (t.failure_class or "other") == cls)
        what = example.exception_type or "no exception"
        if example.phase:
            what += f" during {example.phase}"
        first = (example.message or "").strip().splitlines()
        detail = f"trial {example.trial_id}: {what}" + (f": {_flatten(first[0], 160)}" if first else "")
        rows.append([cls, str(counts[cls]), detail])
    return out + _md_table(["class", "trials", "example"], rows)


def _rejected_md(outcome: SearchOutcome) -> list[str]:
    out = ["## Rejected candidates", ""]
    total = sum(outcome.rejected.values())
    if total == 0:
        return [*out, "No candidates were rejected: every point the tuner proposed was trained.", ""]
    out += [
        f"{total} candidate point(s) were rejected before training because they were known to be "
        "invalid (a constraint or a shape check). They were never trained and did not count against "
        "`max_trials`.",
        "",
    ]
    rows = [[f"`{r}`", str(n)] for r, n in sorted(outcome.rejected.items(), key=lambda kv: -kv[1])]
    return out + _md_table(["reason", "candidates"], rows)


def _space_md(space: SpaceSummary) -> list[str]:
    out = ["## Search space", ""]
    rows = [
        [f"`{r.name}`", r.type, f"`{r.domain}`", r.cardinality, str(r.instances or ""), r.condition]
        for r in space.hyperparameters
    ]
    out += _md_table(["name", "type", "domain", "cardinality", "repetitions", "condition"], rows)
    if space.constraints or space.shape_excluded:
        rows = [
            [f"`{c.text}`", "not evaluated" if c.rejected is None else f"{percent(c.rejected)}"]
            for c in space.constraints
        ]
        rows += [[f"shapes: `{code}`", f"{percent(frac)}"] for code, frac in space.shape_excluded.items()]
        out += _md_table(["constraint", "rejects"], rows)
    how = "exact" if space.exact else "estimated"
    out += [f"Feasible: {percent(space.feasible_fraction)} of {points(space.total_points)} ({how}).", ""]
    return out


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _md(text: str) -> str:
    """A table cell: one line, pipes escaped."""
    return _one_line(text).replace("|", "\\|")


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


# ── plots ─────────────────────────────────────────────────────────────────────────────────────


def _write_plots(outcome: SearchOutcome, run_dir: Path) -> tuple[dict[str, Path | None], list[str]]:
    """objective.png and hparams.png (None for a plot with nothing to show), and why any plot failed.

    A plotting error must not cost the report of a search that may have run for hours, so it is
    caught and reported in report.md instead.
    """
    out: dict[str, Path | None] = {OBJECTIVE_PNG: None, HPARAMS_PNG: None}
    errors: list[str] = []
    if not any(t.scored for t in outcome.trials):
        return out, errors
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = _hp_columns(outcome, [t for t in outcome.trials if t.scored])
    figures: list[tuple[str, Callable[[], Figure]]] = [(OBJECTIVE_PNG, lambda: _objective_figure(outcome))]
    if names:
        figures.append((HPARAMS_PNG, lambda: _hparams_figure(outcome, names)))
    for name, draw in figures:
        try:
            fig = draw()
            try:
                out[name] = _save(fig, run_dir / name)
            finally:
                plt.close(fig)
        except Exception as exc:  # reported in report.md, see above
            errors.append(f"{name} could not be drawn: {type(exc).__name__}: {exc}")
            (run_dir / (name + ".tmp")).unlink(missing_ok=True)
    return out, errors


def _objective_figure(outcome: SearchOutcome) -> Figure:
    """Score per trial in run order, the best-so-far line, and failures marked on the bottom axis."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(8, 4.5))
    pick = max if outcome.direction == "max" else min
    xs: list[int] = []
    ys: list[float] = []
    bad: list[int] = []
    run_x: list[int] = []
    run_y: list[float] = []
    for i, t in enumerate(outcome.trials, 1):
        if t.scored and t.score is not None:
            xs.append(i)
            ys.append(t.score)
            run_y.append(pick(run_y[-1], t.score) if run_y else t.score)
            run_x.append(i)
        else:
            bad.append(i)
    if run_x and run_x[-1] < len(outcome.trials):  # carry the best-so-far line to the last trial
        run_x.append(len(outcome.trials))
        run_y.append(run_y[-1])
    ax.plot(xs, ys, "o", color="tab:blue", label="completed trial")
    ax.step(run_x, run_y, where="post", color="tab:green", label=f"best so far ({outcome.direction})")
    best = outcome.best()
    if best is not None and best.score is not None:
        bx = next(i for i, t in enumerate(outcome.trials, 1) if t is best)
        ax.plot([bx], [best.score], "*", color="gold", markeredgecolor="black", markersize=14, label="best")
    if bad:
        # failures have no score: mark them on the bottom axis, whatever the y range is
        ax.plot(
            bad,
            [0.0] * len(bad),
            "x",
            color="tab:red",
            markersize=9,
            clip_on=False,
            transform=ax.get_xaxis_transform(),
            label="failed / no score",
        )
    ax.set_xlabel("trial (in run order)")
    ax.set_ylabel(outcome.objective_name)
    ax.set_title(f"{outcome.experiment}: {outcome.objective_name} per trial ({outcome.direction})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def _hparams_figure(outcome: SearchOutcome, names: list[str]) -> Figure:
    """One panel per hyperparameter: the objective against its value (categories on labelled ticks)."""
    import matplotlib.pyplot as plt

    scored = [t for t in outcome.trials if t.scored]
    best = outcome.best()
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        pts = [
            (t.hyperparameters[name], t.score or 0.0, t is best) for t in scored if name in t.hyperparameters
        ]
        _hp_panel(ax, name, pts)
        ax.set_ylabel(outcome.objective_name)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(f"{outcome.experiment}: {outcome.objective_name} ({outcome.direction}) by hyperparameter")
    # fixed margins (in inches) instead of tight_layout, which costs another full draw per panel
    width, height = fig.get_size_inches()
    fig.subplots_adjust(
        left=0.75 / width, right=1 - 0.2 / width, bottom=0.8 / height, top=1 - 0.65 / height,
        wspace=0.35, hspace=0.65,
    )  # fmt: skip
    return fig


def _hp_panel(ax: Axes, name: str, pts: list[tuple[Scalar, float, bool]]) -> None:
    values = [v for v, _, _ in pts]
    if all(isinstance(v, bool) for v in values):
        xs: list[float] = [float(v) + _jitter(i) for i, v in enumerate(values)]
        ax.set_xticks([0, 1], ["false", "true"])
        ax.set_xlim(-0.5, 1.5)
    elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        xs = [float(v) for v in values]
        positive = [x for x in xs if x > 0]
        if len(positive) == len(xs) and max(xs) / min(xs) >= 100:
            ax.set_xscale("log")
    else:
        labels = sorted({_cell(v) for v in values})
        where = {label: i for i, label in enumerate(labels)}
        xs = [where[_cell(v)] + _jitter(i) for i, v in enumerate(values)]
        ticks = [label if len(label) <= 14 else label[:13] + "…" for label in labels]
        if len(labels) > 3:
            ax.set_xticks(range(len(labels)), ticks, rotation=30, ha="right")
        else:
            ax.set_xticks(range(len(labels)), ticks)
        ax.set_xlim(-0.5, len(labels) - 0.5)
    ys = [s for _, s, _ in pts]
    ax.plot(xs, ys, "o", color="tab:blue", alpha=0.7)
    best = [(x, y) for x, (_, y, is_best) in zip(xs, pts, strict=True) if is_best]
    if best:
        ax.plot(*zip(*best, strict=True), "*", color="gold", markeredgecolor="black", markersize=13)
    ax.set_title(name)
    ax.set_xlabel(name)
    ax.grid(alpha=0.3)


def _jitter(i: int) -> float:
    """A small deterministic offset so trials with the same category do not hide each other."""
    return ((i * 7) % 9 - 4) * 0.03


def _save(fig: Figure, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format="png", dpi=100)
    os.replace(tmp, path)
    return path


# ── formatting helpers ────────────────────────────────────────────────────────────────────────


def _write_text(path: Path, text: str) -> Path:
    """Write atomically: readers see the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


def _search_hparams(outcome: SearchOutcome, trial: TrialRecord) -> dict[str, Scalar]:
    """The trial's own choices (no `tuner/` bookkeeping), in declaration order."""
    order = {n: i for i, n in enumerate(outcome.hyperparameter_names)}
    keys = [k for k in trial.hyperparameters if not k.startswith(TUNER_PREFIX)]
    keys.sort(key=lambda k: order.get(k, len(order)))
    return {k: trial.hyperparameters[k] for k in keys}


def _hp_columns(outcome: SearchOutcome, trials: Sequence[TrialRecord]) -> list[str]:
    """Declared hyperparameters that at least one of `trials` has a value for."""
    present = {k for t in trials for k in t.hyperparameters}
    return [n for n in outcome.hyperparameter_names if n in present and not n.startswith(TUNER_PREFIX)]


def _finite(value: object) -> object:
    """A copy with every NaN or infinite float replaced by None (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


_OVERRIDE_KEY = re.compile(r"^[~+]*([^=]*)")
#: Strings Hydra would read back as another type if left unquoted.
_HYDRA_WORDS = {"true", "false", "null", "nan", "inf", "+inf", "-inf", "+nan", "-nan"}
_HYDRA_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-./]*")


def _override_key(override: str) -> str:
    match = _OVERRIDE_KEY.match(override.strip())
    return match.group(1).strip() if match else ""


def _hydra_value(value: Scalar) -> str:
    """A value written so Hydra's override parser reads back the same type and value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if _HYDRA_PLAIN.fullmatch(value) and value.lower() not in _HYDRA_WORDS:
        return value
    # inside quotes Hydra unescapes only backslashes that precede a quote (or the closing quote)
    return '"' + re.sub(r'(\\*)("|$)', _escape_quote, value) + '"'


def _escape_quote(match: re.Match[str]) -> str:
    backslashes, quote = match.groups()
    return backslashes * 2 + ("\\" + quote if quote else "")


def _cell(value: Scalar | None) -> str:
    """A csv/markdown cell: empty when missing; floats at full precision; booleans as YAML spells them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _short(value: Scalar | None) -> str:
    """A compact value for tables people read."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return _cell(value)


def _score(score: float | None) -> str:
    return "" if score is None else f"{score:.6g}"


def _secs(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.1f} s"


def _one_line(text: str) -> str:
    """Text on one line (runs of whitespace, line breaks included, become one space)."""
    return " ".join(text.split())


def _flatten(message: str | None, limit: int) -> str:
    text = _one_line(message or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"
