"""Checks 1–5: declarations, argument values, references, constraints and shapes."""

from __future__ import annotations

import difflib
import keyword
from collections.abc import Iterator
from typing import Any

from ktrun import problems as pb
from ktrun.analysis.expressions import KEYWORDS
from ktrun.analysis.space import bounds, cardinality, values
from ktrun.checks.context import Ctx
from ktrun.layers import REGISTRY, LayerSpec, Repeat, iter_layers
from ktrun.layers import repeat as repeat_block
from ktrun.problems import Problem
from ktrun.spec.domains import FIT_ARGS, OPTIMIZER_ARGS, Domain
from ktrun.spec.hyperparameters import BooleanHp, ChoiceHp, FixedHp, FloatHp, IntHp
from ktrun.spec.refs import NAME_PATTERN, HpRef, Scalar

HP = "hyperparameters"


# ---------------------------------------------------------------- 1. declarations


def check_declarations(ctx: Ctx) -> Iterator[Problem]:
    import re

    for name, decl in ctx.spec.hyperparameters.items():
        at = (HP, name)
        if not re.match(NAME_PATTERN, name) or keyword.iskeyword(name) or name in KEYWORDS:
            yield pb.error(
                "hp-invalid-name",
                at,
                f"`{name}` cannot be a hyperparameter name",
                "use letters, digits and underscores, starting with a letter, and not a word "
                f"constraints use ({', '.join(sorted(KEYWORDS))})",
            )
        if isinstance(decl, IntHp | FloatHp):
            yield from _numeric(name, decl)
        elif isinstance(decl, ChoiceHp):
            yield from _choice(name, decl)
        if isinstance(decl, BooleanHp | FixedHp):
            continue
        n = cardinality(decl)
        if n == 0:
            continue  # reported above
        default = decl.default
        vals = values(decl)
        if default is not None and vals is not None and default not in vals:
            yield pb.error(
                "hp-default-invalid",
                (*at, "default"),
                f"default {default!r} of `{name}` is not one of its values",
                f"pick a default among {_preview(vals)}",
            )


def _preview(vals: tuple[Scalar, ...] | list[Scalar], n: int = 8) -> str:
    shown = ", ".join(repr(v) for v in list(vals)[:n])
    return f"[{shown}{', ...' if len(vals) > n else ''}]"


def _numeric(name: str, decl: IntHp | FloatHp) -> Iterator[Problem]:
    at = (HP, name)
    if decl.min > decl.max:
        yield pb.error(
            "hp-min-gt-max",
            (*at, "min"),
            f"`{name}` has min {decl.min} > max {decl.max}",
            "swap them: min and max are both inclusive",
        )
        return
    if decl.sampling != "linear" and decl.min <= 0:
        yield pb.error(
            "log-sampling-nonpositive",
            (*at, "min"),
            f"`{name}` uses {decl.sampling} sampling with min {decl.min}; a log scale needs min > 0",
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
    if decl.max > decl.min and vals is not None and len(vals) == 1:
        yield pb.warning(
            "hp-step-too-large",
            (*at, "step"),
            f"step {step} is larger than the range of `{name}` ({decl.min}..{decl.max}): only "
            f"{decl.min} is ever sampled",
            "use a smaller step, or declare `type: fixed` if one value is meant",
        )
    elif vals and abs(float(vals[-1]) - decl.max) > 1e-9 * max(1.0, abs(decl.max)):
        yield pb.warning(
            "hp-step-misfit",
            (*at, "max"),
            f"max {decl.max} of `{name}` is never sampled: the values are {_preview(vals, 5)} "
            f"(last {vals[-1]})",
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


# ---------------------------------------------------------------- 2. argument values


def check_arguments(ctx: Ctx) -> Iterator[Problem]:
    """Every literal and every value a referenced hyperparameter can take fits its argument."""
    reported: set[tuple[str, str]] = set()
    for path, owner, arg, value, dom in _arguments(ctx):
        items: list[Any] = value if isinstance(value, list) else [value]
        for v in items:
            if isinstance(v, HpRef):
                yield from _check_ref(ctx, v, dom, owner, arg, path, reported)
            elif not dom.type_ok(v) or not dom.value_ok(v):
                yield pb.error(
                    dom.code,
                    path,
                    f"{owner}.{arg} = {v!r} is not {dom.text}",
                    dom.suggestion(v) + (dom.hint or f"give {dom.text}"),
                )


def _check_ref(
    ctx: Ctx,
    ref: HpRef,
    dom: Domain,
    owner: str,
    arg: str,
    path: tuple[str | int, ...],
    reported: set[tuple[str, str]],
) -> Iterator[Problem]:
    decl = ctx.spec.hyperparameters.get(ref.name)
    if decl is None or (ref.name, arg) in reported:
        return
    found = list(_ref_problems(ref.name, decl, dom, owner, arg, path))
    if found:
        reported.add((ref.name, arg))
    yield from found


def _ref_problems(
    name: str, decl: object, dom: Domain, owner: str, arg: str, path: tuple[str | int, ...]
) -> Iterator[Problem]:
    from ktrun.config.provenance import format_path

    at = (HP, name)
    where = f"{owner}.{arg} at {format_path(path)}"
    if isinstance(decl, IntHp | FloatHp):
        if (
            isinstance(decl, FloatHp)
            and dom.kind in ("int", "str", "bool")
            and not (decl.step is not None and float(decl.step).is_integer() and float(decl.min).is_integer())
        ):
            yield pb.error(
                "hp-type-mismatch",
                (*at, "type"),
                f"`{name}` is a float but feeds {where}, which takes {dom.text}",
                "declare it `type: int`" if dom.kind == "int" else "use a choice of names",
            )
            return
        if dom.kind in ("str", "bool"):
            yield pb.error(
                "hp-type-mismatch",
                (*at, "type"),
                f"`{name}` is numeric but feeds {where}, which takes {dom.text}",
                "use `type: choice` with names" if dom.kind == "str" else "use `type: boolean`",
            )
            return
        lo_hi = bounds(decl)
        if lo_hi is None or decl.min > decl.max:
            return
        bad = [v for v in lo_hi if not dom.value_ok(v)]
        if bad:
            key = "min" if bad[0] == decl.min else "max"
            yield pb.error(
                dom.code,
                (*at, key),
                f"`{name}` can be {bad[0]} ({key}: {bad[0]}), but {where} must be {dom.text}",
                dom.hint or f"narrow the range of `{name}` to {dom.text}",
            )
        return
    vals = values(decl)  # type: ignore[arg-type]
    if not vals:
        return
    wrong_type = [v for v in vals if not dom.type_ok(v)]
    if wrong_type:
        yield pb.error(
            "hp-type-mismatch",
            (*at, "values" if isinstance(decl, ChoiceHp) else "type"),
            f"`{name}` can be {wrong_type[0]!r}, but {where} takes {dom.text}",
            f"keep only {dom.text} values" + (f"; for example {list(dom.names[:4])}" if dom.names else ""),
        )
        return
    bad = [v for v in vals if not dom.value_ok(v)]
    if bad:
        yield pb.error(
            dom.code,
            (*at, "values" if isinstance(decl, ChoiceHp) else "value"),
            f"`{name}` can be {bad[0]!r}, but {where} must be {dom.text}",
            dom.suggestion(bad[0]) + (dom.hint or f"keep only {dom.text} values"),
        )


def _arguments(ctx: Ctx) -> Iterator[tuple[tuple[str | int, ...], str, str, object, Domain]]:
    """(path, owner, argument, value, domain) for every layer, optimizer and fit argument that has
    a domain: a layer's are declared with its type, in `ktrun.layers`."""
    for lpath, layer in iter_layers(ctx.spec.model.layers):
        if isinstance(layer, Repeat):
            yield (*lpath, "times"), "repeat", "times", layer.times, repeat_block.DOMAINS["times"]
            continue
        assert isinstance(layer, LayerSpec)
        domains = REGISTRY[layer.type].domains
        for arg, value in layer:
            if arg in domains and value is not None:
                yield (*lpath, arg), layer.type, arg, value, domains[arg]
    for arg, value in ctx.spec.model.compile.optimizer:
        if arg in OPTIMIZER_ARGS and value is not None:
            yield ("model", "compile", "optimizer", arg), "optimizer", arg, value, OPTIMIZER_ARGS[arg]
    for arg, dom in FIT_ARGS.items():
        yield ("fit", arg), "fit", arg, getattr(ctx.spec.fit, arg), dom


# ---------------------------------------------------------------- 3. references and conditions


def check_references(ctx: Ctx) -> Iterator[Problem]:
    declared = list(ctx.spec.hyperparameters)
    used: set[str] = set()
    for u in ctx.space.uses:
        used.add(u.ref)
        if u.ref not in ctx.spec.hyperparameters:
            close = difflib.get_close_matches(u.ref, declared, n=1)
            yield pb.error(
                "unknown-reference",
                u.path,
                f"`{'$' if u.owner != 'when' else ''}{u.ref}` names no declared hyperparameter",
                (f"did you mean `{close[0]}`? " if close else "")
                + f"declare it under `hyperparameters:` (declared: {', '.join(declared) or 'none'})",
            )
    yield from ctx.space.problems
    for name, decl in ctx.spec.hyperparameters.items():
        for parent, allowed in (decl.when or {}).items():
            used.add(parent)
            pdecl = ctx.spec.hyperparameters.get(parent)
            at = (HP, name, "when", parent)
            if pdecl is None:
                close = difflib.get_close_matches(parent, declared, n=1)
                yield pb.error(
                    "unknown-reference",
                    at,
                    f"`{name}` depends on `{parent}`, which is not declared",
                    (f"did you mean `{close[0]}`? " if close else "") + "declare the parent first",
                )
                continue
            pvals = values(pdecl)
            if pvals is None:
                yield pb.error(
                    "condition-parent-continuous",
                    at,
                    f"`{name}` depends on `{parent}`, a continuous range: it can hardly ever equal {allowed}",
                    "conditions need a choice, boolean, int or stepped float parent",
                )
                continue
            impossible = [v for v in allowed if v not in pvals]
            if impossible:
                all_bad = len(impossible) == len(allowed)
                make = pb.error if all_bad else pb.warning
                yield make(
                    "condition-value-impossible",
                    at,
                    f"`{parent}` never takes {impossible}"
                    + (f", so `{name}` is never active" if all_bad else ""),
                    f"`{parent}` takes {_preview(pvals)}",
                )
    yield from _cycles(ctx)
    for text in ctx.spec.constraints:
        used.update(_names_in(text))
    for name, decl in ctx.spec.hyperparameters.items():
        if name not in used and not isinstance(decl, FixedHp):
            yield pb.warning(
                "hp-unused",
                (HP, name),
                f"`{name}` is declared but nothing uses it: the tuner would search it for nothing",
                f"reference it as `${name}` in a layer, the optimizer or fit, or remove it",
            )
    for base in ctx.spec.hyperparameters:
        for inst in ctx.space.instances_of(base):
            if inst.name in ctx.spec.hyperparameters:
                yield pb.error(
                    "hp-name-collision",
                    (HP, inst.name),
                    f"`{inst.name}` is declared, and is also the name of repetition "
                    f"{inst.index[-1]} of `{base}` inside a repeat block",
                    f"rename one of them (e.g. `{base}_block`)",
                )


def _names_in(text: str) -> set[str]:
    import re

    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


def _cycles(ctx: Ctx) -> Iterator[Problem]:
    graph = {n: list((d.when or {}).keys()) for n, d in ctx.spec.hyperparameters.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for p in graph.get(n, []):
            if state.get(p) == 1:
                return [*stack[stack.index(p) :], p]
            if p in graph and p not in state:
                found = visit(p)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in graph:
        if n not in state:
            cycle = visit(n)
            if cycle:
                yield pb.error(
                    "condition-cycle",
                    (HP, cycle[0], "when"),
                    f"conditions form a cycle: {' → '.join(cycle)}",
                    "conditions must form a tree: a parent cannot depend on its own child",
                )
                return


# ---------------------------------------------------------------- 4. constraints


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
        yield pb.error(
            "constraint-type-error",
            ("constraints", i),
            f"constraint cannot be evaluated: {msg}",
            "compare numbers with numbers and names with names ('adam'), and avoid dividing by "
            "a value that can be 0",
        )
    if any(cardinality(d) == 0 for d in ctx.spec.hyperparameters.values()):
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


# ---------------------------------------------------------------- 5. shapes


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
