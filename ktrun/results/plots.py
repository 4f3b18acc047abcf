"""A search's plots (`PLOTS`). Matplotlib (and scikit-learn, for the importance) is imported here
only, when the plots are drawn. Every plot names trials by their ids, as every other result does."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ktrun.results.trials import cell, hp_columns, ranked, rule_text, score_text, short
from ktrun.runtime.outcome import HpAxis, SearchOutcome
from ktrun.spec.refs import Scalar

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


OBJECTIVE_PNG = "objective.png"


HPARAMS_PNG = "hparams.png"


#: Several objectives: each trial's values, the Pareto front highlighted (pairwise beyond two).
PARETO_PNG = "pareto.png"
#: The objective at each epoch's end, for the top trials (`CURVES_TOP`).
CURVES_PNG = "learning_curves.png"
#: Every completed trial as a line across the hyperparameters' axes, coloured by its score.
PARALLEL_PNG = "parallel_coordinates.png"
#: Which hyperparameters matter: a random forest's permutation importance (scikit-learn).
IMPORTANCE_PNG = "importance.png"
#: Every plot a search may write, in the order the report shows them: `write_plots` answers for each.
PLOTS = (OBJECTIVE_PNG, PARETO_PNG, CURVES_PNG, HPARAMS_PNG, PARALLEL_PNG, IMPORTANCE_PNG)

#: Learning curves of this many of the best trials (more is a tangle).
CURVES_TOP = 8
#: Fewer completed trials than this say nothing about importance: the report says so instead.
IMPORTANCE_MIN_TRIALS = 5


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

    scored = [t for t in outcome.trials if t.scored]
    names = hp_columns(outcome, scored)
    varied = [n for n in names if len({cell(t.hyperparameters.get(n)) for t in scored}) > 1]
    figures: list[tuple[str, Callable[[], Figure]]] = [(OBJECTIVE_PNG, lambda: _objective_figure(outcome))]
    if names:
        figures.append((HPARAMS_PNG, lambda: _hparams_figure(outcome, names)))
    if outcome.objectives and outcome.points():
        figures.append((PARETO_PNG, lambda: _pareto_figure(outcome)))
    if any(len(t.curve) for t in ranked(outcome)[:CURVES_TOP]):
        figures.append((CURVES_PNG, lambda: _curves_figure(outcome)))
    if varied and len(scored) >= 2:
        figures.append((PARALLEL_PNG, lambda: _parallel_figure(outcome, varied)))
    if varied and len(scored) >= IMPORTANCE_MIN_TRIALS:
        figures.append((IMPORTANCE_PNG, lambda: _importance_figure(outcome, varied)))
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
    """Score per trial in run order (labelled by trial id), the best-so-far line, and failures
    marked on the bottom axis."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig, ax = plt.subplots(figsize=(8, 4.5))
    pick = max if outcome.direction == "max" else min
    ids = [t.trial_id for t in outcome.trials]
    xs: list[int] = []
    ys: list[float] = []
    bad: list[int] = []
    run_x: list[int] = []
    run_y: list[float] = []
    cut: list[tuple[int, float]] = []  # pruned: where their partial curve's best was
    for i, t in enumerate(outcome.trials):
        if t.status == "pruned" and t.score is not None and math.isfinite(t.score):
            cut.append((i, t.score))
        elif t.scored and t.score is not None:
            xs.append(i)
            ys.append(t.score)
            run_y.append(pick(run_y[-1], t.score) if run_y else t.score)
            run_x.append(i)
        else:
            bad.append(i)
    if run_x and run_x[-1] < len(ids) - 1:  # carry the best-so-far line to the last trial
        run_x.append(len(ids) - 1)
        run_y.append(run_y[-1])
    ax.plot(xs, ys, "o", color="tab:blue", label="completed trial")
    ax.step(run_x, run_y, where="post", color="tab:green", label=f"best so far ({outcome.direction})")
    if cut:
        ax.plot(*zip(*cut, strict=True), "v", color="tab:gray", label="pruned (best before the cut)")
    best = outcome.best()
    if best is not None and best.score is not None:
        bx = next(i for i, t in enumerate(outcome.trials) if t is best)
        ax.plot([bx], [best.score], "*", color="gold", markeredgecolor="black", markersize=14,
                label=f"best (trial {best.trial_id})")  # fmt: skip
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
    ax.set_xlabel("trial id (in run order)")
    ax.set_ylabel(outcome.objective_name)
    ax.set_title(f"{outcome.experiment}: {outcome.objective_name} per trial ({outcome.direction})")
    if len(ids) <= 20:
        ax.set_xticks(range(len(ids)), ids)
    else:  # the ids at a readable spacing
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda x, _: ids[int(x)] if float(x).is_integer() and 0 <= x < len(ids) else "")
        )
    ax.set_xlim(-0.5, len(ids) - 0.5)
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
        _hp_panel(ax, name, pts, outcome.hyperparameter_axes.get(name))
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


def _hp_panel(ax: Axes, name: str, pts: list[tuple[Scalar, float, bool]], axis: HpAxis | None) -> None:
    """The values on the axis a person reads them on: a log-sampled range on a log axis, an
    integer on whole numbers (its grid's own values when short), a choice by its values."""
    from matplotlib.ticker import MaxNLocator, NullLocator

    values = [v for v, _, _ in pts]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if all(isinstance(v, bool) for v in values):
        xs: list[float] = [float(v) + _jitter(i) for i, v in enumerate(values)]
        ax.set_xticks([0, 1], ["false", "true"])
        ax.set_xlim(-0.5, 1.5)
    elif numeric and (axis is None or axis.type != "choice"):
        xs = [float(v) for v in values]
        if _is_log(axis, xs):
            _log_axis(ax, min(xs), max(xs))
        if axis is not None and axis.values and axis.type in ("int", "float"):  # a short grid
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xticks([float(v) for v in axis.values], [cell(v) for v in axis.values],
                          rotation=45 if len(axis.values) > 6 else 0)  # fmt: skip
        elif axis is not None and axis.type == "int":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        labels = _categories(values, axis)
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


def _is_log(axis: HpAxis | None, values: list[float]) -> bool:
    """Log scale for a range sampled in log scale; with no declaration to go by (an outcome
    without axes), for positive values spanning two decades or more."""
    if not values or min(values) <= 0:
        return False
    return axis.log if axis is not None else max(values) / min(values) >= 100


def _log_axis(ax: Axes, lo: float, hi: float) -> None:
    """A log axis labelled at the powers of ten inside the data, or (less than a decade) at its
    ends and geometric middle: matplotlib's own minor labels there overlap."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    powers = [10.0**k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)]
    inside = [p for p in powers if lo <= p <= hi]
    ticks = inside if len(inside) >= 2 else [lo, math.sqrt(lo * hi), hi] if hi > lo else [lo]
    ax.set_xticks(ticks, [f"{t:.2g}" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())


def _categories(values: list[Scalar], axis: HpAxis | None) -> list[str]:
    """A choice's values as labels, in declared order (values never tried included: they show
    what the search left out), any value outside them after."""
    declared = [cell(v) for v in axis.values] if axis is not None and axis.values else []
    seen = sorted({cell(v) for v in values} - set(declared))
    return declared + seen


def _curves_figure(outcome: SearchOutcome) -> Figure:
    """The objective at each epoch's end for the best trials (the best one bold), and the pruned
    trials' cut curves in grey: whether the epochs were enough, and when good trials pull ahead."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(8, 4.5))
    top = [t for t in ranked(outcome)[:CURVES_TOP] if t.curve]
    best = outcome.best()
    pruned = [t for t in outcome.trials if t.status == "pruned" and t.curve]
    for i, t in enumerate(pruned):
        epochs, values = zip(*t.curve, strict=True)
        ax.plot(epochs, values, "-", color="tab:gray", alpha=0.5, linewidth=1, gid=f"pruned {t.trial_id}",
                label="pruned trials" if i == 0 else None)  # fmt: skip
    colors = plt.get_cmap("tab10")
    for i, t in enumerate(top):
        epochs, values = zip(*t.curve, strict=True)
        bold = best is not None and t.trial_id == best.trial_id
        ax.plot(epochs, values, "-o" if len(epochs) <= 30 else "-", color=colors(i % 10),
                linewidth=2.5 if bold else 1.3, markersize=4, zorder=3 if bold else 2, gid=t.trial_id,
                label=f"trial {t.trial_id}: {score_text(t.score)}" + (" (best)" if bold else ""))  # fmt: skip
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(outcome.objective_name)
    ax.set_title(f"{outcome.experiment}: {outcome.objective_name} per epoch, top {len(top)} trial(s)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small", title="trial: score", title_fontsize="small")
    fig.tight_layout()
    return fig


def _encoder(
    name: str, values: list[Scalar | None], axis: HpAxis | None
) -> tuple[Callable[[Scalar | None], float], list[tuple[float, str]]]:
    """One parallel axis: a value's height in [0, 1] (an inactive one below, at -0.1), and the
    ticks to label: a choice's every value, a number's ends and middle (log-spaced when sampled
    in log scale), an integer grid's own values."""
    present = [v for v in values if v is not None]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in present)
    ticks: list[tuple[float, str]] = []
    if any(v is None for v in values):
        ticks.append((-0.1, "(inactive)"))
    if not numeric or (axis is not None and axis.type in ("choice", "boolean")):
        labels = _categories(present, axis)
        if axis is not None and axis.type == "boolean":
            labels = ["false", "true"]
        where = {
            label: i / max(len(labels) - 1, 1) if len(labels) > 1 else 0.5 for i, label in enumerate(labels)
        }
        ticks += [(where[label], label if len(label) <= 14 else label[:13] + "…") for label in labels]
        return (lambda v: -0.1 if v is None else where[cell(v)]), ticks
    nums = [float(v) for v in present]
    log = _is_log(axis, nums)
    scale: Callable[[float], float] = math.log10 if log else float
    lo, hi = scale(min(nums)), scale(max(nums))

    def at(v: Scalar | None) -> float:
        if v is None:
            return -0.1
        return 0.5 if hi == lo else (scale(float(v)) - lo) / (hi - lo)

    if axis is not None and axis.values and len(axis.values) <= 8 and hi > lo:
        shown = [v for v in axis.values if min(nums) <= float(v) <= max(nums)]
        ticks += [(at(v), cell(v)) for v in shown]
    else:
        mids = [lo, (lo + hi) / 2, hi] if hi > lo else [lo]
        for m in mids:
            v = 10**m if log else m
            ticks.append((at(v), short(round(v) if axis is not None and axis.type == "int" else v)))
    return at, ticks


def _parallel_figure(outcome: SearchOutcome, names: list[str]) -> Figure:
    """Each completed trial a line across the hyperparameters' axes and the objective's,
    coloured by its score (the best bold, drawn last): which combinations score well."""
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.patheffects import withStroke

    scored = [t for t in outcome.trials if t.scored]
    columns: list[tuple[str, list[Scalar | None], HpAxis | None]] = [
        (n, [t.hyperparameters.get(n) for t in scored], outcome.hyperparameter_axes.get(n)) for n in names
    ]
    columns.append((outcome.objective_name, [t.score for t in scored], HpAxis("float")))
    encoders = [_encoder(n, vals, axis) for n, vals, axis in columns]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.5 * len(columns) + 2.0), 4.8))
    scores = [t.score or 0.0 for t in scored]
    norm = Normalize(min(scores), max(scores) if max(scores) > min(scores) else min(scores) + 1e-12)
    cmap = plt.get_cmap("viridis" if outcome.direction == "max" else "viridis_r")
    best = outcome.best()
    sign = 1.0 if outcome.direction == "max" else -1.0
    order = sorted(range(len(scored)), key=lambda i: sign * scores[i])  # the best drawn last, on top
    for i in order:
        t = scored[i]
        ys = [at(vals[i]) for (at, _), (_, vals, _) in zip(encoders, columns, strict=True)]
        bold = best is not None and t.trial_id == best.trial_id
        ax.plot(range(len(columns)), ys, "-o", color=cmap(norm(scores[i])), linewidth=3 if bold else 1.2,
                markersize=3, alpha=1.0 if bold else 0.75, gid=t.trial_id, zorder=3 if bold else 2,
                path_effects=[withStroke(linewidth=5, foreground="black")] if bold else None,
                label=f"best (trial {t.trial_id})" if bold else None)  # fmt: skip
    for x, (_, ticks) in enumerate(encoders):
        ax.axvline(x, color="black", linewidth=0.8, zorder=0)
        for y, label in ticks:
            ax.text(x - 0.06, y, label, ha="right", va="center", fontsize="x-small", zorder=4,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.5})  # fmt: skip
    ax.set_xticks(range(len(columns)), [n for n, _, _ in columns], rotation=20 if len(columns) > 5 else 0)
    ax.set_yticks([])
    ax.set_xlim(-0.6, len(columns) - 0.8)
    ax.set_ylim(-0.18, 1.08)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=outcome.objective_name, pad=0.02)
    if best is not None:
        ax.legend(loc="upper left", bbox_to_anchor=(0, -0.12), fontsize="small", frameon=False)
    ax.set_title(f"{outcome.experiment}: {len(scored)} completed trial(s) across the hyperparameters")
    fig.tight_layout()
    return fig


def importances(outcome: SearchOutcome, names: list[str]) -> list[tuple[str, float, float]]:
    """Each hyperparameter's permutation importance for a random forest fitted to the completed
    trials (scikit-learn's estimator, not one of ours): the mean drop in the forest's R² when
    that column is shuffled, and its spread, most important first."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    scored = [t for t in outcome.trials if t.scored]
    columns = [
        _feature([t.hyperparameters.get(n) for t in scored], outcome.hyperparameter_axes.get(n))
        for n in names
    ]
    rows = [list(r) for r in zip(*columns, strict=True)]
    target = [t.score or 0.0 for t in scored]
    forest = RandomForestRegressor(n_estimators=50, random_state=0, n_jobs=1).fit(rows, target)
    found = permutation_importance(forest, rows, target, n_repeats=8, random_state=0, n_jobs=1)
    out = [
        (n, float(m), float(s))
        for n, m, s in zip(names, found.importances_mean, found.importances_std, strict=True)
    ]
    return sorted(out, key=lambda r: -r[1])


def _feature(values: list[Scalar | None], axis: HpAxis | None) -> list[float]:
    """One column for the forest: a number as itself (its log when sampled in log scale), a
    choice or boolean as its index (a forest splits on any order), an inactive value below all."""
    present = [v for v in values if v is not None]
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present) and (
        axis is None or axis.type not in ("choice", "boolean")
    ):
        log = _is_log(axis, [float(v) for v in present])
        nums = [None if v is None else (math.log10(float(v)) if log else float(v)) for v in values]
        known = [n for n in nums if n is not None]
        below = (min(known) - (max(known) - min(known) or 1.0)) if known else 0.0
        return [below if n is None else n for n in nums]
    labels = _categories(present, axis)
    return [-1.0 if v is None else float(labels.index(cell(v))) for v in values]


def _importance_figure(outcome: SearchOutcome, names: list[str]) -> Figure:
    import matplotlib.pyplot as plt

    found = importances(outcome, names)
    n = sum(t.scored for t in outcome.trials)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.45 * len(found)))
    shown = list(reversed(found))  # the most important at the top
    ax.barh([r[0] for r in shown], [max(r[1], 0.0) for r in shown], xerr=[r[2] for r in shown],
            color="tab:blue", ecolor="gray", capsize=3)  # fmt: skip
    ax.set_xlabel("drop in the forest's R² when the hyperparameter is shuffled")
    ax.set_title(f"{outcome.experiment}: which hyperparameters matter for {outcome.objective_name}")
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlim(left=0)
    note = f"permutation importance of a random forest fitted to {n} completed trials (scikit-learn)"
    fig.text(0.01, 0.01, note + "; few trials make it a rough guide", fontsize="x-small", color="dimgray")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def _jitter(i: int) -> float:
    """A small deterministic offset so trials with the same category do not hide each other."""
    return ((i * 7) % 9 - 4) * 0.03


def _save(fig: Figure, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format="png", dpi=100)
    os.replace(tmp, path)
    return path
