"""`ktrun plan`: a checked experiment as Markdown for a pull-request comment (no TensorFlow).

What a reviewer needs to judge a change to a search: the space (types, ranges, cardinality,
conditions), constraints with the fraction they reject, shape exclusions, the objective and its
direction, the tuner's budget and how many epochs that budget trains at most.
"""

from __future__ import annotations

import math

from ktrun.checks import CheckReport
from ktrun.spec.refs import HpRef
from ktrun.summary import summarize


def _hyperband_epochs(max_epochs: int, factor: int, iterations: int) -> tuple[int, int]:
    """(brackets, epochs trained in total) for Keras Tuner's Hyperband schedule, approximately."""
    brackets = int(math.log(max_epochs, factor) + 1e-9) + 1
    total = 0
    for b in range(brackets):
        n = math.ceil(brackets / (b + 1) * factor**b)
        for r in range(b + 1):
            trials = max(1, math.floor(n / factor**r))
            epochs = max_epochs / factor ** (b - r)
            total += int(trials * math.ceil(epochs))
    return brackets, total * iterations


def budget_lines(report: CheckReport) -> list[str]:
    assert report.ctx is not None
    spec = report.ctx.spec
    t = spec.tuner
    epochs = spec.fit.epochs
    max_epochs = (
        max((v for v in report.ctx.possible(epochs) or [] if isinstance(v, int)), default=0)
        if isinstance(epochs, HpRef)
        else int(epochs)
    )
    lines = [
        f"- tuner: **{t.algorithm}**, max_trials {t.max_trials}, executions per trial "
        f"{t.executions_per_trial}, seed {spec.experiment.seed}"
    ]
    if t.algorithm == "hyperband":
        h = t.hyperband
        brackets, total = _hyperband_epochs(h.max_epochs, h.factor, h.iterations)
        lines.append(
            f"- Hyperband: max_epochs {h.max_epochs}, factor {h.factor}, {brackets} "
            f"bracket(s); at most about {total * t.executions_per_trial} epochs trained "
            f"(capped by max_trials {t.max_trials})"
        )
    else:
        lines.append(
            f"- at most {t.max_trials * max_epochs * t.executions_per_trial} epochs trained "
            f"({t.max_trials} trials × {max_epochs} epochs × {t.executions_per_trial}"
            f"{'' if spec.fit.early_stopping is None else ', fewer with early stopping'})"
        )
    return lines


def plan_markdown(report: CheckReport) -> str:
    out = [f"### ktrun plan: `{report.label}`", ""]
    if report.errors or report.ctx is None:
        out.append(f"❌ {len(report.errors)} error(s): run `ktrun check {report.label}`")
        out += [f"- `{p.code}` at `{p.key}` ({p.location}): {p.message}" for p in report.errors]
        return "\n".join(out) + "\n"
    spec = report.ctx.spec
    s = summarize(report)
    assert s is not None
    out += ["| hyperparameter | type | values | cardinality | condition |", "|---|---|---|---|---|"]
    for h in s.hyperparameters:
        card = h.cardinality + (f" × {h.instances} repetitions" if h.instances else "")
        out.append(f"| `{h.name}` | {h.type} | {h.domain} | {card} | {h.condition or ''} |")
    out.append("")
    for c in s.constraints:
        rej = "" if c.rejected is None else f": rejects {c.rejected:.1%}"
        out.append(f"- constraint `{c.text}`{rej}")
    for code, frac in s.shape_excluded.items():
        out.append(f"- shapes: `{code}` excludes {frac:.1%}")
    points = "a continuous space" if not math.isfinite(s.total_points) else f"{s.total_points:,.0f} points"
    out.append(f"- feasible: **{s.feasible_fraction:.1%}** of {points}{'' if s.exact else ' (estimated)'}")
    out.append(
        f"- objective: `{spec.objective.name}` ({report.checked.direction if report.checked else '?'})"
    )
    out += budget_lines(report)
    if report.warnings:
        out.append("")
        out += [f"- ⚠️ `{p.code}` at `{p.key}`: {p.message}" for p in report.warnings]
    return "\n".join(out) + "\n"
