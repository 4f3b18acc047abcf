"""`report.mlflow`: a real search logged to a real local MLflow store (SQLite), read back with
MLflow's own client: the search a parent run, each trial a child run with its hyperparameters,
per-epoch metrics, status and failure class; the best model an artifact; a resume adds nothing
twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ktrun import pipeline
from tests.conftest import REPO
from tests.integration.test_search import NAN_PRONE, search, write_experiment

pytestmark = [
    pytest.mark.slow,
    pytest.mark.keras,
    pytest.mark.usefixtures("no_plots"),
    # MLflow's own SQLite store uses what SQLAlchemy 2.1 deprecates (ktrun's tracker hides it too).
    pytest.mark.filterwarnings("ignore:.*noload.*:DeprecationWarning"),
]

mlflow = pytest.importorskip("mlflow", reason="the `mlflow` extra is not installed")


def runs(uri: str, experiment: str) -> tuple[Any, list[Any], Any]:
    """The MLflow client, the experiment's runs (parent first) and the parent run."""
    client = mlflow.MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no MLflow experiment {experiment}"
    every = client.search_runs([found.experiment_id], max_results=1000)
    parents = [r for r in every if r.data.tags.get("ktrun.role") == "search"]
    assert len(parents) == 1, [r.data.tags for r in every]
    return client, every, parents[0]


def test_a_search_is_a_parent_run_and_each_trial_a_child_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # MLflow keeps a SQLite store's artifacts under ./mlruns
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    write_experiment(tmp_path, "tracked", NAN_PRONE)
    overrides = [
        "+experiment=tracked",
        "tuner=grid",
        "tuner.max_trials=2",
        "+pin.units=16",  # two trials: relu completes, exponential fails with NaN
        "fit.epochs=2",
        "failure_policy.max_failed_fraction=1.0",
        f"+report.mlflow.tracking_uri={uri}",
    ]
    # As if the search were killed once its trials ended: the search's own end is never logged.
    track = pipeline._track
    monkeypatch.setattr(pipeline, "_track", lambda *args: None)
    rc, summary, _ = search(tmp_path, *overrides, extra=[tmp_path])
    assert rc == 0 and summary["trials"] == {**summary["trials"], "completed": 1, "failed": 1}

    client, every, parent = runs(uri, "tracked")
    children = [r for r in every if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(every) == 3 and len(children) == 2  # each logged as it ended
    assert parent.info.status == "RUNNING" and parent.data.tags["ktrun.status"] == "running"
    by_act = {r.data.params["act"]: r for r in children}
    assert set(by_act) == {"relu", "exponential"}

    done = by_act["relu"]
    assert done.info.status == "FINISHED" and done.data.tags["ktrun.status"] == "completed"
    assert done.data.params["units"] == "16"
    history = client.get_metric_history(done.info.run_id, "val_accuracy")
    assert [m.step for m in history] == [0, 1]  # one value per epoch
    assert len(client.get_metric_history(done.info.run_id, "loss")) == 2
    assert done.data.metrics["score"] == pytest.approx(summary["best"]["score"])

    failed = by_act["exponential"]
    assert failed.info.status == "FAILED"
    assert failed.data.tags["ktrun.status"] == "failed"
    assert failed.data.tags["ktrun.failure_class"] == "nan"
    assert "non-finite" in failed.data.tags["ktrun.message"]

    # The same command again resumes the search: the same parent run, finished now, no trial twice.
    monkeypatch.setattr(pipeline, "_track", track)
    rc, summary, _ = search(tmp_path, *overrides, extra=[tmp_path], run="run2")
    assert rc == 0
    client, again, parent = runs(uri, "tracked")
    assert [r.info.run_id for r in again if r.data.tags["ktrun.role"] == "search"] == [parent.info.run_id]
    assert len(again) == 3
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["ktrun.status"] == "completed"
    assert parent.data.tags["ktrun.best_trial"] == summary["best"]["trial_id"]
    assert parent.data.metrics["best_score"] == pytest.approx(summary["best"]["score"])
    assert parent.data.metrics["trials_completed"] == 1 and parent.data.metrics["trials_failed"] == 1
    assert parent.data.params["tuner.algorithm"] == "grid"
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    expected = {"summary.json", "trials.csv", "report.md", "best_hparams.yaml", "config.json", "model"}
    assert expected <= artifacts
    assert [a.path for a in client.list_artifacts(parent.info.run_id, "model")] == ["model/best_model.keras"]
    logged = client.download_artifacts(parent.info.run_id, "summary.json", str(tmp_path / "back"))
    assert json.loads(Path(logged).read_text()) == summary


def test_an_isolated_search_is_logged_by_its_chief(tmp_path: Path) -> None:
    """`runtime.isolation: process`: workers train and journal, the chief's oracle logs each
    trial as it ends, a worker's death (failure class `crash`, recorded by the chief) included."""
    from tests.integration.test_isolation import experiment
    from tests.integration.test_isolation import search as search_isolated

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)  # an experiment of the user's, with its artifact store
    client.create_experiment("team-runs", artifact_location=(tmp_path / "artifacts").as_uri())
    experiment(tmp_path, ["none", "exit"], [16])
    rc, summary, out = search_isolated(
        tmp_path,
        tmp_path,
        "tracked",
        "tuner.max_trials=2",
        "runtime.isolation=process",
        f"+report.mlflow.tracking_uri={uri}",
        "+report.mlflow.experiment_name=team-runs",
    )
    assert rc == 0 and summary["trials"]["completed"] == 1 and summary["trials"]["failed"] == 1, out[-3000:]
    assert "MLflow tracking" not in out, out[-3000:]
    client, every, parent = runs(uri, "team-runs")
    children = {r.data.params["fate"]: r for r in every if r.data.tags["ktrun.role"] == "trial"}
    assert set(children) == {"none", "exit"} and len(every) == 3
    assert children["exit"].data.tags["ktrun.failure_class"] == "crash"
    assert len(client.get_metric_history(children["none"].info.run_id, "val_accuracy")) == 1
    assert parent.info.status == "FINISHED"
    assert (tmp_path / "artifacts").is_dir() and not (REPO / "mlruns").exists()
