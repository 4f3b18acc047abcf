"""Check 8: the tuner's settings against the space, and the failure policy."""

from __future__ import annotations

from collections.abc import Iterator

from ktrun import problems as pb
from ktrun.checks.context import Ctx
from ktrun.problems import Problem
from ktrun.spec.refs import HpRef


def check_tuner(ctx: Ctx) -> Iterator[Problem]:
    t, space, feas = ctx.spec.tuner, ctx.space, ctx.feasibility
    if t.algorithm == "grid":
        continuous = [p.name for p in space.params.values() if p.cardinality is None]
        if continuous:
            yield pb.error(
                "grid-infinite-space",
                ("hyperparameters", continuous[0]),
                f"grid search needs a finite space, but {', '.join(continuous)} "
                f"{'is' if len(continuous) == 1 else 'are'} continuous",
                "give each float a `step`, or use a choice of values",
            )
    if t.algorithm == "hyperband":
        if isinstance(ctx.spec.fit.epochs, HpRef):
            yield pb.error(
                "hyperband-epochs-tunable",
                ("fit", "epochs"),
                "Hyperband decides each trial's epochs itself; fit.epochs cannot be tuned",
                "set fit.epochs to a number and tune tuner.hyperband.max_epochs instead",
            )
        if t.hyperband.max_epochs < t.hyperband.factor:
            yield pb.warning(
                "hyperband-single-bracket",
                ("tuner", "hyperband", "max_epochs"),
                f"max_epochs {t.hyperband.max_epochs} < factor {t.hyperband.factor}: Hyperband "
                "degenerates into random search with full training",
                f"raise max_epochs to at least {t.hyperband.factor**2}, or use random search",
            )
    if t.algorithm == "bayesian":
        nip = t.bayesian.num_initial_points
        if nip is not None and nip >= t.max_trials:
            yield pb.warning(
                "bayesian-all-random",
                ("tuner", "bayesian", "num_initial_points"),
                f"num_initial_points {nip} >= max_trials {t.max_trials}: every trial is random",
                "lower num_initial_points or raise max_trials",
            )
    points = feas.feasible_points
    if (
        space.analysable
        and all(p.cardinality is not None for p in space.params.values())
        and feas.exact
        and (t.algorithm != "hyperband" and 0 < points < t.max_trials)
    ):
        yield pb.warning(
            "max-trials-exceeds-space",
            ("tuner", "max_trials"),
            f"max_trials is {t.max_trials} but the space has only {points:.0f} feasible points; "
            "the search ends when they are exhausted",
            f"lower max_trials to {points:.0f}, or widen the space",
        )
    yield from _policy(ctx)


def _policy(ctx: Ctx) -> Iterator[Problem]:
    fp = ctx.spec.failure_policy
    retrying = [k for k in ("build_error", "nan", "oom", "timeout", "other") if getattr(fp, k) == "retry"]
    if retrying and fp.max_retries == 0:
        yield pb.warning(
            "retry-without-retries",
            ("failure_policy", "max_retries"),
            f"{', '.join(retrying)} say retry, but max_retries is 0",
            "set failure_policy.max_retries >= 1, or use skip",
        )
    if fp.build_error == "retry":
        yield pb.warning(
            "retry-deterministic",
            ("failure_policy", "build_error"),
            "a build error repeats for the same hyperparameters, so retrying only wastes time",
            "use skip (or abort)",
        )
