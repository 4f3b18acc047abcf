"""Check 5: shapes through the layers for every combination of the values that decide them."""

from __future__ import annotations

from collections.abc import Iterator

from ktrun import problems as pb
from ktrun.checks.context import Ctx
from ktrun.problems import Problem


def check_shapes(ctx: Ctx, strict: bool = False) -> Iterator[Problem]:
    if ctx.input_shape is None:
        yield pb.info(
            "shapes-unchecked",
            ("model", "input_shape"),
            "the input shape is unknown, so layer shapes were not checked",
            "set model.input_shape, or make data.path point at an existing file",
        )
        return
    feas = ctx.feasibility
    fractions = feas.shape_fraction()
    total_bad = sum(fractions.values())
    for code, example in feas.shape_examples.items():
        fail = example.trace.failure
        assert fail is not None
        frac = fractions.get(code, 0.0)
        point = example.trace.deciding(example.point)
        where = fail.path
        text = f"{fail.message}, e.g. for {point}: {example.trace.describe()}"
        if total_bad >= 1.0 - 1e-12:
            every = "every point fails" if feas.exact else "no sampled point fits"
            yield pb.error(code, where, f"{every}: {text}", fail.hint)
        else:
            make = pb.error if strict else pb.warning
            yield make(
                code,
                where,
                f"{frac:.0%} of the space is excluded{'' if feas.exact else ' (estimated)'}: {text}",
                fail.hint + ("" if strict else "; `--strict` makes this an error"),
            )
