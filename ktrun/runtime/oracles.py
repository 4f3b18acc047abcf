"""Keras Tuner oracles that only propose feasible points, and save their state atomically.

Every proposal passes through `Checker.violations` (the same constraints and shape rules that
`ktrun check` analysed): an infeasible point is counted per reason, marked as tried so it is
never proposed again, and replaced, without creating a trial or spending budget. When no new
feasible point can be found the oracle stops and the search ends as "exhausted".
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras_tuner as kt
from keras_tuner.src.engine import trial as trial_module
from keras_tuner.src.tuners.bayesian import BayesianOptimizationOracle
from keras_tuner.src.tuners.hyperband import HyperbandOracle
from keras_tuner.src.tuners.randomsearch import RandomSearchOracle

from ktrun.feasibility import Checker
from ktrun.runtime.journal import write_json_atomic, write_text_atomic
from ktrun.space import Space

ABORT_FILE = "ktrun_abort.txt"
#: Depth-first searches for an untried feasible point before the search counts as exhausted.
SOLVER_TRIES = 50
RUNNING = trial_module.TrialStatus.RUNNING
ENDED = (trial_module.TrialStatus.COMPLETED, trial_module.TrialStatus.FAILED)
STOPPED = trial_module.TrialStatus.STOPPED


def failure_limit_reason(
    trials: Mapping[str, Any], end_order: list[str], policy: Any, max_trials: int
) -> str | None:
    """Why the failure policy's limits stop the search now (None while they hold).

    One definition for a single process (the tuner raises it as a FatalError) and for a
    distributed chief (which writes it as the abort signal every worker obeys).
    """
    ended = [trials[t] for t in end_order if t in trials]
    failed = [t for t in ended if t.status == "FAILED"]
    streak = 0
    for t in reversed(ended):
        if t.status != "FAILED":
            break
        streak += 1
    if streak >= policy.max_consecutive_failures:
        return (
            f"{streak} consecutive failed trials (failure_policy.max_consecutive_failures="
            f"{policy.max_consecutive_failures}); last: {(failed[-1].message or '').splitlines()[-1:]}"
        )
    minimum = min(5, max_trials)
    if len(ended) >= minimum and len(failed) / len(ended) > policy.max_failed_fraction:
        return (
            f"{len(failed)} of {len(ended)} trials failed, more than "
            f"failure_policy.max_failed_fraction={policy.max_failed_fraction}"
        )
    return None


class FeasibleMixin:
    """Rejection sampling in front of Keras Tuner's own sampling (`_random_values`)."""

    ktrun_checker: Checker
    ktrun_max_attempts: int = 200
    ktrun_rejected: Counter[str]
    ktrun_exhausted: bool = False
    #: (failure_policy, max_trials) when this oracle enforces the limits itself: a distributed
    #: chief, the only process that sees every worker's trials.
    ktrun_limits: tuple[Any, int] | None = None

    def ktrun_setup(self, checker: Checker, max_attempts: int = 200) -> None:
        self.ktrun_checker = checker
        self.ktrun_max_attempts = max_attempts
        self.ktrun_rejected = Counter()
        self.ktrun_exhausted = False

    def ktrun_reject(self, values: dict[str, Any]) -> bool:
        """True (and counted, and remembered) when `values` must not be trained."""
        reasons = self.ktrun_checker.violations(values)
        if not reasons:
            return False
        self.ktrun_rejected.update(reasons)
        self._tried_so_far.add(self._compute_values_hash(values))  # type: ignore[attr-defined]
        return True

    def _abort_file(self) -> Path:
        return Path(self._project_dir) / ABORT_FILE  # type: ignore[attr-defined]

    def ktrun_abort_reason(self) -> str | None:
        """Set by a distributed worker that hit an `abort` policy, or by the chief's limits."""
        path = self._abort_file()
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def create_trial(self, tuner_id: str) -> Any:
        """No new trial once the search was aborted elsewhere: every worker gets STOPPED."""
        if self.ktrun_abort_reason() is not None:
            self.tuner_ids.discard(tuner_id)  # type: ignore[attr-defined]
            hps = self.hyperparameters.copy()  # type: ignore[attr-defined]
            return trial_module.Trial(hyperparameters=hps, trial_id="stopped", status=STOPPED)
        return super().create_trial(tuner_id)  # type: ignore[misc]

    def _random_values(self) -> dict[str, Any] | None:
        """Keras Tuner's uniform sampling while it hits; the checker's tree search when it keeps
        missing (a feasible fraction of 1e-5 is fine for a search, not for rejection)."""
        for _ in range(self.ktrun_max_attempts):
            values: dict[str, Any] | None = super()._random_values()  # type: ignore[misc]
            if values is None:  # Keras Tuner found no untried point
                self.ktrun_exhausted = True
                return None
            if not self.ktrun_reject(values):
                return values
        return self._solved_values()

    def _solved_values(self) -> dict[str, Any] | None:
        checker = self.ktrun_checker
        tree = checker.tree()
        for _ in range(SOLVER_TRIES):
            seed = self._seed_state  # type: ignore[attr-defined]
            self._seed_state += 1  # type: ignore[attr-defined]
            point, _ = checker.solve(tree, random.Random(seed))
            if point is None:
                break
            key = self._compute_values_hash(point)  # type: ignore[attr-defined]
            if key not in self._tried_so_far:  # type: ignore[attr-defined]
                self._tried_so_far.add(key)  # type: ignore[attr-defined]
                return point
        self.ktrun_exhausted = True
        return None

    # ------------------------------------------------------------ state, written atomically

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = super().get_state()  # type: ignore[misc]
        state["ktrun_rejected"] = dict(self.ktrun_rejected)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        """Keras Tuner's state, minus ended trials it would otherwise train again on resume.

        `Oracle.end_trial` saves oracle.json before it drops the trial from `ongoing_trials`,
        and `reload` retries every ongoing trial. A kill after a trial ended (before the next
        trial's save, or while results are written after the last one) made the resumed
        search train a completed trial a second time. A trial whose own file says it ended is
        ended, whatever oracle.json says; one that did not end is run.
        """
        super().set_state(state)  # type: ignore[misc]
        self.ktrun_rejected = Counter(state.get("ktrun_rejected", {}))
        ongoing: dict[str, Any] = self.ongoing_trials  # type: ignore[attr-defined]
        end_order: list[str] = self.end_order  # type: ignore[attr-defined]
        retry: list[str] = self._retry_queue  # type: ignore[attr-defined]
        start_order: list[str] = self.start_order  # type: ignore[attr-defined]
        for tuner_id, trial in list(ongoing.items()):
            if trial.status in ENDED:
                del ongoing[tuner_id]
        # A trial file oracle.json never heard of (a kill between the two writes that create a
        # trial) still holds one unit of the budget: run it, rather than leave it RUNNING forever.
        known = set(end_order) | {t.trial_id for t in ongoing.values()} | set(retry)
        for trial_id, trial in self.trials.items():  # type: ignore[attr-defined]
            if trial.status in ENDED:
                if trial_id not in end_order:
                    end_order.append(trial_id)
            elif trial_id not in known:
                retry.append(trial_id)
            if trial_id not in start_order:  # started, whatever became of it
                start_order.append(trial_id)

    def end_trial(self, trial: Any) -> None:
        """Save once more after Keras Tuner dropped the trial from `ongoing_trials`; on a
        distributed chief, stop every worker once the failure limits are crossed."""
        super().end_trial(trial)  # type: ignore[misc]
        self.save()
        if self.ktrun_limits is not None and self.ktrun_abort_reason() is None:
            policy, max_trials = self.ktrun_limits
            reason = failure_limit_reason(self.trials, self.end_order, policy, max_trials)  # type: ignore[attr-defined]
            if reason is not None:
                write_text_atomic(self._abort_file(), reason)

    def save(self) -> None:
        write_json_atomic(self._get_oracle_fname(), self.get_state())  # type: ignore[attr-defined]

    def _save_trial(self, trial: Any) -> None:
        path = f"{self._get_trial_dir(trial.trial_id)}/trial.json"  # type: ignore[attr-defined]
        write_json_atomic(path, trial.get_state())


class RandomOracle(FeasibleMixin, RandomSearchOracle):
    pass


class BayesianOracle(FeasibleMixin, BayesianOptimizationOracle):
    def populate_space(self, trial_id: str) -> dict[str, Any]:
        """The Gaussian process proposes; an infeasible proposal gives way to a random feasible one."""
        response: dict[str, Any] = super().populate_space(trial_id)
        values = response.get("values")
        if response["status"] == RUNNING and values is not None and self.ktrun_reject(values):
            return self._random_populate_space()  # type: ignore[no-any-return]
        return response


class HyperbandFeasibleOracle(FeasibleMixin, HyperbandOracle):
    pass


class GridOracle(FeasibleMixin, kt.Oracle):
    """Every feasible point, in the space's order; skips what is tried or known infeasible."""

    ktrun_space: Space

    def ktrun_grid(self, space: Space) -> None:
        self.ktrun_space = space

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        for values in self.ktrun_space.enumerate(self.ktrun_space.order):
            if self._compute_values_hash(values) in self._tried_so_far:
                continue
            if self.ktrun_reject(values):
                continue
            return {"status": RUNNING, "values": values}
        self.ktrun_exhausted = True
        return {"status": STOPPED, "values": None}


def make_oracle(
    algorithm: str, *, checker: Checker, space: Space, settings: Any, **common: Any
) -> FeasibleMixin:
    """One oracle per `tuner.algorithm`, with feasible-only sampling installed."""
    oracle: FeasibleMixin
    if algorithm == "random":
        oracle = RandomOracle(**common)
    elif algorithm == "bayesian":
        b = settings.bayesian
        oracle = BayesianOracle(num_initial_points=b.num_initial_points, alpha=b.alpha, beta=b.beta, **common)
    elif algorithm == "hyperband":
        h = settings.hyperband
        max_trials = common.pop("max_trials")
        oracle = HyperbandFeasibleOracle(
            max_epochs=h.max_epochs, factor=h.factor, hyperband_iterations=h.iterations, **common
        )
        oracle.max_trials = max_trials  # a cap on Hyperband's own plan
    elif algorithm == "grid":
        grid = GridOracle(**common)
        grid.ktrun_grid(space)
        oracle = grid
    else:  # pragma: no cover - the schema allows only the four
        raise ValueError(algorithm)
    oracle.ktrun_setup(checker)
    return oracle
