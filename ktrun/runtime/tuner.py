"""The Keras side of a search: hypermodel, trial callbacks, and failure policies on Keras Tuner.

Failures map onto Keras Tuner's own mechanisms: `skip` raises `FailedTrialError` (trial FAILED,
search continues), `retry` raises a plain exception (trial INVALID, retried up to
`max_retries_per_trial`), `abort` fails the trial and then stops the search with `FatalError`
once Keras Tuner has recorded it. A failure never becomes a score.
"""

from __future__ import annotations

import math
import numbers
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import keras
import keras_tuner as kt
from keras_tuner.engine.trial import TrialStatus

from ktrun.algorithms import ALGORITHMS
from ktrun.compiler import keras_model as kb
from ktrun.compiler.plan import Plan
from ktrun.data.load import Data, Dataset
from ktrun.data.stream import StreamedDataset
from ktrun.runtime import interrupt, isolation, kt_compat, streams
from ktrun.runtime.distributed import is_chief, is_worker
from ktrun.runtime.journal import append_journal, read_journal, write_json_atomic
from ktrun.runtime.oracles import DAMAGE, failure_limit_reason
from ktrun.runtime.state import damaged_line, disk_error, move_aside, read_json_object, written_via_temp
from ktrun.spec.failures import FALLBACK, classify


def trial_seed(seed: int, trial_id: str) -> int:
    """The seed a trial's weights, dropout and shuffling start from: the search's, and the trial's id."""
    return zlib.crc32(f"{seed}/{trial_id}".encode()) % (2**31)


class NanTrialError(ArithmeticError):
    """The loss or a metric became NaN/inf: the trial stopped at once."""


class TrialTimeoutError(TimeoutError):
    """The trial passed `failure_policy.trial_timeout`: it stopped at the next batch."""


class RetryTrialError(RuntimeError):
    """Raised for `retry`: Keras Tuner marks the trial INVALID and runs it again."""


class DiskStop(kt.errors.FatalError):
    """A write the search needs failed (full or read-only disk): stop; the trial runs on resume."""


class UserExit(Exception):
    """User code (a custom object) raised SystemExit or KeyboardInterrupt: that trial fails."""


@dataclass
class TrialContext:
    """What ktrun tracks about the trial in flight (Keras Tuner's Trial has no room for it)."""

    trial_id: str
    started: float = field(default_factory=time.monotonic)
    phase: str = "build"
    epochs: int = 0
    nan_at: str | None = None
    timed_out: bool = False
    abort_reason: str | None = None
    #: Out-of-memory retries before this attempt (`failure_policy.oom_halves_batch`): the batch
    #: size is halved this many times; the size trained with, once known.
    oom_retries: int = 0
    batch_size: int | None = None
    #: `tuner.pruner` stopped the trial after this epoch (1-based), and why.
    pruned_after: int | None = None
    pruned: str | None = None
    #: The fit the pruner stopped: with `executions_per_trial` > 1, the trial's later executions
    #: are this one again (Keras Tuner's loop would train each of them in full).
    pruned_fit: Any = None
    #: Cross-validation: each execution's per-fold objective values (best epoch of each fold)
    #: and those best epochs (0-based).
    fold_scores: list[list[float]] = field(default_factory=list)
    fold_steps: list[int] = field(default_factory=list)
    #: The objective at each epoch's end (1-based epoch → value), one curve per fit (each fold,
    #: each of `executions_per_trial`).
    curves: list[dict[int, float]] = field(default_factory=list)
    #: `report.mlflow`: every epoch's logs, `{"step": epoch, metric: value, ...}`, for the trial's
    #: run (None: not recorded). Folds and executions follow one another: steps keep counting.
    history: list[dict[str, float]] | None = None

    def curve(self) -> list[list[float]]:
        """The per-epoch objective as `[epoch, value]` pairs (the fits' mean at each epoch), for
        the journal: the learning-curves plot draws it."""
        epochs = sorted({e for c in self.curves for e in c})
        out = []
        for e in epochs:
            values = [c[e] for c in self.curves if e in c]
            out.append([e, sum(values) / len(values)])
        return out

    def score_folds(self) -> list[float] | None:
        """The k fold scores (averaged over executions), for summary.json and trials.csv."""
        if not self.fold_scores:
            return None
        return [sum(values) / len(values) for values in zip(*self.fold_scores, strict=True)]


class TrialGuard(keras.callbacks.Callback):
    """Stops the trial at once on a non-finite loss or metric, or past its time limit.

    `async_safe`: Keras runs batch hooks on a worker thread instead of waiting for every batch's
    logs; setting `stop_training` from there stops the fit at the next batch.
    """

    async_safe = True

    def __init__(self, ctx: TrialContext, limit: float | None, objective: str | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.limit = limit
        self.objective = objective

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.ctx.curves.append({})

    def _check(self, logs: dict[str, Any] | None, where: str) -> None:
        for key, value in (logs or {}).items():
            try:
                finite = math.isfinite(float(value))
            except (TypeError, ValueError):
                continue
            if not finite and self.ctx.nan_at is None:
                self.ctx.nan_at = f"{key}={float(value)} at {where}"
                self.model.stop_training = True
        if interrupt.request.signum is not None:  # Ctrl-C or SIGTERM: stop at this batch
            self.model.stop_training = True
        if self.limit is not None and time.monotonic() - self.ctx.started > self.limit:
            self.ctx.timed_out = True
            self.model.stop_training = True

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._check(logs, f"epoch {self.ctx.epochs + 1}, batch {batch + 1}")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.ctx.epochs += 1
        history = self.ctx.history
        if history is not None:  # Hyperband's epochs start at its initial_epoch; a new fit goes on
            step = max(epoch, int(history[-1]["step"]) + 1) if history else epoch
            values = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, numbers.Real)}
            history.append({"step": step, **values})
        self._check(logs, f"the end of epoch {epoch + 1}")
        value = (logs or {}).get(self.objective) if self.objective else None
        try:
            value = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return
        if math.isfinite(value) and self.ctx.curves:
            self.ctx.curves[-1][epoch + 1] = value


class KeepBestEpoch(kt_compat.SaveBestEpochHook):
    """Keras Tuner's best-epoch checkpoint, kept in memory and written only when it can matter.

    Keras Tuner writes the weights to disk at every improving epoch of every trial. Only the
    search's best trial is ever loaded again (for `best_model.keras`), except under Hyperband,
    which hands weights to the next round: there every trial is written, once, at its end.
    """

    def __init__(self, objective: Any, filepath: str, persist: Any) -> None:
        super().__init__(objective, filepath)
        self.persist = persist
        self.best_weights: list[Any] | None = None

    def ktrun_on_best_epoch(self) -> None:
        self.best_weights = self.model.get_weights()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.best_weights is not None and self.persist(self.best_value):
            self.model.set_weights(self.best_weights)
            # Never through HDF5 onto the state disk: it segfaults when that disk is full.
            need = 2 * sum(int(w.nbytes) for w in self.best_weights) + (1 << 20)
            with written_via_temp(Path(self.filepath), need) as tmp:
                self.model.save_weights(str(tmp))


class KtrunHyperModel(kt.HyperModel):
    """Builds the model of the trial's point; fits with the spec's (possibly tuned) settings."""

    def __init__(self, plan: Plan) -> None:
        super().__init__(name=plan.spec.experiment.name)
        self.plan = plan
        self.ctx: TrialContext | None = None
        #: Whether a trial whose best objective value is this is worth writing to disk.
        self.persist: Callable[[float], bool] = lambda value: True
        #: `fit.class_weight: balanced`, from the training labels (set by the search).
        self.balanced_weights: dict[int, float] = {}
        #: The search's data: its folds under `fit.cross_validation`, or how to read a streamed one.
        self.dataset: Data | None = None

    def declare_hyperparameters(self, hp: kt.HyperParameters) -> None:
        hp.merge(kb.declare_hyperparameters(self.plan))

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        if self.ctx is not None:
            self.ctx.phase = "build"
        keras.config.set_dtype_policy(kb.precision_policy(self.plan))  # process-wide: set every time
        if self.plan.spec.model.hypermodel is not None:
            with kt_compat.efficientnets(kb.efficientnet_constructor(self.plan)):
                return kb.build_hypermodel(self.plan, hp)
        return kb.build_model(self.plan, kb.active_values(hp))

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
        if isinstance(self.dataset, Dataset) and self.dataset.folds is not None:
            return self.fit_folds(hp, model, self.dataset, **kwargs)
        return self.fit_once(hp, model, *args, **kwargs)

    def fit_folds(self, hp: kt.HyperParameters, model: keras.Model, data: Dataset, **kwargs: Any) -> Any:
        """One fit per fold, each on a fresh model; the trial's metrics are the folds' means.

        Every fold trains from scratch: Hyperband's hand-over of a parent trial's weights would
        carry rows a fold validates on, so each fold trains the round's `tuner/epochs` in full.
        Any fold's failure (NaN, timeout, an exception) is the trial's.
        """
        assert data.folds is not None
        # Hyperband loaded a parent's weights (`initial_epoch` > 0): they were trained on rows
        # other folds hold out, so fold 0 gets a fresh model too.
        fresh: keras.Model | None = None if kwargs.pop("initial_epoch", 0) else model
        objective = kt.Objective(self.plan.spec.objective.name, self.plan.checked.direction)
        results: list[dict[str, float]] = []
        steps: list[int] = []
        for k in range(len(data.folds)):
            fold = data.fold(k)
            history = self.fit_once(
                hp,
                fresh if fresh is not None else self.build(hp),
                fold.inputs(),
                fold.targets(),
                validation_data=(fold.inputs(validation=True), fold.targets(validation=True)),
                **kwargs,
            )
            fresh = None
            if objective.name not in history.history:
                return history  # the tuner reports the missing objective with what was logged
            results.append(kt_compat.convert_to_metrics_dict(history, objective))
            steps.append(kt_compat.best_step(history, objective))
        if self.ctx is not None:
            self.ctx.fold_scores.append([float(r[objective.name]) for r in results])
            self.ctx.fold_steps.extend(steps)
        names = set.intersection(*(set(r) for r in results))
        return {name: sum(float(r[name]) for r in results) / len(results) for name in sorted(names)}

    def fit_once(self, hp: kt.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
        ctx = self.ctx
        if ctx is not None and ctx.pruned_fit is not None:
            return ctx.pruned_fit  # pruned in an earlier execution: nothing more to train
        if ctx is not None:
            ctx.phase = "fit"
        point = kb.active_values(hp)
        fit = self.plan.spec.fit
        callbacks = self.tuner_callbacks(kwargs.pop("callbacks", []))
        limit = self.plan.spec.failure_policy.trial_timeout
        callbacks.append(TrialGuard(ctx or TrialContext("?"), limit, self.plan.spec.objective.name))
        # The specs' fields are the callbacks' own argument names.
        if fit.early_stopping is not None:
            callbacks.append(keras.callbacks.EarlyStopping(**fit.early_stopping.model_dump()))
        if fit.reduce_lr_on_plateau is not None:
            callbacks.append(keras.callbacks.ReduceLROnPlateau(**fit.reduce_lr_on_plateau.model_dump()))
        kwargs.setdefault("epochs", int(kb.fit_setting(self.plan, "epochs", point)))
        kwargs["batch_size"] = int(kb.fit_setting(self.plan, "batch_size", point))
        if ctx is not None and ctx.oom_retries:  # it ran out of memory at the larger size
            kwargs["batch_size"] = ctx.batch_size = max(1, kwargs["batch_size"] >> ctx.oom_retries)
        kwargs["verbose"] = fit.verbose
        kwargs["shuffle"] = bool(kb.fit_setting(self.plan, "shuffle", point))
        if kb.fit_setting(self.plan, "class_weight", point) == "balanced":
            kwargs["class_weight"] = self.balanced_weights
        if isinstance(self.dataset, StreamedDataset) and args and streams.is_streamed(args[0]):
            args, kwargs = self.streamed(self.dataset, args, kwargs)
        if self.plan.spec.model.hypermodel is None:  # a HyperModel's own layers are its own
            x = args[0] if args else kwargs["x"]
            if isinstance(self.dataset, StreamedDataset):
                x = x.map(lambda x, y: x)
            kb.adapt_layers(model, x)  # the training split only
        history = model.fit(*args, callbacks=callbacks, **kwargs)
        interrupt.check()  # a stopped fit is not a result: the trial runs again on resume
        if ctx is not None and ctx.pruned_after is not None:
            ctx.pruned_fit = history
        if ctx is not None and ctx.nan_at is not None:
            raise NanTrialError(f"non-finite value {ctx.nan_at}; the trial was stopped there")
        if ctx is not None and ctx.timed_out:
            raise TrialTimeoutError(
                f"the trial ran past failure_policy.trial_timeout="
                f"{self.plan.spec.failure_policy.trial_timeout} s; stopped after {ctx.epochs} epochs"
            )
        return history

    def streamed(
        self, data: StreamedDataset, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """`fit`'s arguments with the streamed splits as `tf.data` pipelines batched with this
        trial's batch size (shuffled per epoch if `fit.shuffle`), the targets inside them."""
        batch, shuffle = kwargs.pop("batch_size"), kwargs["shuffle"]
        kwargs["shuffle"] = False  # the pipeline shuffles; Keras' default (True) would warn
        x = streams.pipeline(args[0], data, batch, shuffle=shuffle, seed=self.plan.kt_seed)
        validation = kwargs.get("validation_data")
        if validation is not None and streams.is_streamed(validation[0]):
            kwargs["validation_data"] = streams.pipeline(validation[0], data, batch)
        return (x,), kwargs

    def tuner_callbacks(self, callbacks: list[Any]) -> list[Any]:
        """The callbacks `Tuner.run_trial` passes to every fit, with the best-epoch checkpoint kept
        in memory (`KeepBestEpoch`), and the tuner's hook forwarder made async-safe (its batch
        hooks call the tuner's, which ktrun leaves empty: nothing to wait for)."""
        out = []
        for callback in callbacks:
            if isinstance(callback, kt_compat.TunerCallback):
                callback.async_safe = True
            if isinstance(callback, kt_compat.SaveBestEpoch):
                out.append(KeepBestEpoch(callback.objective, callback.filepath, self.persist))
            else:
                out.append(callback)
        return out


class PolicyMixin(kt_compat.TunerHooks):
    """Failure classification and policies, objective presence, consecutive/fraction limits."""

    plan: Plan
    hypermodel: KtrunHyperModel
    oracle: Any
    journal_path: Path

    def ktrun_init(self, plan: Plan, journal: Path, on_event: Any = None) -> None:
        self.plan = plan
        self.journal_path = journal
        self.on_event = on_event
        self.ctx: TrialContext | None = None
        self.hypermodel.persist = self._worth_saving

    def on_trial_begin(self, trial: Any) -> None:
        interrupt.check()  # asked to stop between trials: this one stays unstarted
        super().on_trial_begin(trial)  # type: ignore[misc]
        self.ctx = TrialContext(trial.trial_id)
        if self.plan.spec.report.mlflow is not None:
            self.ctx.history = []
        if self.plan.spec.failure_policy.oom_halves_batch:
            self.ctx.oom_retries = self._oom_retries(trial.trial_id)
        self.hypermodel.ctx = self.ctx
        # Seeded per trial, not once per search: a trial trains alike whichever process runs it
        # and after whichever trials (isolated workers, parallel trials, a resumed search).
        keras.utils.set_random_seed(trial_seed(self.plan.kt_seed, trial.trial_id))
        if self.on_event:
            self.on_event("trial_begin", trial, None)

    def _oom_retries(self, trial_id: str) -> int:
        """This trial's attempts that ended out of memory, counted back from its latest."""
        count = 0
        for entry in reversed([e for e in read_journal(self.journal_path) if e.get("trial_id") == trial_id]):
            if entry.get("failure_class") != "oom":
                break
            count += 1
        return count

    def on_epoch_end(self, trial: Any, model: Any, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """With `tuner.pruner`, every epoch's metrics go to the oracle (Keras Tuner never sends
        them), whose verdict may stop the fit here: the trial is then pruned."""
        if self.plan.spec.tuner.pruner is None or not logs or self.ctx is None:
            return
        metrics = {k: float(v) for k, v in logs.items() if isinstance(v, int | float)}
        reported = self.oracle.update_trial(trial.trial_id, metrics=metrics, step=epoch)
        if getattr(reported, "status", None) == TrialStatus.STOPPED:
            model.stop_training = True
            self.ctx.pruned_after = epoch + 1
            self.ctx.pruned = getattr(self.oracle, "ktrun_pruned", {}).get(trial.trial_id) or (
                f"pruned after epoch {epoch + 1} by the chief's tuner.pruner"
            )

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        ctx = self.ctx or TrialContext(trial.trial_id)
        try:
            try:
                results = super().run_trial(trial, *args, **kwargs)  # type: ignore[misc]
            except (SystemExit, KeyboardInterrupt) as leaving:
                interrupt.check()  # the user's own Ctrl-C (the handler saw it) stops the search
                # Otherwise user code raised it (a custom object at import or build): that
                # trial fails by its policy; it is no reason to end the search or the process.
                raise UserExit(f"user code raised {type(leaving).__name__}({leaving})") from leaving
        except kt.errors.FatalError:
            raise
        except OSError as error:
            if (disk := disk_error(error)) is None:
                self._failed(trial, ctx, error)
            raise DiskStop(str(disk.strerror)) from error
        except Exception as error:
            self._failed(trial, ctx, error)
        self._check_objective(results, trial, ctx)
        self._journal(
            trial,
            "pruned" if ctx.pruned_after is not None else "completed",
            ctx,
            message=ctx.pruned,
            score=self._score(results),
            best_step=self._best_step(results),
            score_folds=ctx.score_folds(),
        )
        return results

    def _score(self, results: Any) -> float | None:
        """The trial's score as Keras Tuner computes it, for the journal (rebuilding a trial.json)."""
        objective = self.oracle.objective
        try:
            value = kt_compat.convert_to_metrics_dict(results, objective).get(objective.name)
            return None if value is None else float(value)
        except (TypeError, ValueError, KeyError, AttributeError):
            return None

    def _best_step(self, results: Any) -> int | None:
        """The trial's best epoch as Keras Tuner records it, for the journal (rebuilding a trial.json);
        under cross-validation, the folds' mean best epoch (what the final stage trains)."""
        if self.ctx is not None and self.ctx.fold_steps:
            return round(sum(self.ctx.fold_steps) / len(self.ctx.fold_steps))
        try:
            return kt_compat.best_step(results, self.oracle.objective)
        except (TypeError, ValueError, KeyError, AttributeError):
            return None

    def _failed(self, trial: Any, ctx: TrialContext, error: Exception) -> NoReturn:
        """Journal the failure; raise what makes Keras Tuner skip, retry or (after saving) abort."""
        policy = self.plan.spec.failure_policy
        cls = classify(error, ctx.phase)
        action = policy.action(cls)
        self._journal(trial, "failed", ctx, error=error, failure_class=cls, action=action)
        message = f"[{cls}] {type(error).__name__}: {error}"
        if action == "abort":
            ctx.abort_reason = (
                f"trial {trial.trial_id} failed with {cls} and failure_policy.{cls} is abort: "
                f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            )
            raise kt.errors.FailedTrialError(message) from error
        if action == "retry":
            raise RetryTrialError(message) from error
        raise kt.errors.FailedTrialError(message) from error

    def _check_objective(self, results: Any, trial: Any, ctx: TrialContext) -> None:
        name = self.plan.spec.objective.name
        histories = results if isinstance(results, list) else [results]
        logged = set()
        for h in histories:
            logged |= set(getattr(h, "history", h if isinstance(h, dict) else {}))
        if name not in logged:
            ctx.abort_reason = (
                f"the objective `{name}` is not in the logs of trial {trial.trial_id}; logged: "
                f"{', '.join(sorted(logged)) or 'nothing'}"
            )
            self._journal(trial, "failed", ctx, failure_class=FALLBACK, message=ctx.abort_reason)
            raise kt.errors.FailedTrialError(ctx.abort_reason)

    def _journal(
        self,
        trial: Any,
        status: str,
        ctx: TrialContext,
        *,
        error: BaseException | None = None,
        failure_class: str | None = None,
        action: str | None = None,
        message: str | None = None,
        score: float | None = None,
        best_step: int | None = None,
        score_folds: list[float] | None = None,
    ) -> None:
        entry = {
            "trial_id": trial.trial_id,
            "status": status,
            "failure_class": failure_class,
            "action": action,
            "phase": ctx.phase if status == "failed" else None,
            "exception_type": type(error).__name__ if error is not None else None,
            "message": message if message is not None else (str(error)[:2000] if error else None),
            "epochs": ctx.epochs,
            "seconds": round(time.monotonic() - ctx.started, 3),
            "score": score,
            "best_step": best_step,
            **({"score_folds": score_folds} if score_folds is not None else {}),
            **({"batch_size": ctx.batch_size} if ctx.batch_size is not None else {}),
            **({"curve": ctx.curve()} if ctx.curves else {}),
            **({"history": ctx.history} if ctx.history is not None else {}),
            "hyperparameters": kb.searched_values(trial.hyperparameters),
        }
        try:
            append_journal(self.journal_path, entry)
        except OSError as e:  # Keras Tuner would take it for a failed trial and go on
            if (disk := disk_error(e, self.journal_path)) is None:
                raise
            raise DiskStop(str(disk.strerror)) from e

    def on_trial_end(self, trial: Any) -> None:
        super().on_trial_end(trial)  # type: ignore[misc]  # Keras Tuner records and saves it
        if is_worker() and trial.status == "COMPLETED" and trial.score is None:
            # The chief's oracle scores a worker's trial; the worker's progress line shows it.
            trial.score = self.oracle.get_trial(trial.trial_id).score
        ctx = self.ctx
        if self.on_event:
            self.on_event("trial_end", trial, ctx)
        if ctx is not None and ctx.abort_reason:
            raise kt.errors.FatalError(ctx.abort_reason)
        self._check_limits()
        interrupt.check()  # this trial is saved; stop before the next
        isolation.after_trial()  # an isolated worker that is due leaves to be replaced

    def search(self, *args: Any, **kwargs: Any) -> None:
        from ktrun.runtime.distributed import serve

        if is_chief():
            self.save()
            self.oracle.verbose = kwargs.get("verbose", 0)  # Keras Tuner's own display, as in one process
            serve(self.oracle)
            return
        super().search(*args, **kwargs)  # type: ignore[misc]

    def _check_limits(self) -> None:
        if is_worker():  # a worker's oracle is a gRPC client: the chief's oracle enforces them
            return
        reason = failure_limit_reason(
            self.oracle.trials,
            self.oracle.end_order,
            self.plan.spec.failure_policy,
            self.plan.spec.tuner.max_trials,
        )
        if reason is not None:
            raise kt.errors.FatalError(reason)

    def _worth_saving(self, value: float) -> bool:
        """Hyperband reloads any trial; otherwise only a new best is ever loaded again."""
        reloads_any = ALGORITHMS[self.plan.spec.tuner.algorithm].schedules_epochs
        if reloads_any or not math.isfinite(value):
            return reloads_any
        best = self.oracle.get_best_trials(1)
        if not best or best[0].score is None:
            return True
        return bool(self.oracle.objective.better_than(value, best[0].score) or value == best[0].score)

    def save(self) -> None:
        """Only the tuner's own file, atomically (the oracle saves itself at every change)."""
        write_json_atomic(kt_compat.tuner_file(self), self.get_state())  # type: ignore[attr-defined]

    def reload(self) -> None:
        """Keras Tuner's reload; a damaged tuner file (display state only) is moved aside."""
        if not is_worker():  # a worker's trials live in the chief's oracle
            self.oracle.reload()
        path = kt_compat.tuner_file(self)
        try:
            self.set_state(read_json_object(path))  # type: ignore[attr-defined]
        except DAMAGE as e:
            aside = move_aside(path)
            self.save()
            self.oracle.ktrun_say(damaged_line(path, str(e), aside, "it holds no trial: wrote a new one"))


class KtrunTuner(PolicyMixin, kt.Tuner):
    pass


class KtrunHyperband(PolicyMixin, kt_compat.HyperbandTuner):
    """Hyperband's epoch schedule and weight hand-over, with ktrun's oracle and policies."""


__all__ = ["KtrunHyperModel", "KtrunHyperband", "KtrunTuner"]
