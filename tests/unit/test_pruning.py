"""The pruners' verdicts, from per-epoch curves alone (`ktrun.runtime.pruning`)."""

from __future__ import annotations

import pytest

from ktrun.runtime.pruning import prune_reason
from ktrun.spec.experiment import PrunerSpec

UP = {0: 0.5, 1: 0.7, 2: 0.8, 3: 0.85}  # a trial that learns
FLAT = {0: 0.1, 1: 0.1, 2: 0.1, 3: 0.1}  # one that does not


def verdict(
    pruner: PrunerSpec, step: int, mine: dict[int, float], *others: dict[int, float], **kw: object
) -> str | None:
    curves = {
        "me": {s: v for s, v in mine.items() if s <= step},
        **{f"t{i}": c for i, c in enumerate(others)},
    }
    ended = [f"t{i}" for i in range(len(others))]
    direction = kw.get("direction", "max")
    return prune_reason(pruner, direction, "val_accuracy", "me", step, curves, ended)  # type: ignore[arg-type]


MEDIAN = PrunerSpec(type="median", warmup_epochs=1, startup_trials=2)


def test_median_prunes_a_trial_below_its_peers_after_the_warmup() -> None:
    assert verdict(MEDIAN, 0, FLAT, UP, UP) is None  # warm-up: epoch 1 is never judged
    reason = verdict(MEDIAN, 1, FLAT, UP, UP)
    assert reason is not None and reason.startswith("pruned after epoch 2: best val_accuracy 0.1 is worse")
    assert verdict(MEDIAN, 1, UP, FLAT, UP) is None  # as good as the median: it goes on


def test_no_pruning_before_enough_trials_have_ended() -> None:
    assert verdict(MEDIAN, 2, FLAT, UP) is None  # one ended trial, two needed


def test_min_direction_flips_better_and_worse() -> None:
    loss_up = {s: 1.0 - v for s, v in UP.items()}
    loss_flat = {s: 0.9 for s in FLAT}
    assert verdict(MEDIAN, 2, loss_flat, loss_up, loss_up, direction="min") is not None
    assert verdict(MEDIAN, 2, loss_up, loss_flat, loss_up, direction="min") is None


def test_percentile_keeps_only_the_top_share() -> None:
    peers = [{0: v, 1: v} for v in (0.2, 0.4, 0.6, 0.8)]
    top25 = PrunerSpec(type="percentile", percentile=25, warmup_epochs=0, startup_trials=0)
    assert verdict(top25, 1, {0: 0.62, 1: 0.62}, *peers) is not None  # the top quarter starts at 0.65
    assert verdict(top25, 1, {0: 0.7, 1: 0.7}, *peers) is None


@pytest.mark.parametrize(("step", "rung"), [(0, True), (1, False), (2, True), (3, False), (8, True)])
def test_successive_halving_judges_only_at_its_rungs(step: int, rung: bool) -> None:
    asha = PrunerSpec(type="successive_halving", min_epochs=1, reduction_factor=3)
    curve = dict.fromkeys(range(9), 0.1)
    better = [dict.fromkeys(range(9), 0.9) for _ in range(3)]
    reason = verdict(asha, step, curve, *better)
    assert (reason is not None) == rung, reason


def test_the_first_trial_at_a_rung_always_goes_on() -> None:
    asha = PrunerSpec(type="successive_halving", min_epochs=1, reduction_factor=2)
    assert verdict(asha, 0, FLAT) is None
