"""`ktrun plan`: a checked experiment as Markdown for a pull-request comment (no TensorFlow).

What a reviewer needs to judge a change to a search: the space (types, ranges, cardinality,
conditions), constraints with the fraction they reject, shape exclusions, the objective and its
direction, the tuner's budget and how many epochs that budget trains at most.
"""

from __future__ import annotations

import math

from ktrun.algorithms import ALGORITHMS
from ktrun.checks import CheckReport
from ktrun.checks.tuner import tuner_facts
from ktrun.render.fmt import percent
from ktrun.render.space_summary import summarize
from ktrun.spec.refs import HpRef


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
    own = ALGORITHMS[t.algorithm].budget(t.settings(), tuner_facts(report.ctx))
    if own is not None:
        lines.append(own)
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
    if spec.model.hypermodel is not None:
        kind = spec.model.hypermodel.kind
        out += [
            f"model: Keras Tuner's `{kind.keras_tuner_class}` (its space as ktrun's table declares it, "
            "your `hyperparameters:` entries in place of its own)",
            "",
        ]
    out += ["| hyperparameter | type | values | cardinality | condition |", "|---|---|---|---|---|"]
    for h in s.hyperparameters:
        card = h.cardinality + (f" × {h.instances} repetitions" if h.instances else "")
        out.append(f"| `{h.name}` | {h.type} | {h.domain} | {card} | {h.condition or ''} |")
    out.append("")
    for c in s.constraints:
        rej = "" if c.rejected is None else f": rejects {percent(c.rejected)}"
        out.append(f"- constraint `{c.text}`{rej}")
    for c in s.bounds:
        out.append(f"- bound `{c.text}`: rejects {percent(c.rejected or 0.0)}")
    for code, frac in s.shape_excluded.items():
        out.append(f"- shapes: `{code}` excludes {percent(frac)}")
    points = "a continuous space" if not math.isfinite(s.total_points) else f"{s.total_points:,.0f} points"
    out.append(
        f"- feasible: **{percent(s.feasible_fraction)}** of {points}{'' if s.exact else ' (estimated)'}"
    )
    if s.size:
        out.append(f"- model size: {s.size}")
    if s.flops:
        out.append(f"- flops: {s.flops}")
    if spec.objectives and report.checked is not None:
        listed = zip(spec.objectives, report.checked.directions, strict=True)
        out.append("- objectives: " + ", ".join(f"`{o.name}` ({d})" for o, d in listed))
        best = spec.objective_best
        out.append(f"- best of the Pareto front: `{best if isinstance(best, str) else best.model_dump()}`")
    else:
        out.append(
            f"- objective: `{spec.objective.name}` ({report.checked.direction if report.checked else '?'})"
        )
    out += budget_lines(report)
    if report.warnings:
        out.append("")
        out += [f"- ⚠️ `{p.code}` at `{p.key}`: {p.message}" for p in report.warnings]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- `--base`: what a change does


def _domain_change(old: object, new: object) -> str | None:
    from ktrun.analysis.values import is_dependent, literal_range
    from ktrun.render.space_summary import domain
    from ktrun.spec.hyperparameters import ChoiceHp, FloatHp, IntHp

    if type(old) is not type(new):
        return f"type {getattr(old, 'type', '?')} → {getattr(new, 'type', '?')}"
    if isinstance(old, IntHp | FloatHp) and isinstance(new, IntHp | FloatHp):
        if is_dependent(old) or is_dependent(new):
            before, after = domain(old), domain(new)
            return None if before == after else f"changed: {before} → {after}"
        parts = []
        (o_lo, o_hi), (n_lo, n_hi) = literal_range(old), literal_range(new)
        if (o_lo, o_hi) != (n_lo, n_hi):
            wider = n_lo <= o_lo and n_hi >= o_hi
            narrower = n_lo >= o_lo and n_hi <= o_hi
            how = "widened" if wider else "narrowed" if narrower else "shifted"
            parts.append(f"{how}: {o_lo:g}..{o_hi:g} → {n_lo:g}..{n_hi:g}")
        if old.step != new.step:
            parts.append(f"step {old.step} → {new.step}")
        if old.sampling != new.sampling:
            parts.append(f"sampling {old.sampling} → {new.sampling}")
        return "; ".join(parts) or None
    if isinstance(old, ChoiceHp) and isinstance(new, ChoiceHp):
        added = [v for v in new.values if v not in old.values]
        removed = [v for v in old.values if v not in new.values]
        if added or removed:
            how = "widened" if not removed else "narrowed" if not added else "changed"
            return f"{how}: values {old.values} → {new.values}"
        return None
    return None if old == new else "changed"


def new_markdown(ref: str) -> str:
    """A `--base` diff for an experiment the base does not have: the plan above is all of it."""
    return f"#### Changes against `{ref}`\n\n- new experiment: not in `{ref}`; the plan above is all of it\n"


def deleted_markdown(label: str, ref: str, base_path: str) -> str:
    """An experiment this change deletes: nothing to plan, and no error."""
    return (
        f"### ktrun plan: `{label}`\n\n"
        f"🗑️ deleted in this change: `{base_path}` is in `{ref}`, not in this tree; nothing to plan\n"
    )


def diff_markdown(
    base: CheckReport, head: CheckReport, base_label: str, renamed_from: str | None = None
) -> str:
    out = [f"#### Changes against `{base_label}`", ""]
    if renamed_from is not None:
        out.append(f"- renamed from `{renamed_from}` (compared with it)")
    if base.ctx is None or head.ctx is None or base.errors:
        out.append(f"- the base does not check cleanly ({len(base.errors)} error(s)); no diff")
        return "\n".join(out) + "\n"
    old, new = base.ctx.spec, head.ctx.spec
    changes: list[str] = []
    for name in new.hyperparameters.keys() - old.hyperparameters.keys():
        changes.append(f"- hyperparameter `{name}` added")
    for name in old.hyperparameters.keys() - new.hyperparameters.keys():
        changes.append(f"- hyperparameter `{name}` removed")
    for name in sorted(old.hyperparameters.keys() & new.hyperparameters.keys()):
        change = _domain_change(old.hyperparameters[name], new.hyperparameters[name])
        if change:
            changes.append(f"- hyperparameter `{name}` {change}")
    for c in new.constraints:
        if c not in old.constraints:
            changes.append(f"- constraint `{c}` added")
    for c in old.constraints:
        if c not in new.constraints:
            changes.append(f"- constraint `{c}` removed")
    if old.objective.name != new.objective.name:
        changes.append(f"- objective `{old.objective.name}` → `{new.objective.name}`")
    old_dir = base.checked.direction if base.checked else old.objective.direction
    new_dir = head.checked.direction if head.checked else new.objective.direction
    if old_dir != new_dir:
        changes.append(f"- direction {old_dir} → {new_dir}")
    for key in ("algorithm", "max_trials", "executions_per_trial"):
        a, b = getattr(old.tuner, key), getattr(new.tuner, key)
        if a != b:
            changes.append(f"- budget: tuner.{key} {a} → {b}")
    for key in ("epochs", "batch_size"):
        a, b = getattr(old.fit, key), getattr(new.fit, key)
        if a != b:
            changes.append(f"- budget: fit.{key} {a} → {b}")
    if old.model.layers != new.model.layers:
        changes.append("- model layers changed")
    if old.model.hypermodel != new.model.hypermodel:
        was, now = (
            h.kind.keras_tuner_class if h else "layers" for h in (old.model.hypermodel, new.model.hypermodel)
        )
        changes.append(f"- model {was} → {now}")
    out += changes or ["- no change to the search"]
    sb, sh = summarize(base), summarize(head)
    if sb is not None and sh is not None:
        out.append(f"- feasible fraction {percent(sb.feasible_fraction)} → {percent(sh.feasible_fraction)}")
    return "\n".join(out) + "\n"
