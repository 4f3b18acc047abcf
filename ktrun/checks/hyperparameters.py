"""Check 1: each hyperparameter's declaration: names, ranges, steps, sampling, choices, defaults."""

from __future__ import annotations

import keyword
from collections.abc import Iterator

from ktrun import problems as pb
from ktrun.analysis.expressions import KEYWORDS
from ktrun.analysis.values import cardinality, is_dependent, literal_range, values
from ktrun.checks.common import HP, preview
from ktrun.checks.context import Ctx
from ktrun.problems import Problem
from ktrun.spec.hyperparameters import BooleanHp, ChoiceHp, FixedHp, FloatHp, IntHp
from ktrun.spec.refs import NAME_PATTERN


def check_declarations(ctx: Ctx) -> Iterator[Problem]:
    import re

    for name, written in ctx.spec.hyperparameters.items():
        at = (HP, name)
        decl = ctx.space.declared.get(name, written)  # a dependent bound at its widest
        if not re.match(NAME_PATTERN, name) or keyword.iskeyword(name) or name in KEYWORDS:
            yield pb.error(
                "hp-invalid-name",
                at,
                f"`{name}` cannot be a hyperparameter name",
                "use letters, digits and underscores, starting with a letter, and not a word "
                f"constraints use ({', '.join(sorted(KEYWORDS))})",
            )
        if isinstance(decl, IntHp | FloatHp):
            yield from _numeric(name, decl, is_dependent(written))
        elif isinstance(decl, ChoiceHp):
            yield from _choice(name, decl)
        if isinstance(decl, BooleanHp | FixedHp):
            continue
        n = cardinality(decl)
        if n == 0:
            continue  # reported above
        default = decl.default
        # A dependent range is registered per instance (`i`: each repetition its own).
        own = [p for p in ctx.space.params.values() if p.base == name] if is_dependent(written) else []
        for inst, vals in [(p.name, values(p.decl)) for p in own] or [(name, values(decl))]:
            if default is not None and vals is not None and default not in vals:
                yield pb.error(
                    "hp-default-invalid",
                    (*at, "default"),
                    f"default {default!r} of `{name}` is not one of "
                    + (f"the values of `{inst}`" if inst != name else "its values"),
                    f"pick a default among {preview(vals)}",
                )
                break


def _numeric(name: str, decl: IntHp | FloatHp, dependent: bool) -> Iterator[Problem]:
    """`decl` at its widest when a bound is dependent (an empty range is `bound-range-empty`)."""
    at = (HP, name)
    lo, hi = literal_range(decl)
    if lo > hi:
        if not dependent:
            yield pb.error(
                "hp-min-gt-max",
                (*at, "min"),
                f"`{name}` has min {lo} > max {hi}",
                "swap them: min and max are both inclusive",
            )
        return
    if decl.sampling != "linear" and lo <= 0:
        yield pb.error(
            "log-sampling-nonpositive",
            (*at, "min"),
            f"`{name}` uses {decl.sampling} sampling with {'a min as low as' if dependent else 'min'} "
            f"{lo}; a log scale needs min > 0",
            "set min to a small positive value (e.g. 1e-5), or use `sampling: linear`",
        )
        return
    step = decl.step
    if step is None:
        return
    if decl.sampling != "linear" and step <= 1:
        yield pb.error(
            "hp-step-invalid",
            (*at, "step"),
            f"`{name}` has step {step} with {decl.sampling} sampling, where step is a factor",
            "use a factor > 1 (e.g. step: 2 gives 16, 32, 64...), or drop step",
        )
        return
    if step <= 0:
        yield pb.error(
            "hp-step-invalid",
            (*at, "step"),
            f"`{name}` has step {step}; it must be > 0",
            "use a positive step, or drop it",
        )
        return
    vals = values(decl)
    if hi > lo and vals is not None and len(vals) == 1:
        yield pb.warning(
            "hp-step-too-large",
            (*at, "step"),
            f"step {step} is larger than the range of `{name}` ({lo}..{hi}): only {lo} is ever sampled",
            "use a smaller step, or declare `type: fixed` if one value is meant",
        )
    elif vals and not dependent and abs(float(vals[-1]) - hi) > 1e-9 * max(1.0, abs(hi)):
        yield pb.warning(
            "hp-step-misfit",
            (*at, "max"),
            f"max {hi} of `{name}` is never sampled: the values are {preview(vals, 5)} (last {vals[-1]})",
            f"set max to {vals[-1]} or adjust step so max is reachable",
        )


def _choice(name: str, decl: ChoiceHp) -> Iterator[Problem]:
    at = (HP, name, "values")
    kinds = sorted({type(v).__name__ for v in decl.values})
    if len(kinds) > 1:
        yield pb.error(
            "choice-mixed-types",
            at,
            f"choice `{name}` mixes {' and '.join(kinds)} values: {decl.values}",
            "a choice holds one type (Keras Tuner compares its values); write 1.0 rather than "
            "1 for numbers, and keep names with names",
        )
    if len(set(map(repr, decl.values))) != len(decl.values):
        yield pb.warning(
            "choice-duplicates",
            at,
            f"choice `{name}` lists a value twice: {decl.values}",
            "remove the duplicates (they skew random sampling)",
        )
