"""`objective.png` and `hparams.png`. Matplotlib is imported here only, when the plots are drawn."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ktrun.results.trials import cell, hp_columns
from ktrun.runtime.outcome import SearchOutcome
from ktrun.spec.refs import Scalar

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


OBJECTIVE_PNG = "objective.png"


HPARAMS_PNG = "hparams.png"


def write_plots(outcome: SearchOutcome, run_dir: Path) -> tuple[dict[str, Path | None], list[str]]:
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

    names = hp_columns(outcome, [t for t in outcome.trials if t.scored])
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
