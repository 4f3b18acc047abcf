"""Check 5: shapes through the layers for every combination of the values that decide them."""

from __future__ import annotations

import math
from collections.abc import Iterator

from ktrun import problems as pb
from ktrun.analysis.feasibility import Feasibility
from ktrun.checks.context import Ctx
from ktrun.problems import Problem


def check_shapes(ctx: Ctx, strict: bool = False) -> Iterator[Problem]:
    if ctx.input_shape is None:
        yield pb.info(
            "shapes-unchecked",
            ("model", "input_shape"),
            "the input shape is unknown, so layer shapes were not checked",
            "set data.input_shape, the shape your loader promises"
            if ctx.spec.data.source == "custom"
            else "set model.input_shape, or make data.path point at an existing file",
        )
        return
    feas = ctx.feasibility
    fractions = feas.shape_fraction()
    total_bad = sum(fractions.values())
    # Dependent bounds imply constraints too; say "bounds" when the user wrote no constraint.
    constrained = "constraints" if ctx.spec.constraints else "bounds" if ctx.constraints.instances else ""
    for code, example in feas.shape_examples.items():
        fail = example.trace.failure
        assert fail is not None
        frac = fractions.get(code, 0.0)
        point = example.trace.deciding(example.point)
        where = fail.path
        text = f"{fail.message}, e.g. for {point}: {example.trace.describe()}"
        if total_bad >= 1.0 - 1e-12:
            allowed = f" the {constrained} allow" if constrained else ""
            every = f"every point{allowed} fails" if feas.exact else f"no sampled point{allowed} fits"
            yield pb.error(code, where, f"{every}: {text}", fail.hint)
        else:
            make = pb.error if strict else pb.warning
            yield make(
                code,
                where,
                f"{_excluded(feas, frac, constrained)}: {text}",
                fail.hint + ("" if strict else "; `--strict` makes this an error"),
            )


def _excluded(feas: Feasibility, frac: float, constrained: str) -> str:
    """How much a shape failure excludes, of the points the constraints allow (the others are
    never built, whatever their shapes)."""
    allowed = feas.allowed_points
    if not feas.exact or not math.isfinite(allowed):
        of = f"the points the {constrained} allow" if constrained else "the space"
        return f"about {frac:.0%} of {of} is excluded (estimated)"
    bad = round(allowed * frac)
    if constrained:
        return f"{bad:,} of the {allowed:,.0f} points the {constrained} allow ({frac:.0%}) are excluded"
    return f"{frac:.0%} of the space is excluded ({bad:,} of {allowed:,.0f} points)"
