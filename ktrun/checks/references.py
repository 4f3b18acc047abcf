"""Check 3: references between names: `$name`, `when:` conditions (no cycles), unused names."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from ktrun import problems as pb
from ktrun.analysis.values import values
from ktrun.checks.common import HP, preview
from ktrun.checks.context import Ctx
from ktrun.problems import Problem
from ktrun.spec.hyperparameters import FixedHp


def check_references(ctx: Ctx) -> Iterator[Problem]:
    declared = list(ctx.spec.hyperparameters)
    used: set[str] = set()
    for u in ctx.space.uses:
        used.add(u.ref)
        if u.ref not in ctx.spec.hyperparameters and u.owner != "bound":  # bounds: `ktrun.analysis.bounds`
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
            pdecl = ctx.space.declared.get(parent, ctx.spec.hyperparameters.get(parent))
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
                    f"`{parent}` takes {preview(pvals)}",
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
                f"reference it as `${name}` in a layer, the optimizer, the loss, a metric or fit, "
                "or remove it",
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
