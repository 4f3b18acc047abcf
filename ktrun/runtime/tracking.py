"""`report.mlflow`: the search an MLflow run, each trial a child run under it.

Fed from what ktrun records anyway: a trial's run from its `TrialRecord` and its journal entry
(per-epoch logs, kept in the journal only when tracking is on), the search's run from the
`SearchOutcome` and the files written from it. Logged by the process that owns the oracle (the
search itself, or the chief of `distributed` and `runtime.isolation: process` searches), as each
trial ends, so a killed search keeps the runs of its ended trials.

Runs carry the search's id (`ktrun.search_id`, from its state directory, which holds the
fingerprint) and their trial id: a resumed search reuses its parent run and logs only the trials
not logged yet, so nothing is duplicated and a trial missed earlier is caught up. MLflow is
imported only here and only when configured; an MLflow error never costs a search: it is said
once, logging stops for this process, and a re-run logs what is missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ktrun.compiler.plan import Plan
from ktrun.runtime.journal import JOURNAL, read_journal
from ktrun.runtime.outcome import SearchOutcome, TrialRecord

#: MLflow's limits (mlflow.utils.validation): per log_batch call, and per value.
BATCH_METRICS, BATCH_PARAMS, PARAM_CHARS, TAG_CHARS = 1000, 100, 6000, 8000
#: A search's MLflow status by ktrun's.
RUN_STATUS = {"completed": "FINISHED", "exhausted": "FINISHED", "stopped": "FINISHED", "aborted": "FAILED"}

T = TypeVar("T")


def search_id(plan: Plan) -> str:
    """What identifies a search across its runs: its state directory (name and fingerprint)."""
    return hashlib.sha256(str(plan.state_dir.resolve()).encode()).hexdigest()[:16]


def metric_key(name: str) -> str:
    """A name MLflow takes as a metric or param key (Keras' and ktrun's names already are)."""
    return re.sub(r"[^\w.\- /]", "_", name)[:250] or "_"


def flat(node: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """A config as `section.key` params; lists as JSON (the whole config is an artifact too)."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from flat(value, f"{prefix}.{key}" if prefix else str(key))
    elif prefix:
        text = node if isinstance(node, str) else json.dumps(node, default=str)
        yield metric_key(prefix), text[:PARAM_CHARS]


def param_text(value: object) -> str:
    """A hyperparameter's value as typed in YAML (`true`, `0.001`, `relu`)."""
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


def epoch_values(history: Sequence[Any]) -> Iterator[tuple[str, float, int]]:
    """(metric, value, step) of each epoch's logs; anything else a journal line holds is skipped."""
    for i, epoch in enumerate(history):
        if not isinstance(epoch, dict):
            continue
        step = epoch.get("step", i)
        for key, value in epoch.items():
            if key != "step" and isinstance(value, int | float) and isinstance(step, int):
                yield metric_key(str(key)), float(value), step


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Tracker:
    """One search's parent run in MLflow, and a child run per ended trial."""

    def __init__(self, plan: Plan, say: Callable[[str], Any], *, starting: bool = True) -> None:
        from mlflow import MlflowClient

        for name in ("mlflow", "alembic"):  # their start-up INFO lines are no news to a user
            logging.getLogger(name).setLevel(logging.WARNING)
        settings = plan.spec.report.mlflow
        assert settings is not None
        self.plan, self.say, self.settings = plan, say, settings
        self.client = MlflowClient(tracking_uri=settings.tracking_uri)
        self.search_id = search_id(plan)
        self.broken = False
        self.experiment_id = self._experiment(settings.experiment_name or plan.spec.experiment.name)
        self.parent_id = self._parent(starting)
        self.logged = self._logged_trials()

    # ------------------------------------------------------------ runs

    def _experiment(self, name: str) -> str:
        from mlflow.exceptions import MlflowException

        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        try:
            return str(self.client.create_experiment(name))
        except MlflowException:  # another search created it meanwhile
            again = self.client.get_experiment_by_name(name)
            if again is None:
                raise
            return str(again.experiment_id)

    def _parent(self, starting: bool) -> str:
        """This search's run: the latest one with its id (a resume, or the search's end), or a
        new one (a new search, or the start of a `tuner.overwrite` one, which starts over)."""
        plan = self.plan
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`ktrun.search_id` = '{self.search_id}' and tags.`ktrun.role` = 'search'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if runs and not (starting and plan.spec.tuner.overwrite):
            run_id = str(runs[0].info.run_id)
            if starting:  # resumed: running again until it ends
                self.client.update_run(run_id, status="RUNNING")
                self.client.set_tag(run_id, "ktrun.status", "running")
            return run_id
        run = self.client.create_run(
            self.experiment_id,
            run_name=plan.spec.experiment.name,
            tags={
                "ktrun.role": "search",
                "ktrun.search_id": self.search_id,
                "ktrun.fingerprint": plan.fingerprint,
                "ktrun.experiment": plan.spec.experiment.name,
                "ktrun.state_dir": str(plan.state_dir)[:TAG_CHARS],
                "ktrun.status": "running",
            },
        )
        from mlflow.entities import Param

        params = [Param(k, v) for k, v in flat(plan.search_config)]
        for part in chunks(params, BATCH_PARAMS):
            self.client.log_batch(run.info.run_id, params=part)
        self.client.log_dict(run.info.run_id, plan.spec.model_dump(mode="json"), "config.json")
        return str(run.info.run_id)

    def _logged_trials(self) -> set[str]:
        """The trial ids this search's run already has a child run for."""
        logged: set[str] = set()
        token: str | None = None
        while True:
            page = self.client.search_runs(
                [self.experiment_id],
                filter_string=f"tags.`mlflow.parentRunId` = '{self.parent_id}'",
                max_results=1000,
                page_token=token,
            )
            logged.update(str(r.data.tags.get("ktrun.trial_id")) for r in page)
            token = page.token
            if not token:
                return logged

    def log_trial(self, record: TrialRecord, history: list[dict[str, Any]] | None) -> None:
        """One ended trial as a child run (once: a trial already logged is left as it is)."""
        if self.broken or record.trial_id in self.logged:
            return
        self._guarded(lambda: self._log_trial(record, history or []))

    def _log_trial(self, record: TrialRecord, history: list[dict[str, Any]]) -> None:
        from mlflow.entities import Metric, Param

        now = int(time.time() * 1000)
        tags = {
            "mlflow.parentRunId": self.parent_id,
            "ktrun.role": "trial",
            "ktrun.search_id": self.search_id,
            "ktrun.trial_id": record.trial_id,
            "ktrun.status": record.status,
            "ktrun.attempts": str(record.attempts),
            "ktrun.failure_class": record.failure_class,
            "ktrun.phase": record.phase,
            "ktrun.exception_type": record.exception_type,
            "ktrun.message": None if record.message is None else record.message[:TAG_CHARS],
        }
        run = self.client.create_run(
            self.experiment_id,
            start_time=now - int((record.seconds or 0) * 1000),
            run_name=f"trial {record.trial_id}",
            tags={k: v for k, v in tags.items() if v is not None},
        )
        run_id = run.info.run_id
        metrics = [Metric(metric_key(k), v, now, step) for k, v, step in epoch_values(history)]
        summary: dict[str, float | int | None] = {
            "score": record.score,
            "best_epoch": record.best_epoch,
            "epochs": record.epochs,
            "seconds": record.seconds,
            **{f"objective.{k}": v for k, v in record.objectives.items()},
        }
        metrics += [Metric(metric_key(k), float(v), now, 0) for k, v in summary.items() if v is not None]
        params = [Param(metric_key(k), param_text(v)) for k, v in record.hyperparameters.items()]
        for part in chunks(metrics, BATCH_METRICS):
            self.client.log_batch(run_id, metrics=part)
        for some in chunks(params, BATCH_PARAMS):
            self.client.log_batch(run_id, params=some)
        self.client.set_terminated(run_id, "FAILED" if record.status == "failed" else "FINISHED", now)
        self.logged.add(record.trial_id)

    def finish(self, outcome: SearchOutcome, files: Sequence[Path]) -> None:
        """The search's end: trials not logged yet, its summary figures, files and best model."""
        histories = trial_histories(self.plan)
        for record in outcome.trials:
            self.log_trial(record, histories.get(record.trial_id))
        if not self.broken:
            self._guarded(lambda: self._finish(outcome, files))

    def _finish(self, outcome: SearchOutcome, files: Sequence[Path]) -> None:
        from mlflow.entities import Metric, RunTag

        now, run_id = int(time.time() * 1000), self.parent_id
        best = outcome.best()
        count = {s: sum(t.status == s for t in outcome.trials) for s in ("completed", "failed", "pruned")}
        figures: dict[str, float | None] = {
            "best_score": None if best is None else best.score,
            "trials": len(outcome.trials),
            **{f"trials_{s}": n for s, n in count.items()},
            "rejected_candidates": sum(outcome.rejected.values()),
            "seconds": outcome.seconds,
        }
        final = outcome.final
        if final is not None and final.error is None:
            figures.update({f"final_test_{k}": v for k, v in final.test.items()})
        tags = {
            "ktrun.status": outcome.status,
            "ktrun.best_trial": None if best is None else best.trial_id,
            "ktrun.reason": outcome.abort_reason or outcome.stop_reason,
        }
        self.client.log_batch(
            run_id,
            metrics=[Metric(metric_key(k), float(v), now, 0) for k, v in figures.items() if v is not None],
            tags=[RunTag(k, v[:TAG_CHARS]) for k, v in tags.items() if v is not None],
        )
        for path in files:
            if path.is_file():
                self.client.log_artifact(run_id, str(path))
        models = [outcome.best_model_path, final.model if final is not None else None]
        if self.settings.log_model:
            for model in models:
                if model is not None and Path(model).is_file():
                    self.client.log_artifact(run_id, model, "model")
        status = RUN_STATUS.get(outcome.status, "KILLED")  # interrupted: it resumes
        self.client.set_terminated(run_id, status, now)

    def _guarded(self, step: Callable[[], None]) -> None:
        """MLflow's errors are said once and end the logging of this process, never the search."""
        try:
            with mlflow_calls():
                step()
        except Exception as e:
            self.broken = True
            self.say(failed_line(self.settings.tracking_uri, e))


#: MLflow retries an unreachable server 7 times with backoff, about 4 minutes per call: ktrun
#: gives up after 2 (seconds), unless the user set these themselves.
HTTP_LIMITS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


@contextlib.contextmanager
def mlflow_calls() -> Iterator[None]:
    """Around ktrun's MLflow calls: ktrun's patience with an unreachable server (`HTTP_LIMITS`),
    and no warnings of what MLflow's store uses that its libraries deprecate (SQLAlchemy 2.1's
    `noload`): they are MLflow's business, and must not become errors where warnings do."""
    added = {k: v for k, v in HTTP_LIMITS.items() if k not in os.environ}
    os.environ.update(added)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def failed_line(uri: str, error: BaseException) -> str:
    """The one line an MLflow error costs (printed as plain text: it may hold brackets)."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return (
        f"warning: MLflow tracking to {uri} stopped: {type(error).__name__}: {first[:300]} "
        "(the search goes on; re-running the same command logs what is missing)"
    )


def trial_histories(plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """Each trial's per-epoch logs, from its latest journal entry (empty where not recorded)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in read_journal(plan.state_dir / JOURNAL):
        history = entry.get("history")
        out[str(entry["trial_id"])] = history if isinstance(history, list) else []
    return out


def open_tracker(plan: Plan, say: Callable[[str], Any], *, starting: bool = True) -> Tracker | None:
    """The search's tracker when `report.mlflow` is set and MLflow answers (None otherwise);
    `starting`: at the search's start (a resume marks its run running again), not its end."""
    if plan.spec.report.mlflow is None:
        return None
    try:
        with mlflow_calls():
            return Tracker(plan, say, starting=starting)
    except Exception as e:  # no store, no server, no package: the search runs without tracking
        say(failed_line(plan.spec.report.mlflow.tracking_uri, e))
        return None


__all__ = ["Tracker", "open_tracker", "search_id", "trial_histories"]
