"""Check: `tuner.warm_start.points`, the points a search trains first, held to the space like any
proposal: every name known, every active hyperparameter given a value it can take (and no inactive
one), the constraints and shape rules met. A point that could not train is a config error here,
not a failed first trial. `tuner.warm_start.search` names an earlier search: its form is checked
here, its files are read only by the run (`ktrun.runtime.history`), never by `check`."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from ktrun import problems as pb
from ktrun.algorithms import ALGORITHMS, trial_by_trial
from ktrun.analysis.space import domain_value
from ktrun.analysis.values import bounds
from ktrun.checks.context import Ctx
from ktrun.config.trust import clip
from ktrun.problems import Problem
from ktrun.spec.hyperparameters import FixedHp
from ktrun.spec.refs import Scalar

CODE = "warm-start-invalid"
#: `s3://…`, `https://…`: never fetched (`check` opens no file the search names, the run no URL).
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


def check_warm_start(ctx: Ctx) -> Iterator[Problem]:
    ws = ctx.spec.tuner.warm_start
    if ws is None or not (ws.points or ws.search):
        return
    if ALGORITHMS[ctx.spec.tuner.algorithm].schedules_epochs:
        yield pb.error(
            CODE,
            ("tuner", "warm_start"),
            f"tuner.algorithm {ctx.spec.tuner.algorithm} plans its own brackets of trials: it takes no "
            "points to train first and no earlier search's trials",
            f"remove tuner.warm_start, or use {trial_by_trial()}",
        )
        return
    if ws.search is not None and URL.match(ws.search):
        yield pb.error(
            CODE,
            ("tuner", "warm_start", "search"),
            f"tuner.warm_start.search is a URL ({clip(ws.search, 80)}): ktrun reads an earlier search "
            "from a local run directory only",
            "download the run directory (trials.csv and summary.json) and name its local path",
        )
    if not ctx.space.analysable:
        return
    for i, point in enumerate(ws.points):
        yield from _point(ctx, i, point)


def _point(ctx: Ctx, i: int, point: Mapping[str, Scalar]) -> Iterator[Problem]:
    space, at = ctx.space, ("tuner", "warm_start", "points", i)
    unknown = [n for n in point if n not in space.params]
    for name in unknown:
        yield pb.error(
            CODE,
            (*at, name),
            f"warm-start point {i} names `{name}`, no hyperparameter of this search",
            f"use the names the search has: {', '.join(space.order)}",
        )
    given: dict[str, Scalar] = {}
    missing: list[str] = []
    bad = bool(unknown)
    for name in space.order:
        decl = space.params[name].decl
        if not space.is_active(name, given):
            if name in point:
                bad = True
                yield pb.error(
                    CODE,
                    (*at, name),
                    f"warm-start point {i} sets `{name}`, which is inactive there "
                    f"({', '.join(str(c) for c in space.params[name].conditions)} does not hold)",
                    f"remove `{name}` from the point",
                )
            continue
        if isinstance(decl, FixedHp):
            given[name] = decl.value
            continue
        if name not in point:
            missing.append(name)
            continue
        value = point[name]
        if not _can_take(ctx, name, value):
            bad = True
            vals = space.params[name].values
            lo_hi = bounds(decl)
            domain = f"{list(vals)[:8]}" if vals is not None else f"{lo_hi[0]}..{lo_hi[1]}" if lo_hi else "?"
            yield pb.error(
                CODE,
                (*at, name),
                f"warm-start point {i}: {name}={value!r} is not a value `{name}` can take",
                f"pick one of {domain}",
            )
            continue
        given[name] = value
    if missing:
        yield pb.error(
            CODE,
            at,
            f"warm-start point {i} gives no value to {', '.join(missing)}, active at that point",
            "give every hyperparameter the point makes active a value",
        )
    elif not bad:
        reasons = ctx.checker.violations(given)
        if reasons:
            yield pb.error(
                CODE,
                at,
                f"warm-start point {i} cannot train: it breaks {', '.join(reasons)}",
                "change the point so that it meets the constraints and shape rules",
            )


def _can_take(ctx: Ctx, name: str, value: Scalar) -> bool:
    return domain_value(ctx.space.params[name], value) is not None
