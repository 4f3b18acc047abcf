"""A checked experiment's search space as data: what `check`, reports and `plan` print."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ktrun.analysis.values import cardinality
from ktrun.checks import CheckReport
from ktrun.spec.hyperparameters import BooleanHp, ChoiceHp, FixedHp, FloatHp, IntHp


@dataclass(frozen=True)
class HpRow:
    name: str
    type: str
    domain: str
    cardinality: str
    instances: int
    condition: str


@dataclass(frozen=True)
class ConstraintRow:
    text: str
    rejected: float | None


@dataclass(frozen=True)
class SpaceSummary:
    hyperparameters: list[HpRow]
    constraints: list[ConstraintRow]
    shape_excluded: dict[str, float]
    feasible_fraction: float
    total_points: float
    exact: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _domain(decl: object) -> str:
    if isinstance(decl, IntHp | FloatHp):
        text = f"{decl.min:g}..{decl.max:g}"
        if decl.step is not None:
            text += f" {'×' if decl.sampling != 'linear' else 'step '}{decl.step:g}"
        if decl.sampling != "linear":
            text += f" ({decl.sampling})"
        return text
    if isinstance(decl, ChoiceHp):
        return "[" + ", ".join(str(v) for v in decl.values) + "]"
    if isinstance(decl, BooleanHp):
        return "[false, true]"
    if isinstance(decl, FixedHp):
        return repr(decl.value)
    return "?"


def summarize(report: CheckReport) -> SpaceSummary | None:
    ctx = report.ctx
    if ctx is None:
        return None
    spec = ctx.spec
    rows = []
    for name, decl in spec.hyperparameters.items():
        n = cardinality(decl)
        inst = ctx.space.instances_of(name)
        param = ctx.space.params.get(name) or (inst[0] if inst else None)
        conds = [str(c) for c in param.conditions] if param else []
        if inst:
            conds = [c for c in conds if not c.startswith(tuple(p.name for p in inst))]
        rows.append(
            HpRow(
                name,
                decl.type,
                _domain(decl),
                "continuous" if n is None else str(n),
                len(inst),
                " and ".join(conds),
            )
        )
    try:
        feas = ctx.feasibility
    except Exception:  # a spec with errors may not be analysable; the problems say why
        return SpaceSummary(rows, [ConstraintRow(t, None) for t in spec.constraints], {}, 0, 0, False)
    parsed = {c.index for c in ctx.constraints.instances}
    cons = [
        ConstraintRow(t, feas.constraint_fraction(i) if i in parsed else None)
        for i, t in enumerate(spec.constraints)
    ]
    return SpaceSummary(rows, cons, feas.shape_fraction(), feas.fraction, feas.total_points, feas.exact)
