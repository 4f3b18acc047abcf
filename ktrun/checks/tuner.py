"""Check 8: the tuner's settings against the space (each algorithm's own checks), and the failure policy."""

from __future__ import annotations

from collections.abc import Iterator

from ktrun import problems as pb
from ktrun.algorithms import ALGORITHMS, TunerFacts, trial_by_trial
from ktrun.checks.context import Ctx
from ktrun.problems import Problem
from ktrun.spec.failures import FAILURE_KINDS
from ktrun.spec.refs import HpRef


def tuner_facts(ctx: Ctx) -> TunerFacts:
    """What the chosen algorithm's checks and plan line see of the experiment."""
    t = ctx.spec.tuner
    return TunerFacts(
        max_trials=t.max_trials,
        executions_per_trial=t.executions_per_trial,
        epochs_tuned=isinstance(ctx.spec.fit.epochs, HpRef),
        continuous=tuple(p.name for p in ctx.space.params.values() if p.cardinality is None),
        objectives=max(1, len(ctx.spec.objectives)),
    )


def _pruner(ctx: Ctx) -> Iterator[Problem]:
    """Pruning compares a trial's epochs with its peers' at the same epoch: not with Hyperband,
    which decides epochs itself, nor across cross-validation's folds, which restart them."""
    t = ctx.spec.tuner
    if t.pruner is None:
        return
    if ALGORITHMS[t.algorithm].schedules_epochs:
        yield pb.error(
            "pruner-unsupported",
            ("tuner", "pruner"),
            f"tuner.algorithm {t.algorithm} already stops bad trials early (its brackets): a pruner "
            "would fight its epoch schedule",
            f"remove tuner.pruner, or use it with {trial_by_trial()}",
        )
    elif ctx.spec.fit.folds is not None:
        yield pb.error(
            "pruner-unsupported",
            ("tuner", "pruner"),
            "fit.cross_validation trains each trial once per fold, restarting the epochs, so "
            "tuner.pruner has no one curve to compare",
            "remove tuner.pruner or fit.cross_validation",
        )


def check_tuner(ctx: Ctx) -> Iterator[Problem]:
    t, space, feas = ctx.spec.tuner, ctx.space, ctx.feasibility
    algorithm = ALGORITHMS[t.algorithm]
    facts = tuner_facts(ctx)
    yield from algorithm.checks(t.settings(), facts)
    yield from _pruner(ctx)
    points = feas.feasible_points
    if (
        space.analysable
        and not facts.continuous
        and feas.exact
        and not algorithm.schedules_epochs  # its max_trials caps its own plan, not the space
        and 0 < points < t.max_trials
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
    retrying = [k.name for k in FAILURE_KINDS if fp.action(k.name) == "retry"]
    if retrying and fp.max_retries == 0:
        yield pb.warning(
            "retry-without-retries",
            ("failure_policy", "max_retries"),
            f"{', '.join(retrying)} say retry, but max_retries is 0",
            "set failure_policy.max_retries >= 1, or use skip",
        )
    for kind in FAILURE_KINDS:
        if kind.deterministic and fp.action(kind.name) == "retry":
            yield pb.warning(
                "retry-deterministic",
                ("failure_policy", kind.name),
                f"a {kind.name} failure repeats for the same hyperparameters, so retrying only wastes time",
                "use skip (or abort)",
            )
