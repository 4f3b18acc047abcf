"""Keras Tuner oracles that only propose feasible points, and save their state atomically.

Every proposal passes through `Checker.violations` (the same constraints and shape rules that
`ktrun check` analysed): an infeasible point is counted per reason, marked as tried so it is
never proposed again, and replaced, without creating a trial or spending budget. When no new
feasible point can be found the oracle stops and the search ends as "exhausted".

Each `tuner.algorithm` names its Keras Tuner oracle (`ktrun.algorithms`); `oracle_class` puts the
mixin in front of it. About 410 lines: the feasible-only mixin and its resumable state belong
together, since what a resumed oracle must not repeat is exactly what the mixin records.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

import keras_tuner as kt
from keras_tuner.engine.trial import Trial, TrialStatus

from ktrun.algorithms import ALGORITHMS
from ktrun.analysis.feasibility import Checker
from ktrun.analysis.space import Space, domain_value
from ktrun.analysis.values import exact_value, keras_tuner_value
from ktrun.compiler.keras_model import searched_values
from ktrun.runtime import kt_compat, pruning
from ktrun.runtime.budget import Budget
from ktrun.runtime.history import Told
from ktrun.runtime.journal import JOURNAL, append_journal, read_journal, write_json_atomic, write_text_atomic
from ktrun.runtime.kt_compat import OracleHooks, synchronized
from ktrun.runtime.state import OVERWRITE_HINT, damaged_line, move_aside, read_json_object
from ktrun.spec.experiment import TunerSpec
from ktrun.spec.failures import FALLBACK
from ktrun.spec.hyperparameters import FixedHp
from ktrun.spec.refs import Scalar

ABORT_FILE = "ktrun_abort.txt"
#: Depth-first searches for an untried feasible point before the search counts as exhausted.
SOLVER_TRIES = 50
RUNNING = TrialStatus.RUNNING
ENDED = (TrialStatus.COMPLETED, TrialStatus.FAILED)
STOPPED = TrialStatus.STOPPED
STATUSES = frozenset(v for k, v in vars(TrialStatus).items() if k.isupper() and isinstance(v, str))
#: What Keras Tuner's `Oracle.set_state` reads from oracle.json, with the type each must have.
ORACLE_FIELDS: dict[str, type] = {
    "ongoing_trials": dict,
    "hyperparameters": dict,
    "start_order": list,
    "end_order": list,
    "run_times": dict,
    "retry_queue": list,
    "seed": int,
    "seed_state": int,
    "tried_so_far": list,
    "id_to_hash": dict,
    "display": dict,
}
#: What reading a damaged state file raises (bad JSON is a ValueError; missing or odd fields
#: surface as the others inside Keras Tuner's `set_state`/`from_state`).
DAMAGE = (ValueError, KeyError, TypeError, AttributeError, IndexError)


def oracle_state_problem(state: dict[str, Any]) -> str | None:
    """Why `state` (oracle.json) cannot be Keras Tuner's oracle state; None when it can."""
    for key, kind in ORACLE_FIELDS.items():
        if key not in state:
            return f"it has no `{key}`"
        value = state[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"`{key}` is a JSON {type(value).__name__}, not a {kind.__name__}"
    for key in ("start_order", "end_order", "retry_queue", "tried_so_far"):
        if not all(isinstance(x, str) for x in state[key]):
            return f"`{key}` holds something other than trial ids"
    if not all(isinstance(x, str) for x in state["ongoing_trials"].values()):
        return "`ongoing_trials` holds something other than trial ids"
    return None


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


class FeasibleMixin(OracleHooks):
    """Rejection sampling in front of Keras Tuner's own sampling (`OracleHooks.kt_random_values`)."""

    ktrun_checker: Checker
    ktrun_space: Space
    ktrun_max_attempts: int = 200
    ktrun_rejected: Counter[str]
    ktrun_exhausted: bool = False
    #: (failure_policy, max_trials) when this oracle enforces the limits itself: a distributed
    #: chief, the only process that sees every worker's trials.
    ktrun_limits: tuple[Any, int] | None = None
    #: Where a repaired state file is announced (the run's console).
    ktrun_say: Callable[[str], Any] = print
    #: tuner.time_limit / target_score / patience; why the search stopped, once it has.
    ktrun_budget: Budget
    ktrun_stopped: str | None = None
    #: `tuner.warm_start.points` not yet proposed (checked against the space by `check`).
    ktrun_queue: list[dict[str, Scalar]]
    #: `tuner.warm_start.search`: an earlier search's trials that fit, told before the first
    #: proposal; Keras Tuner's Gaussian process sees them as completed trials while it proposes.
    ktrun_history: list[Told]
    ktrun_history_told: bool = False
    ktrun_learns_from_trials: bool = False
    #: `tuner.pruner` (None: no pruning), and why each pruned trial was.
    ktrun_pruner: Any = None
    ktrun_pruned: dict[str, str]
    #: The epochs a trial trains (`fit.epochs` at its point): no verdict at its last one, where
    #: a cut saves nothing and would only label a fully trained trial pruned.
    ktrun_epochs: Callable[[Any], int] | None = None
    #: A chief's progress view: told of each trial that ends (its workers' own views are unseen).
    ktrun_progress: Callable[[str, Any, Any], Any] | None = None
    #: Several objectives (`objectives:`): each one's direction, and a completed trial's value for
    #: each (None where it has none), for a sampler told them all. Unset: Keras Tuner's one score.
    ktrun_directions: tuple[str, ...] = ()
    ktrun_objective_values: Callable[[Any], list[float | None]] | None = None
    #: `report.mlflow`: told of each trial that has ended for good (completed, or failed past its
    #: retries), in the process that holds the oracle (`ktrun.runtime.tracking`).
    ktrun_on_end: Callable[[Any], Any] | None = None

    def ktrun_setup(
        self, checker: Checker, space: Space, max_attempts: int = 200, budget: Budget | None = None
    ) -> None:
        self.ktrun_budget = budget or Budget()
        self.ktrun_stopped = None
        self.ktrun_pruned = {}
        self.ktrun_queue = []
        self.ktrun_history = []
        self.ktrun_checker = checker
        self.ktrun_space = space
        self.ktrun_max_attempts = max_attempts
        self.ktrun_rejected = Counter()
        self.ktrun_exhausted = False

    def ktrun_exact(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A point as Keras Tuner holds it, stepped floats as the decimals they stand for (what the
        constraints compare: `dropout <= 0.3` holds for Keras Tuner's 0.30000000000000004)."""
        params = self.ktrun_space.params
        return {k: exact_value(params[k].decl, v) if k in params else v for k, v in values.items()}

    def ktrun_for_keras_tuner(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A point ktrun proposes (exact decimals), as the floats Keras Tuner samples itself, so
        its tried-points memory and its Bayesian encoding see the same point (`keras_tuner_value`)."""
        params = self.ktrun_space.params
        return {k: keras_tuner_value(params[k].decl, v) if k in params else v for k, v in values.items()}

    def ktrun_reject(self, values: dict[str, Any]) -> bool:
        """True (and counted, and remembered) when `values` must not be trained."""
        reasons = self.ktrun_checker.violations(self.ktrun_exact(values))
        if not reasons:
            return False
        self.ktrun_rejected.update(reasons)
        kt_compat.mark_tried(self, values)
        return True

    def _abort_file(self) -> Path:
        return kt_compat.project_dir(self) / ABORT_FILE

    def ktrun_abort_reason(self) -> str | None:
        """Set by a distributed worker that hit an `abort` policy, or by the chief's limits."""
        path = self._abort_file()
        return path.read_text(encoding="utf-8") if path.is_file() else None

    @synchronized
    def create_trial(self, tuner_id: str) -> Any:
        """No new trial once the search was aborted elsewhere, or its budget is spent (time,
        target, patience): every worker gets STOPPED. A worker whose process died mid-trial
        (`runtime.isolation: process`) first has that trial ended as `crash`."""
        self._ktrun_end_crashed(tuner_id)
        if self.ktrun_stopped is None and self.ktrun_budget.limited:
            end_order: list[str] = self.end_order  # type: ignore[attr-defined]
            self.ktrun_stopped = self.ktrun_budget.stop_reason(self.trials, end_order, self.ktrun_pruned)  # type: ignore[attr-defined]
        if self.ktrun_abort_reason() is not None or self.ktrun_stopped is not None:
            self.tuner_ids.discard(tuner_id)  # type: ignore[attr-defined]
            hps = self.hyperparameters.copy()  # type: ignore[attr-defined]
            return Trial(hyperparameters=hps, trial_id="stopped", status=STOPPED)
        return super().create_trial(tuner_id)  # type: ignore[misc]

    def _ktrun_end_crashed(self, tuner_id: str) -> None:
        """The orphan of a dead worker, failed as `crash` by `failure_policy.crash` (its
        replacement asks under the same id): skip, retry (Keras Tuner's INVALID) or abort."""
        from ktrun.runtime.isolation import take_crash

        message = take_crash(kt_compat.project_dir(self), tuner_id)
        ongoing: dict[str, Any] = self.ongoing_trials  # type: ignore[attr-defined]
        trial = ongoing.get(tuner_id)
        if message is None or trial is None:  # it died between trials: nothing to fail
            return
        action = self.ktrun_limits[0].action("crash") if self.ktrun_limits is not None else "skip"
        append_journal(
            kt_compat.project_dir(self) / JOURNAL,
            {
                "trial_id": trial.trial_id,
                "status": "failed",
                "failure_class": "crash",
                "action": action,
                "phase": None,
                "exception_type": None,
                "message": message,
                "hyperparameters": searched_values(trial.hyperparameters),
            },
        )
        trial.status = TrialStatus.INVALID if action == "retry" else TrialStatus.FAILED
        trial.message = f"[crash] {message}"
        self.end_trial(trial)
        if action == "abort" and self.ktrun_abort_reason() is None:
            reason = f"trial {trial.trial_id} failed with crash and failure_policy.crash is abort: {message}"
            write_text_atomic(self._abort_file(), reason)

    def ktrun_queued(self) -> dict[str, Any] | None:
        """The next warm-start point this search has not tried (a resume skips those it has),
        as Keras Tuner's values: the point, with the fixed hyperparameters active at it.
        Before the first, the earlier search's points are marked tried: never proposed again."""
        if not self.ktrun_history_told:
            self.ktrun_history_told = True
            for told in self.ktrun_history:
                kt_compat.mark_tried(self, self.ktrun_for_keras_tuner(told.values))
        space = self.ktrun_space
        while self.ktrun_queue:
            point = self.ktrun_queue.pop(0)
            values: dict[str, Scalar] = {}
            for name in space.order:
                if space.is_active(name, values):
                    decl = space.params[name].decl
                    if isinstance(decl, FixedHp):
                        values[name] = decl.value
                    elif name in point:
                        found = domain_value(space.params[name], point[name])
                        values[name] = point[name] if found is None else found
            values = self.ktrun_for_keras_tuner(values)
            if kt_compat.mark_tried(self, values):
                return {"status": RUNNING, "values": values}
        return None

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        """Whatever the algorithm proposes (a Gaussian process's optimum, a promoted Hyperband
        trial), an infeasible proposal gives way to a random feasible point."""
        queued = self.ktrun_queued()
        if queued is not None:
            return queued
        with self._ktrun_history_as_trials():
            response: dict[str, Any] = super().populate_space(trial_id)  # type: ignore[misc]
        values = response.get("values")
        if response["status"] == RUNNING and values is not None and self.ktrun_reject(values):
            return self.ktrun_random_response()
        return response

    @contextlib.contextmanager
    def _ktrun_history_as_trials(self) -> Iterator[None]:
        """For an algorithm that learns from the oracle's completed trials (Bayesian
        optimisation's Gaussian process), the earlier search's are among them while it proposes,
        and only then: they are no trials of this search (no budget, never best, never saved)."""
        if not (self.ktrun_learns_from_trials and self.ktrun_history):
            yield
            return
        trials: dict[str, Any] = self.trials  # type: ignore[attr-defined]
        added = []
        for i, told in enumerate(self.ktrun_history):
            hp = self.hyperparameters.copy()  # type: ignore[attr-defined]
            hp.values.update(self.ktrun_for_keras_tuner(told.values))
            trial = Trial(hp, trial_id=f"history-{i}", status=TrialStatus.COMPLETED)
            trial.score = told.objectives[0]
            trials[trial.trial_id] = trial
            added.append(trial.trial_id)
        try:
            yield
        finally:
            for trial_id in added:
                del trials[trial_id]

    def ktrun_random_values(self) -> dict[str, Any] | None:
        """Keras Tuner's uniform sampling while it hits; the checker's tree search when it keeps
        missing (a feasible fraction of 1e-5 is fine for a search, not for rejection)."""
        for _ in range(self.ktrun_max_attempts):
            values = self.kt_random_values()
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
            point, _ = checker.solve(tree, random.Random(kt_compat.next_seed(self)))
            if point is None:
                break
            point = self.ktrun_for_keras_tuner(point)
            if kt_compat.mark_tried(self, point):
                return point
        self.ktrun_exhausted = True
        return None

    # ------------------------------------------------------------ state, written atomically

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = super().get_state()  # type: ignore[misc]
        state["ktrun_rejected"] = dict(self.ktrun_rejected)
        state["ktrun_seconds"] = self.ktrun_budget.elapsed()  # tuner.time_limit adds up over runs
        state["ktrun_pruned"] = dict(self.ktrun_pruned)
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
        pruned = state.get("ktrun_pruned", {})
        self.ktrun_pruned = {str(k): str(v) for k, v in pruned.items()} if isinstance(pruned, dict) else {}
        seconds = state.get("ktrun_seconds", 0.0)
        if isinstance(seconds, int | float) and math.isfinite(seconds) and seconds >= 0:
            self.ktrun_budget.used = float(seconds)
        ongoing: dict[str, Any] = self.ongoing_trials  # type: ignore[attr-defined]
        end_order: list[str] = self.end_order  # type: ignore[attr-defined]
        retry = kt_compat.retry_queue(self)
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

    def reload(self) -> None:
        """Keras Tuner's reload (trial files, then oracle.json), where damage never blocks.

        A trial.json that cannot be read is moved aside and rebuilt from the journal (which
        holds each ended trial's values, status and score). A damaged or missing oracle.json is
        moved aside and the oracle state rebuilt from the trial files: ended trials stay ended
        and count towards the budget, unfinished ones run again, tried points are not proposed
        again. Hyperband's bracket bookkeeping is not in the trial files: it starts afresh.
        """
        project = kt_compat.project_dir(self)
        fresh = json.loads(json.dumps(self.get_state()))  # a new search's state, to rebuild on
        last: dict[str, dict[str, Any]] = {e["trial_id"]: e for e in read_journal(project / JOURNAL)}
        trials: dict[str, Any] = self.trials  # type: ignore[attr-defined]
        for fname in sorted(project.glob("trial_*/trial.json")):
            trial = self._ktrun_load_trial(fname, last)
            trials[trial.trial_id] = trial
        path = kt_compat.oracle_file(self)
        try:
            state = read_json_object(path)
            problem = oracle_state_problem(state)
            if problem is not None:
                raise ValueError(problem)
            self.set_state(self._ktrun_known(state))
        except FileNotFoundError:
            self._ktrun_rebuild(fresh)
            self.ktrun_say(f"missing state {path}: rebuilt it from {self._ktrun_salvage()}")
        except DAMAGE as e:
            reason = str(e) if isinstance(e, ValueError) else f"a field is missing or wrong ({e!r})"
            aside = move_aside(path)
            self._ktrun_rebuild(fresh)
            self.ktrun_say(damaged_line(path, reason, aside, f"rebuilt it from {self._ktrun_salvage()}"))
        for entry in last.values():  # a kill after the trial's file ended it, before oracle.json
            if entry.get("status") == "pruned" and entry["trial_id"] in trials:
                self.ktrun_pruned.setdefault(entry["trial_id"], str(entry.get("message") or "pruned"))
        ongoing: dict[str, Any] = self.ongoing_trials  # type: ignore[attr-defined]
        for trial in ongoing.values():  # as Keras Tuner does: what was running runs again
            kt_compat.retry_queue(self).append(trial.trial_id)
        ongoing.clear()

    def _ktrun_salvage(self) -> str:
        trials = self.trials.values()  # type: ignore[attr-defined]
        done = sum(t.status == TrialStatus.COMPLETED for t in trials)
        if not trials:
            return "nothing (no trial file was intact): the search starts over"
        return f"{len(trials)} trial file(s), {done} completed (kept, not trained again)"

    def _ktrun_known(self, state: dict[str, Any]) -> dict[str, Any]:
        """oracle.json without references to trials that have no file (Keras Tuner KeyErrors)."""
        known = self.trials  # type: ignore[attr-defined]
        state = dict(state)
        state["ongoing_trials"] = {k: v for k, v in state["ongoing_trials"].items() if v in known}
        for key in ("start_order", "end_order", "retry_queue"):
            state[key] = [t for t in state[key] if t in known]
        return state

    def _ktrun_rebuild(self, fresh: dict[str, Any]) -> None:
        """The oracle state of a new search plus the trial files (`set_state` orders them)."""
        self.set_state(fresh)
        for trial_id, trial in self.trials.items():  # type: ignore[attr-defined]
            kt_compat.restore_trial(self, trial_id, trial.hyperparameters.values)
        kt_compat.advance_seed(self, len(self.trials))  # type: ignore[attr-defined]
        self.save()

    def _ktrun_load_trial(self, fname: Path, journal: dict[str, dict[str, Any]]) -> Any:
        """The trial in `fname`; when it is damaged, the same trial rebuilt from the journal."""
        trial_id = fname.parent.name.removeprefix("trial_")
        try:
            trial = Trial.from_state(read_json_object(fname))
            if trial.trial_id != trial_id:
                raise ValueError(f"its trial_id is {trial.trial_id!r}, not {trial_id!r}")
            if trial.status not in STATUSES:
                raise ValueError(f"unknown status {trial.status!r}")
            if not isinstance(trial.score, int | float | None) or isinstance(trial.score, bool):
                raise ValueError(f"its score is a {type(trial.score).__name__}")
            return trial
        except DAMAGE as e:
            reason = str(e) if isinstance(e, ValueError) else f"a field is missing or wrong ({e!r})"
            aside = move_aside(fname)
            trial, salvaged = self._ktrun_trial_from_journal(trial_id, journal.get(trial_id))
            write_json_atomic(fname, trial.get_state())
            self.ktrun_say(damaged_line(fname, reason, aside, salvaged))
            return trial

    def _ktrun_trial_from_journal(self, trial_id: str, entry: dict[str, Any] | None) -> tuple[Any, str]:
        hp = self.hyperparameters.copy()  # type: ignore[attr-defined]
        values: dict[str, Scalar] = entry.get("hyperparameters") or {} if entry else {}
        if isinstance(values, dict):
            hp.values.update(values)
        status = entry.get("status") if entry else None
        if status == "completed":
            trial = Trial(hp, trial_id=trial_id, status=TrialStatus.COMPLETED)
            score = entry.get("score") if entry else None
            if isinstance(score, int | float):
                step = entry.get("best_step") if entry else None
                trial.score, trial.best_step = float(score), step if isinstance(step, int) else 0
                return trial, f"rebuilt completed trial {trial_id} (score {score}) from {JOURNAL}"
            return trial, f"rebuilt completed trial {trial_id} from {JOURNAL}, but its score is lost"
        if status == "failed" and entry and entry.get("action") == "retry":
            trial = Trial(hp, trial_id=trial_id, status=RUNNING)
            return trial, f"trial {trial_id} failed and will be retried, as its policy says"
        if status == "failed" and entry:
            trial = Trial(hp, trial_id=trial_id, status=TrialStatus.FAILED)
            trial.message = entry.get("message")
            return trial, f"rebuilt failed trial {trial_id} from {JOURNAL}"
        # It never ended (a kill mid-trial), so no intact file holds its values: it is recorded
        # as failed rather than silently dropped (trial ids count trials: a gap would reuse one).
        message = (
            f"its trial.json was damaged before it ended, and its hyperparameters with it; {OVERWRITE_HINT}"
        )
        trial = Trial(kt.HyperParameters(), trial_id=trial_id, status=TrialStatus.FAILED)
        trial.message = message
        append_journal(
            kt_compat.project_dir(self) / JOURNAL,
            {
                "trial_id": trial_id,
                "status": "failed",
                "failure_class": FALLBACK,
                "phase": None,
                "message": message,
                "hyperparameters": {},
            },
        )
        return trial, f"trial {trial_id} had not ended and nothing else holds it: recorded as failed"

    @synchronized
    def update_trial(self, trial_id: str, metrics: dict[str, Any], step: int = 0) -> Any:
        """Keras Tuner's record of an epoch, then the pruner's verdict: a copy of the trial whose
        status is STOPPED tells the tuner (here or on a worker) to stop its fit."""
        trial = super().update_trial(trial_id, metrics, step)  # type: ignore[misc]
        if self.ktrun_pruner is None or trial_id in self.ktrun_pruned:
            return trial
        trials: dict[str, Any] = self.trials  # type: ignore[attr-defined]
        if self.ktrun_epochs is not None and step + 1 >= self.ktrun_epochs(trials[trial_id]):
            return trial  # its last epoch: it has trained in full
        name = self.objective.name  # type: ignore[attr-defined]
        curves = {t: pruning.curve(tr, name) for t, tr in trials.items()}
        end_order: list[str] = self.end_order  # type: ignore[attr-defined]
        ended = [
            t for t in end_order if trials[t].status == TrialStatus.COMPLETED and t not in self.ktrun_pruned
        ]
        direction: Literal["min", "max"] = "min" if self.objective.direction == "min" else "max"  # type: ignore[attr-defined]
        reason = pruning.prune_reason(self.ktrun_pruner, direction, name, trial_id, step, curves, ended)
        if reason is None:
            return trial
        self.ktrun_pruned[trial_id] = reason
        stopped = copy.copy(trial)
        stopped.status = STOPPED
        return stopped

    @synchronized
    def end_trial(self, trial: Any) -> None:
        """Save once more after Keras Tuner dropped the trial from `ongoing_trials`; on a
        distributed chief, stop every worker once the failure limits are crossed."""
        super().end_trial(trial)  # type: ignore[misc]
        self.save()
        ended = self.trials[trial.trial_id]  # type: ignore[attr-defined]
        if self.ktrun_progress is not None:
            self.ktrun_progress("trial_end", ended, None)
        if self.ktrun_on_end is not None and ended.status in ENDED:
            self.ktrun_on_end(ended)
        if self.ktrun_limits is not None and self.ktrun_abort_reason() is None:
            policy, max_trials = self.ktrun_limits
            reason = failure_limit_reason(self.trials, self.end_order, policy, max_trials)  # type: ignore[attr-defined]
            if reason is not None:
                write_text_atomic(self._abort_file(), reason)

    def save(self) -> None:
        """Keras Tuner writes oracle.json in place (a kill tears it); ktrun writes it atomically."""
        write_json_atomic(kt_compat.oracle_file(self), self.get_state())

    def ktrun_save_trial(self, trial: Any, path: Path) -> None:
        """trial.json, written atomically (Keras Tuner writes it in place)."""
        write_json_atomic(path, trial.get_state())

    def ktrun_random_response(self) -> dict[str, Any]:
        """A feasible random point as a `populate_space` answer (STOPPED when none is left)."""
        values = self.ktrun_random_values()
        if values is None:
            return {"status": STOPPED, "values": None}
        return {"status": RUNNING, "values": values}


class GridOracle(FeasibleMixin, kt.Oracle):
    """Every feasible point, in the space's order; skips what is tried or known infeasible."""

    #: The walk through the grid, kept across calls (a lazy generator: a grid of 200,000 values
    #: costs nothing up front). A resumed search starts a new walk that skips what was tried.
    _ktrun_cursor: Iterator[dict[str, Scalar]] | None = None

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        queued = self.ktrun_queued()
        if queued is not None:
            return queued
        if self._ktrun_cursor is None:
            self._ktrun_cursor = self.ktrun_space.enumerate(self.ktrun_space.order)
        for point in self._ktrun_cursor:
            values = self.ktrun_for_keras_tuner(point)
            if kt_compat.was_tried(self, values):
                continue
            if self.ktrun_reject(values):
                continue
            return {"status": RUNNING, "values": values}
        self.ktrun_exhausted = True
        return {"status": STOPPED, "values": None}


#: ktrun's own oracles, for the algorithms Keras Tuner has none for (`Algorithm.keras_oracle` None).
OWN_ORACLES: dict[str, type[FeasibleMixin]] = {"grid": GridOracle}


@cache
def oracle_class(algorithm: str) -> type[FeasibleMixin]:
    """The oracle of `tuner.algorithm`: Keras Tuner's own behind the feasible-only mixin, or ktrun's."""
    keras_oracle = ALGORITHMS[algorithm].keras_oracle
    if keras_oracle is None and algorithm not in OWN_ORACLES:  # Optuna's: imported only when chosen
        from ktrun.runtime.optuna_oracle import ORACLES

        return ORACLES[algorithm]
    if keras_oracle is None:
        return OWN_ORACLES[algorithm]
    base = getattr(kt.oracles, keras_oracle)
    learns = keras_oracle == "BayesianOptimizationOracle"  # its GP fits every completed trial
    return type(
        f"Feasible{base.__name__}",
        (FeasibleMixin, base),
        {"__module__": __name__, "ktrun_learns_from_trials": learns},
    )


def make_oracle(
    algorithm: str,
    *,
    checker: Checker,
    space: Space,
    settings: TunerSpec,
    budget: Budget | None = None,
    **common: Any,
) -> FeasibleMixin:
    """One oracle per `tuner.algorithm`, with feasible-only sampling (and the search's budget) installed."""
    kwargs = ALGORITHMS[algorithm].oracle_kwargs(settings.settings(), common)
    oracle = oracle_class(algorithm)(**kwargs)
    oracle.max_trials = common["max_trials"]  # type: ignore[attr-defined]  # caps Hyperband's own plan
    oracle.ktrun_setup(checker, space, budget=budget)
    return oracle
