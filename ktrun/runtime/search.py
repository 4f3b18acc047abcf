"""Stage 6–7: a compiled plan and its data → a Keras Tuner search → a `SearchOutcome`.

The search state lives in `plan.state_dir` (experiment name + fingerprint), not in the Hydra run
directory, so re-running the same command resumes it; a changed space gets a new directory and
is announced with what changed.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ktrun.algorithms import ALGORITHMS
from ktrun.compiler.plan import Plan, diff_configs
from ktrun.data.load import Data
from ktrun.problems import Problem
from ktrun.runtime.distributed import in_cluster, is_chief, is_worker
from ktrun.runtime.history import History, read_history
from ktrun.runtime.journal import JOURNAL, read_journal, scan_journal, write_json_atomic, write_text_atomic
from ktrun.runtime.objectives import best_rule, objectives, trial_values
from ktrun.runtime.outcome import HpAxis, SearchOutcome, TrialRecord
from ktrun.runtime.state import (
    LOCK_FILE,
    SearchRefused,
    StateLock,
    damaged_line,
    describe,
    disk_error,
    move_aside,
    probe_dir,
    read_json_object,
    repair_json_file,
    written_via_temp,
)
from ktrun.spec.failures import FALLBACK

if TYPE_CHECKING:
    from ktrun.runtime.tracking import Tracker

__all__ = ["JOURNAL", "SearchRefused", "collect", "prepare_state", "run_search"]


def prepare_state(plan: Plan, say: Any) -> int:
    """Resume, restart or start: returns how many trials an earlier run left."""
    state, latest = plan.state_dir, plan.state_root / f"{plan.spec.experiment.name}.latest.json"
    # A worker (distributed, or an isolated one replacing another mid-search) shares the state
    # its chief already started over: wiping it again would lose the trials run since.
    if plan.spec.tuner.overwrite and state.exists() and not is_worker():
        say(f"tuner.overwrite=true: discarding the earlier search in {state}")
        for child in state.iterdir():  # all but the lock this run holds
            if child.name == LOCK_FILE:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    if not in_cluster():  # distributed: the launcher clears it
        clear_abort(state)
    if latest.is_file():
        try:
            previous = read_json_object(latest)
            if not isinstance(previous.get("fingerprint"), str) or not isinstance(
                previous.get("search_config"), dict
            ):
                raise ValueError("it lacks a string `fingerprint` or an object `search_config`")
        except ValueError as e:
            say(damaged_line(latest, str(e), move_aside(latest), "it only names the last search: rewrote it"))
            previous = {}
        if previous.get("fingerprint") not in (None, plan.fingerprint):
            changes = diff_configs(previous["search_config"], plan.search_config)
            say(
                "the search-relevant config changed since the last run, so this is a new search "
                f"(the old one stays in {previous.get('state_dir')}):\n  "
                + "\n  ".join(changes[:12])
                + ("\n  ..." if len(changes) > 12 else "")
            )
    write_json_atomic(
        latest,
        {
            "fingerprint": plan.fingerprint,
            "state_dir": str(state),
            "search_config": plan.search_config,
        },
    )
    done = len({e["trial_id"] for e in read_journal(state / JOURNAL)})
    if done:
        say(f"resuming the search in {state}: {done} trial(s) already ran")
    return done


def repair_state(plan: Plan, say: Any) -> None:
    """Damaged files Keras Tuner would crash on, set right before it reads them.

    The journal keeps its valid lines (a torn or foreign line would otherwise swallow the next
    append); a tuner file that is not JSON is moved aside. Trial files and oracle.json are read
    (and repaired) by the oracle's `reload`, which knows the space to rebuild them with.
    """
    state = plan.state_dir
    journal = state / JOURNAL
    entries, bad = scan_journal(journal)
    if bad:
        aside = move_aside(journal)
        write_text_atomic(journal, "".join(json.dumps(e, default=str) + "\n" for e in entries))
        lines = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
        say(
            damaged_line(
                journal,
                f"line(s) {lines} are not journal entries",
                aside,
                f"kept its {len(entries)} valid entries",
            )
        )
    tuner_file = state / f"{os.environ.get('KERASTUNER_TUNER_ID', 'tuner0')}.json"
    repair_json_file(tuner_file, "it holds no trial: a new one is written", say)
    if not tuner_file.is_file() and (
        (state / "oracle.json").exists() or any(state.glob("trial_*/trial.json"))
    ):
        # Keras Tuner reloads the oracle only when the tuner file exists; without it, the search
        # would start over and overwrite oracle.json. An empty tuner state makes it reload.
        write_json_atomic(tuner_file, {})


def clear_abort(state_dir: Path) -> None:
    """An earlier aborted run's signal to stop; a re-run resumes the search instead."""
    from ktrun.runtime.oracles import ABORT_FILE

    (state_dir / ABORT_FILE).unlink(missing_ok=True)


def run_search(
    plan: Plan,
    data: Data,
    run_dir: Path,
    *,
    progress: Any = None,
    say: Any = print,
) -> SearchOutcome:
    """Probe the disks, take the lock, then resume or start the search (see `_search`)."""
    from ktrun.runtime import kt_compat

    # Keras Tuner prints each failed trial's traceback; ktrun records and reports failures itself.
    kt_compat.set_debug(bool(os.environ.get("KTRUN_DEBUG")))
    # A search builds a new model per trial: TensorFlow's "retracing" advice does not apply.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    started = time.monotonic()
    problems = [
        p
        for p in (
            probe_dir(plan.state_root, "tuner.state_dir") or probe_dir(plan.state_dir, "tuner.state_dir"),
            probe_dir(run_dir, "hydra.run.dir"),
        )
        if p is not None
    ]
    history = earlier_trials(plan)
    if isinstance(history, list):
        problems += history
        history = None
    if problems:
        raise SearchRefused(problems)
    lock = StateLock(plan.state_dir)
    if not is_worker():  # workers share the chief's state on purpose
        lock.acquire()
    try:
        return _search(plan, data, run_dir, started, progress, say, history)
    finally:
        lock.release()


def earlier_trials(plan: Plan) -> History | list[Problem] | None:
    """`tuner.warm_start.search`, read before anything starts (None: no earlier search named)."""
    ws = plan.spec.tuner.warm_start
    if ws is None or ws.search is None:
        return None
    listed: list[tuple[str, str]] = [(o.name, o.direction) for o in objectives(plan)]
    listed = listed or [(plan.spec.objective.name, plan.checked.direction)]
    return read_history(ws.search, plan.checked.space, plan.checked.checker, listed)


def _search(
    plan: Plan, data: Data, run_dir: Path, started: float, progress: Any, say: Any, history: History | None
) -> SearchOutcome:
    import keras
    import keras_tuner as kt

    from ktrun.compiler.keras_model import (
        active_values,
        declare_hyperparameters,
        feedable,
        fit_setting,
        searched_values,
    )
    from ktrun.runtime import interrupt, kt_compat
    from ktrun.runtime.budget import Budget
    from ktrun.runtime.oracles import make_oracle
    from ktrun.runtime.tuner import DiskStop, KtrunHyperband, KtrunHyperModel, KtrunTuner

    resumed = prepare_state(plan, say)
    if not is_worker():
        repair_state(plan, say)
    spec = plan.spec
    keras.utils.set_random_seed(plan.kt_seed)
    policy = spec.failure_policy
    budget = Budget(
        spec.tuner.time_limit,
        spec.tuner.target_score,
        spec.tuner.patience,
        "min" if plan.checked.direction == "min" else "max",
        spec.objective.name,
    )
    oracle = make_oracle(
        spec.tuner.algorithm,
        checker=plan.checked.checker,
        space=plan.checked.space,
        settings=spec.tuner,
        budget=budget,
        objective=kt.Objective(spec.objective.name, plan.checked.direction),
        max_trials=spec.tuner.max_trials,
        hyperparameters=declare_hyperparameters(plan),
        allow_new_entries=False,
        tune_new_entries=False,
        seed=plan.kt_seed,
        max_retries_per_trial=policy.max_retries,
        max_consecutive_failed_trials=10**9,  # enforced by ktrun after the trial is saved
    )
    if is_chief():  # workers' trials end here: the chief's oracle enforces the failure limits
        oracle.ktrun_limits = (policy, spec.tuner.max_trials)
        oracle.ktrun_progress = progress
    oracle.ktrun_say = say
    if spec.report.mlflow is not None and not is_worker():  # the oracle's process logs the runs
        from ktrun.runtime.tracking import open_tracker

        tracker = open_tracker(plan, say)
        if tracker is not None:
            oracle.ktrun_on_end = lambda trial: _track(tracker, plan, trial)
    oracle.ktrun_pruner = spec.tuner.pruner
    oracle.ktrun_epochs = lambda trial: int(fit_setting(plan, "epochs", active_values(trial.hyperparameters)))
    listed = objectives(plan)
    if listed:
        oracle.ktrun_directions = tuple(o.direction for o in listed)
        oracle.ktrun_objective_values = lambda trial: list(
            trial_values(plan, trial, searched_values(trial.hyperparameters)).values()
        )
    oracle.ktrun_queue = [dict(p) for p in spec.tuner.warm_start.points] if spec.tuner.warm_start else []
    if history is not None:
        oracle.ktrun_history = history.told
        say(history.line())
    cls = KtrunHyperband if ALGORITHMS[spec.tuner.algorithm].schedules_epochs else KtrunTuner
    tuner = cls(
        oracle=oracle,
        hypermodel=KtrunHyperModel(plan),
        directory=str(plan.state_root),
        project_name=plan.project_name,
        overwrite=False,
        executions_per_trial=spec.tuner.executions_per_trial,
    )
    tuner.ktrun_init(plan, plan.state_dir / JOURNAL, progress)
    if resumed and hasattr(progress, "resume"):  # the progress line counts from the search's start
        pruned = {
            str(e["trial_id"]) for e in read_journal(plan.state_dir / JOURNAL) if e.get("status") == "pruned"
        }
        progress.resume(list(oracle.trials.values()), pruned)  # type: ignore[attr-defined]
    if spec.fit.class_weight is not None:
        tuner.hypermodel.balanced_weights = data.balanced_weights()
    # Folds (fit.cross_validation): every trial trains once per fold; streamed splits: read as
    # each trial's batch size says.
    tuner.hypermodel.dataset = data
    if not kt_compat.tuner_file(tuner).exists():
        # Keras Tuner reloads its oracle only when the tuner's own file exists, which it first
        # writes after trial 1 ends: a kill before that made the re-run start over, training
        # (and overwriting) trial 0 again even when it had completed.
        if not is_worker():
            oracle.save()
        tuner.save()
    fit_kwargs: dict[str, Any] = {}
    if spec.report.tensorboard:
        # Keras Tuner gives each trial its own log directory and writes its hyperparameters
        # for TensorBoard's HParams view.
        fit_kwargs["callbacks"] = [keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard"))]
    if data.has_validation:
        fit_kwargs["validation_data"] = (
            feedable(data.inputs(validation=True)),
            data.targets(validation=True),
        )
    # Everything allocated so far lives for the whole search: keep the collector off it, so
    # Keras Tuner's per-trial `gc.collect()` only scans what the trial itself created.
    gc.collect()
    gc.freeze()
    status, reason = "completed", None
    signum: int | None = None
    try:
        with interrupt.handlers():
            try:
                tuner.search(feedable(data.inputs()), data.targets(), verbose=0, **fit_kwargs)
            except interrupt.SearchInterrupted:
                status, reason = "interrupted", None
            except DiskStop as e:
                status, reason = "aborted", str(e)
            except kt.errors.FatalError as e:
                status, reason = "aborted", str(e)
            except OSError as e:  # a state write outside a trial (oracle.json, trial.json)
                if disk_error(e) is None:
                    raise
                status, reason = "aborted", describe(disk_error(e) or e)
            signum = interrupt.request.signum
    finally:
        gc.unfreeze()
    if signum is not None and status != "aborted":
        status = "interrupted"
    from ktrun.runtime.oracles import ABORT_FILE

    if status == "aborted" and is_worker() and reason:  # tell the chief, which stops everyone
        write_text_atomic(plan.state_dir / ABORT_FILE, reason)
    elif status == "completed" and (signalled := oracle.ktrun_abort_reason()):
        status, reason = "aborted", signalled
    if status == "completed" and oracle.ktrun_stopped is not None:
        status, reason = "stopped", oracle.ktrun_stopped
    elif status == "completed" and oracle.ktrun_exhausted:
        status = "exhausted"
        reason = None
    outcome = collect(plan, tuner, oracle, status, reason, time.monotonic() - started, resumed)
    outcome.signal = signum
    outcome.best_model_path = _save_best_model(tuner, outcome, run_dir, data)
    return outcome


def collect(
    plan: Plan,
    tuner: Any,
    oracle: Any,
    status: str,
    reason: str | None,
    seconds: float,
    resumed: int,
) -> SearchOutcome:
    """Keras Tuner's trials, completed with ktrun's journal (class, phase, epochs, seconds)."""
    journal = journal_by_trial(plan)
    records = [
        record
        for trial_id in oracle.start_order
        if (record := trial_record(plan, oracle.trials[trial_id], journal.get(trial_id, []))) is not None
    ]
    return SearchOutcome(
        experiment=plan.spec.experiment.name,
        objective_name=plan.spec.objective.name,
        direction=plan.checked.direction,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        abort_reason=None if status == "stopped" else reason,
        stop_reason=reason if status == "stopped" else None,
        trials=records,
        seconds=seconds,
        rejected=dict(oracle.ktrun_rejected),
        hyperparameter_names=[d.name for d in plan.hyperparameters],
        hyperparameter_axes=hp_axes(plan),
        state_dir=str(plan.state_dir),
        resumed_trials=resumed,
        history_trials=len(oracle.ktrun_history),
        folds=plan.spec.fit.folds,
        objectives=objectives(plan),
        best_rule=best_rule(plan),
    )


#: A stepped range with at most this many values shows each on its axis; more get a plain axis.
NAMED_VALUES = 12


def hp_axes(plan: Plan) -> dict[str, HpAxis]:
    """Each hyperparameter's axis for the plots: log-sampled ones on a log axis, choices and
    short grids with their own values as the ticks."""
    out: dict[str, HpAxis] = {}
    for d in plan.hyperparameters:
        kind = d.kind.lower()
        param = plan.checked.space.params.get(d.name)
        listed = None if param is None else param.values
        if listed is not None and kind in ("int", "float") and len(listed) > NAMED_VALUES:
            listed = None
        out[d.name] = HpAxis(kind, d.kwargs.get("sampling") == "log", listed)  # type: ignore[arg-type]
    return out


def _curve(pairs: Any) -> tuple[tuple[int, float], ...]:
    """A journal entry's `curve` (`[[epoch, value], ...]`), whatever a damaged journal holds."""
    if not isinstance(pairs, list):
        return ()
    out = []
    for p in pairs:
        if isinstance(p, list) and len(p) == 2 and isinstance(p[0], int) and isinstance(p[1], int | float):
            out.append((p[0], float(p[1])))
    return tuple(out)


def journal_by_trial(plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """The journal's entries (one per attempt, oldest first) by trial id."""
    journal: dict[str, list[dict[str, Any]]] = {}
    for entry in read_journal(plan.state_dir / JOURNAL):
        journal.setdefault(str(entry["trial_id"]), []).append(entry)
    return journal


def trial_record(plan: Plan, trial: Any, entries: list[dict[str, Any]]) -> TrialRecord | None:
    """One Keras Tuner trial as it ended, with its journal entries; None while it has not."""
    from ktrun.compiler.keras_model import searched_values

    last = entries[-1] if entries else {}
    values = searched_values(trial.hyperparameters)
    if trial.status == "COMPLETED" and last.get("status") != "failed":
        step = trial.best_step
        start = trial.hyperparameters.values.get("tuner/initial_epoch", 0)  # Hyperband's resumed epochs
        if plan.spec.fit.folds is not None:  # the folds' best epoch, each fold trained from scratch
            step, start = last.get("best_step"), 0
        return TrialRecord(
            trial.trial_id,
            "pruned" if last.get("status") == "pruned" else "completed",
            values,
            message=last.get("message") if last.get("status") == "pruned" else None,
            score=None if trial.score is None else float(trial.score),
            score_folds=last.get("score_folds"),
            epochs=last.get("epochs"),
            seconds=last.get("seconds"),
            attempts=max(len(entries), 1),
            batch_size=last["batch_size"] if isinstance(last.get("batch_size"), int) else None,
            best_epoch=None if step is None else int(start or 0) + int(step) + 1,
            objectives=trial_values(plan, trial, values),
            curve=_curve(last.get("curve")),
        )
    if last:
        return TrialRecord(
            trial.trial_id,
            "failed",
            values,
            failure_class=last.get("failure_class") or FALLBACK,
            phase=last.get("phase"),
            exception_type=last.get("exception_type"),
            message=last.get("message"),
            epochs=last.get("epochs"),
            seconds=last.get("seconds"),
            attempts=len(entries),
        )
    return None


def _track(tracker: Tracker, plan: Plan, trial: Any) -> None:
    """An ended trial's run, from the record and journal entry its results are made of."""
    entries = journal_by_trial(plan).get(trial.trial_id, [])
    record = trial_record(plan, trial, entries)
    if record is not None:
        history = entries[-1].get("history") if entries else None
        tracker.log_trial(record, history if isinstance(history, list) else None)


def _save_best_model(tuner: Any, outcome: SearchOutcome, run_dir: Path, data: Data) -> str | None:
    from ktrun.compiler.keras_model import adapt_vocabularies, feedable

    best = outcome.best()
    if best is None:
        return None
    try:
        with warnings.catch_warnings():  # the checkpoint holds optimizer state the model does not need
            warnings.simplefilter("ignore", UserWarning)
            model = tuner.load_model(tuner.oracle.trials[best.trial_id])
        adapt_vocabularies(model, feedable(data.inputs()))
        path = run_dir / "best_model.keras"
        need = 3 * sum(int(w.nbytes) for w in model.get_weights()) + (1 << 20)
        with written_via_temp(path, need) as tmp:  # never a 0-byte best_model.keras
            model.save(tmp)
    except Exception:  # the results stay valid without the model file; say so, do not crash
        return None
    return str(path)
