"""A checked experiment's search space as data: what `check`, reports and `plan` print."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ktrun.analysis.size import weights
from ktrun.analysis.values import cardinality, is_dependent, literal_range
from ktrun.checks import CheckReport
from ktrun.checks.context import Ctx
from ktrun.checks.outputs import one_unit
from ktrun.data.target import describe
from ktrun.layers.shape_math import format_shape
from ktrun.spec import keras_names as kn
from ktrun.spec.hyperparameters import BooleanHp, BoundExpr, ChoiceHp, FixedHp, FloatHp, Hyperparameter, IntHp


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
    #: Constraints implied by dependent bounds (`units_2 <= units_1`), per instance.
    bounds: list[ConstraintRow] = field(default_factory=list)
    #: What the model takes and is trained against: "input (8, 8, 1); labels: class ids, ...".
    data: str = ""
    #: "25.5k..407k weights (49 sampled points)": the range of model sizes, if known.
    size: str = ""
    #: "1.2M..30.4M FLOPs per sample": the range of forward-pass operations, if known.
    flops: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _side(bound: object) -> str:
    if isinstance(bound, BoundExpr):
        text = bound.text.removeprefix("$")
        return text if text.isidentifier() else f"({text})"
    return f"{bound:g}"


def domain(decl: object, widest: Hyperparameter | None = None) -> str:
    """`16..256 step 16`; a dependent bound as written, with its widest range: `16..units_1
    step 16 (widest 16..256)`."""
    if isinstance(decl, IntHp | FloatHp):
        text = f"{_side(decl.min)}..{_side(decl.max)}"
        if decl.step is not None:
            text += f" {'×' if decl.sampling != 'linear' else 'step '}{decl.step:g}"
        if decl.sampling != "linear":
            text += f" ({decl.sampling})"
        if is_dependent(decl) and isinstance(widest, IntHp | FloatHp):
            lo, hi = literal_range(widest)
            text += f" (widest {lo:g}..{hi:g})"
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
        widest = ctx.space.declared.get(name, decl)
        inst = ctx.space.instances_of(name)
        counts = [cardinality(p.decl) for p in inst] or [cardinality(widest)]  # `i`: each its own
        n = None if None in counts else max(c or 0 for c in counts)
        param = ctx.space.params.get(name) or (inst[0] if inst else None)
        conds = [str(c) for c in param.conditions] if param else []
        if inst:
            conds = [c for c in conds if not c.startswith(tuple(p.name for p in inst))]
        rows.append(
            HpRow(
                name,
                decl.type,
                domain(decl, widest),
                "continuous" if n is None else str(n),
                len(inst),
                " and ".join(conds),
            )
        )
    try:
        feas = ctx.feasibility
    except Exception:  # a spec with errors may not be analysable; the problems say why
        return SpaceSummary(rows, [ConstraintRow(t, None) for t in spec.constraints], {}, 0, 0, False)
    n_user = len(spec.constraints)
    parsed = {c.index for c in ctx.constraints.instances}
    cons = [
        ConstraintRow(t, feas.constraint_fraction(i) if i in parsed else None)
        for i, t in enumerate(spec.constraints)
    ]
    implied = [
        ConstraintRow(c.text, feas.constraint_fraction(c.index))
        for c in ctx.constraints.instances
        if c.index >= n_user
    ]
    shapes = feas.shape_fraction()
    return SpaceSummary(
        rows,
        cons,
        shapes,
        feas.fraction,
        feas.total_points,
        feas.exact,
        implied,
        _data(ctx),
        _size(ctx),
        _flops(ctx),
    )


def _size(ctx: Ctx) -> str:
    found = ctx.size
    if found is None:
        return ""
    small, large = found.smallest, found.largest
    span = weights(small.total)
    if large.total != small.total:
        span += f"..{weights(large.total)}"
    besides = "".join(f" besides the {t}'s" for t in large.uncounted[:1]) + (
        " and others'" if len(large.uncounted) > 1 else ""
    )
    return f"{span} weights{besides} ({found.samples} sampled points)"


def _flops(ctx: Ctx) -> str:
    found = ctx.size
    if found is None or found.fewest_flops is None or found.most_flops is None:
        return ""
    small, large = found.fewest_flops, found.most_flops
    span = weights(small.total)
    if large.total != small.total:
        span += f"..{weights(large.total)}"
    besides = "".join(f" besides the {t}'s" for t in large.uncounted[:1]) + (
        " and others'" if len(large.uncounted) > 1 else ""
    )
    return f"{span} FLOPs per sample{besides} (forward pass, a multiply-add counted as 2)"


def _data(ctx: Ctx) -> str:
    """The input per sample and the target kind, with the output shape it needs."""
    shapes = ctx.input_shapes
    if ctx.spec.model.inputs and shapes is not None:  # named inputs: each one's shape
        inputs = "inputs " + ", ".join(f"{n} {format_shape(s)}" for n, s in shapes.items())
    else:
        inputs = "input " + (format_shape(ctx.input_shape) if ctx.input_shape is not None else "unknown")
    binary = one_unit(ctx, kn.LOSSES.get(ctx.spec.model.compile.loss.name))
    columns = f"; {ctx.data.columns}" if ctx.data.columns else ""  # a csv's column kinds
    test = f"; test: {ctx.data.test}" if ctx.data.test else ""
    return (
        f"{inputs}; " + describe(ctx.expect, ctx.target_shape, ctx.data.num_classes, binary) + columns + test
    )
