"""Check 4: constraints parse, evaluate, and leave a feasible space (proven, or at least found)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from ktrun import problems as pb
from ktrun.analysis.values import cardinality
from ktrun.checks.context import Ctx
from ktrun.problems import Problem


def check_constraints(ctx: Ctx) -> Iterator[Problem]:
    parsed = ctx.constraints
    for i, e in parsed.errors:
        col = f" (column {e.column})" if e.column and e.column > 0 else ""
        yield pb.error(
            "constraint-syntax",
            ("constraints", i),
            f"cannot parse `{ctx.spec.constraints[i]}`{col}: {e.message}",
            "write a comparison like `units_2 <= units_1` or `kernel_1 * 2 <= 28`",
        )
    declared = list(ctx.spec.hyperparameters)
    for i, name in parsed.unknown:
        close = difflib.get_close_matches(name, declared, n=1)
        yield pb.error(
            "unknown-reference",
            ("constraints", i),
            f"constraint `{ctx.spec.constraints[i]}` uses `{name}`, which is not declared",
            (f"did you mean `{close[0]}`? " if close else "") + f"declared: {', '.join(declared)}",
        )
    if parsed.errors or parsed.unknown or not parsed.instances:
        return
    feas = ctx.feasibility
    for i, msg in feas.eval_errors.items():
        if i >= len(ctx.spec.constraints):
            continue  # a dependent bound's implied constraint: its checks say what is wrong
        yield pb.error(
            "constraint-type-error",
            ("constraints", i),
            f"constraint cannot be evaluated: {msg}",
            "compare numbers with numbers and names with names ('adam'), and avoid dividing by "
            "a value that can be 0",
        )
    if any(cardinality(d) == 0 for d in ctx.space.declared.values()):
        return  # an empty or invalid range is reported above; fractions over it mean nothing
    for i, text in enumerate(ctx.spec.constraints):
        if i in feas.eval_errors or not any(c.index == i for c in parsed.instances):
            continue
        rejected = feas.constraint_fraction(i)
        if rejected >= 1.0 - 1e-12:
            yield pb.error(
                "constraint-unsatisfiable",
                ("constraints", i),
                f"no point of the space satisfies `{text}`",
                "widen the ranges it compares, or fix the comparison's direction",
            )
        elif rejected == 0.0 and feas.exact:
            yield pb.warning(
                "constraint-redundant",
                ("constraints", i),
                f"`{text}` holds for every point of the space, so it never excludes anything",
                "remove it, or check that it says what you meant",
            )
    if (
        feas.eval_errors
        or feas.satisfiable is True
        or any(feas.constraint_fraction(i) >= 1.0 for i in range(len(ctx.spec.constraints)))
        or feas.shape_fraction()
    ):
        return
    if feas.satisfiable is False:
        yield pb.error(
            "constraints-unsatisfiable",
            ("constraints",),
            "no point satisfies all constraints together"
            + ("" if feas.exact else " (an exhaustive search of the space found none)"),
            "each constraint is satisfiable alone; relax one of them",
        )
    else:
        yield pb.warning(
            "constraints-undecided",
            ("constraints",),
            "no point satisfying all constraints together was found, by sampling or by a "
            "bounded search, nor proven impossible; a search may end `exhausted` at once",
            "relax the constraints that reject most (listed with `ktrun check`), or look for "
            "two that contradict each other",
        )
