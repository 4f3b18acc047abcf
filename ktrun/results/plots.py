"""`objective.png` and `hparams.png`. Matplotlib is imported here only, when the plots are drawn."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ktrun.results.trials import cell, hp_columns, rule_text
from ktrun.runtime.outcome import SearchOutcome
from ktrun.spec.refs import Scalar

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


OBJECTIVE_PNG = "objective.png"


HPARAMS_PNG = "hparams.png"


#: Several objectives: each trial's values, the Pareto front highlighted (pairwise beyond two).
PARETO_PNG = "pareto.png"
#: Every plot a search may write: `write_plots` answers for each.
PLOTS = (OBJECTIVE_PNG, HPARAMS_PNG, PARETO_PNG)


def write_plots(outcome: SearchOutcome, run_dir: Path) -> tuple[dict[str, Path | None], list[str]]:
    """Each of `PLOTS` (None for a plot with nothing to show), and why any plot failed.

    A plotting error must not cost the report of a search that may have run for hours, so it is
    caught and reported in report.md instead.
    """
    out: dict[str, Path | None] = dict.fromkeys(PLOTS)
    errors: list[str] = []
    if not any(t.scored for t in outcome.trials):
        return out, errors
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = hp_columns(outcome, [t for t in outcome.trials if t.scored])
    figures: list[tuple[str, Callable[[], Figure]]] = [(OBJECTIVE_PNG, lambda: _objective_figure(outcome))]
    if names:
        figures.append((HPARAMS_PNG, lambda: _hparams_figure(outcome, names)))
    if outcome.objectives and outcome.points():
        figures.append((PARETO_PNG, lambda: _pareto_figure(outcome)))
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
    cut: list[tuple[int, float]] = []  # pruned: where their partial curve's best was
    for i, t in enumerate(outcome.trials, 1):
        if t.status == "pruned" and t.score is not None and math.isfinite(t.score):
            cut.append((i, t.score))
        elif t.scored and t.score is not None:
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
    if cut:
        ax.plot(*zip(*cut, strict=True), "v", color="tab:gray", label="pruned (best before the cut)")
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


def _pareto_figure(outcome: SearchOutcome) -> Figure:
    """Each pair of objectives: every trial, the front (ringed, joined and labelled by trial id)
    and the best (a star); one panel for two objectives, every pair for more."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import EngFormatter

    objectives = outcome.objectives
    points = outcome.points()
    front = {p[0] for p in outcome.pareto_front_points()}
    best = outcome.best()
    pairs = [(i, j) for i in range(len(objectives)) for j in range(i + 1, len(objectives))]
    cols = min(3, len(pairs))
    rows = math.ceil(len(pairs) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(6.4 if cols == 1 else 4.6 * cols, 4.8 * rows), squeeze=False
    )
    for ax, (i, j) in zip(axes.flat, pairs, strict=False):
        x, y = objectives[j], objectives[i]  # the first objective up the side, as in every plot here
        others = [p for p in points if p[0] not in front]
        if others:
            ax.plot([p[1][j] for p in others], [p[1][i] for p in others], "o", color="tab:gray", alpha=0.6,
                    label="dominated")  # fmt: skip
        on = sorted((p for p in points if p[0] in front), key=lambda p: p[1][j])
        ax.plot([p[1][j] for p in on], [p[1][i] for p in on], "o", color="tab:blue", markersize=8,
                label="Pareto front")  # fmt: skip
        if len(objectives) == 2:  # the staircase is the front only when it has two objectives
            ax.step([p[1][j] for p in on], [p[1][i] for p in on], where="post", color="tab:blue", alpha=0.4)
        for p in on:
            ax.annotate(p[0], (p[1][j], p[1][i]), textcoords="offset points", xytext=(5, 5), fontsize="small")
        chosen = [p for p in points if best is not None and p[0] == best.trial_id]
        if chosen:
            rule = "" if outcome.best_rule == "first" else f" ({rule_text(outcome)})"
            ax.plot([chosen[0][1][j]], [chosen[0][1][i]], "*", color="gold", markeredgecolor="black",
                    markersize=15, label=f"best{rule}")  # fmt: skip
        for axis, o in ((ax.xaxis, x), (ax.yaxis, y)):
            if o.name in ("params", "flops"):  # counts: 12k, 1.5M
                axis.set_major_formatter(EngFormatter(sep=""))
        ax.margins(0.08)  # room for the trial labels at the edges
        ax.set_xlabel(f"{x.name} ({x.direction})")
        ax.set_ylabel(f"{y.name} ({y.direction})")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    for ax in list(axes.flat)[len(pairs) :]:
        ax.set_visible(False)
    fig.suptitle(f"{outcome.experiment}: Pareto front over {', '.join(o.name for o in objectives)}")
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
        labels = sorted({cell(v) for v in values})
        where = {label: i for i, label in enumerate(labels)}
        xs = [where[cell(v)] + _jitter(i) for i, v in enumerate(values)]
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
