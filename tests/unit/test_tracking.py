"""`report.mlflow` before anything runs: the tracking URIs `check` accepts (statically: it never
contacts them, creates their file or imports MLflow), what it says where MLflow is missing, and
the journal's per-epoch logs as the trial runs get them."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml

from ktrun.checks.tracking import MAX_URI, MLFLOW_EXTRA, shown, uri_problem
from ktrun.pipeline import check_one
from ktrun.runtime.tracking import epoch_values, flat, metric_key
from ktrun.spec.experiment import TRACKING_URI_PATTERN, ReportSpec
from tests.conftest import REPO

ACCEPTED = [
    "sqlite:///mlflow.db",
    "sqlite:////abs/path/mlflow.db",
    "http://127.0.0.1:5000",
    "https://mlflow.example.org/tracking",
    "databricks",
    "databricks://my-profile",
]
#: URI → a piece of why it is refused.
REFUSED = {
    "mlruns": "file store",
    "./mlruns": "file store",
    "file:///tmp/mlruns": "file store",
    "sqlite://": "no SQLite file",
    "sqlite:///:memory:": "no SQLite file",
    "http://user:secret@host:5000": "credentials",
    "http://": "no host",
    "http://host:port": "no valid address",
    "postgresql://user@db/mlflow": "`postgresql:`",
    "ftp://host/x": "`ftp:`",
    "databricks://": "no Databricks address",
    "http://host/\nx": "control characters",
    "sqlite:///" + "a" * 3000: "characters long",
}


@pytest.mark.parametrize("uri", ACCEPTED)
def test_accepted_uris(uri: str) -> None:
    assert uri_problem(uri) is None
    assert re.fullmatch(TRACKING_URI_PATTERN, uri), "the JSON Schema's pattern must accept it too"


@pytest.mark.parametrize("uri", sorted(REFUSED))
def test_refused_uris_say_why(uri: str) -> None:
    refused = uri_problem(uri)
    assert refused is not None and REFUSED[uri] in refused[0], refused
    if uri != "http://host:port" and len(uri) < MAX_URI:  # a port's digits: beyond a pattern's reach
        assert not re.fullmatch(TRACKING_URI_PATTERN, uri), "the JSON Schema's pattern must refuse it too"


def test_messages_never_show_credentials() -> None:
    assert shown("https://user:secret@host:5000/x") == "https://***@host:5000/x"
    report = check_one(["+report.mlflow.tracking_uri=https://user:secret@host"])
    (problem,) = [p for p in report.problems if p.code == "tracking-uri-invalid"]
    assert problem.path == ("report", "mlflow", "tracking_uri")
    assert "secret" not in problem.message and "MLFLOW_TRACKING_PASSWORD" in problem.hint


def test_check_says_how_to_install_mlflow_where_it_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what find_spec answers for a missing package
    report = check_one(["+report.mlflow.tracking_uri=sqlite:///mlflow.db"])
    (problem,) = [p for p in report.problems if p.code == "tracking-needs-mlflow"]
    assert problem.path == ("report", "mlflow")
    assert "pip install 'mlflow-skinny>=3,<4'" in problem.hint and "`mlflow` extra" in problem.hint


def test_the_install_hint_is_the_mlflow_extra() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    assert tuple(extras["mlflow"]) == MLFLOW_EXTRA
    assert set(MLFLOW_EXTRA) <= set(extras["dev"]), "the tests log to a real MLflow store"


def test_check_never_imports_mlflow_nor_touches_the_store(tmp_path: Path) -> None:
    """An untrusted config's URI is only read: no MLflow import, no database file, no request."""
    db = tmp_path / "mlflow.db"
    code = (
        "import sys\nfrom ktrun.pipeline import check_one\n"
        f"r = check_one(['+report.mlflow.tracking_uri=sqlite:///{db}'])\n"
        "print(sorted(p.code for p in r.errors), 'mlflow' in sys.modules, 'sqlalchemy' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[]", "False", "False"], proc.stdout
    assert not db.exists() and list(tmp_path.iterdir()) == []


def test_a_trial_s_epochs_become_metric_steps() -> None:
    history = [{"step": 0, "loss": 1.5, "val_accuracy": 0.25}, {"step": 1, "loss": 1.0, "val_accuracy": 0.5}]
    assert list(epoch_values(history)) == [
        ("loss", 1.5, 0),
        ("val_accuracy", 0.25, 0),
        ("loss", 1.0, 1),
        ("val_accuracy", 0.5, 1),
    ]
    # A damaged journal line's junk is skipped, never a reason to stop logging.
    assert list(epoch_values(["x", {"step": "?", "loss": 1.0}, {"step": 2, "loss": "nan?"}])) == []


def test_the_config_becomes_dotted_params() -> None:
    config = {"tuner": {"algorithm": "grid", "max_trials": 4}, "constraints": ["a <= b"], "pin": {}}
    assert dict(flat(config)) == {
        "tuner.algorithm": "grid",
        "tuner.max_trials": "4",
        "constraints": '["a <= b"]',
        "pin": "{}",
    }
    assert metric_key("val_out[0]:acc") == "val_out_0__acc"


def test_the_readme_example_checks_cleanly() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(report:\n  mlflow:\n.*?)```", text, re.S)
    assert block is not None, "README: the MLflow tracking example is gone"
    section = yaml.safe_load(block.group(1))["report"]
    ReportSpec.model_validate(section)
    assert uri_problem(section["mlflow"]["tracking_uri"]) is None


def test_an_unreachable_server_costs_one_warning_and_seconds(tmp_path: Path) -> None:
    """MLflow alone would retry for about 4 minutes per call; the search goes on without it."""
    pytest.importorskip("mlflow")
    from ktrun.compiler.plan import compile_plan
    from ktrun.runtime.tracking import open_tracker

    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        uri = f"http://127.0.0.1:{closed.getsockname()[1]}"
        report = check_one([f"+report.mlflow.tracking_uri={uri}", f"tuner.state_dir={tmp_path}"])
        assert report.checked is not None, report.problems
        said: list[str] = []
        started = time.monotonic()
        assert open_tracker(compile_plan(report.checked), said.append) is None
    assert time.monotonic() - started < 60
    assert len(said) == 1 and said[0].startswith(f"warning: MLflow tracking to {uri} stopped: "), said
    assert "re-running the same command logs what is missing" in said[0]
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ  # ktrun's limits were its calls' only
