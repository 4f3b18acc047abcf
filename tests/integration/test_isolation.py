"""`runtime.isolation: process`: trials in forked, recycled worker processes; a worker's death
fails only its trial (class `crash`); N workers train N trials at once.

Each search runs as the real command line (the launcher forks, which the test process must not).
The custom layer below ends its own process as its `fate` hyperparameter says, while the model
is built: a segfault, `os._exit(1)`, or SIGKILL as the kernel's OOM killer sends it.
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.keras]

LAYER = """
import os
import signal

import keras


@keras.saving.register_keras_serializable(package="ktrun_fated")
class Fated(keras.layers.Layer):
    def __init__(self, units, fate="none", **kwargs):
        super().__init__(**kwargs)
        with open(os.path.join(os.path.dirname(__file__), "pids.txt"), "a") as fh:
            fh.write(f"{os.getpid()} {os.environ.get('KERASTUNER_TUNER_ID', '-')}\\n")
        if fate == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        elif fate == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif fate == "exit":
            os._exit(1)
        self.units, self.fate = units, fate
        self.dense = keras.layers.Dense(units, activation="relu")

    def call(self, x):
        return self.dense(x)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "fate": self.fate}
"""


def experiment(conf: Path, fates: list[str], units: list[int]) -> None:
    code = conf / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / "ktrun_fated.py").write_text(LAYER)
    (conf / "experiment").mkdir(exist_ok=True)
    (conf / "experiment" / "fated.yaml").write_text(
        f"""# @package _global_
defaults:
  - override /data: digits
  - override /model: none
  - override /tuner: grid
experiment: {{name: fated}}
custom_objects:
  paths: [{code}]
  layers: {{Fated: "ktrun_fated:Fated"}}
hyperparameters:
  fate: {{type: choice, values: {json.dumps(fates)}}}
  units: {{type: choice, values: {units}}}
model:
  layers:
    - {{type: Flatten}}
    - {{type: custom, layer: Fated, units: $units, fate: $fate, output_shape: [$units]}}
    - {{type: Dense, units: 10, activation: softmax}}
failure_policy: {{max_consecutive_failures: 10, max_failed_fraction: 1.0}}
"""
    )


def search(conf: Path, tmp: Path, run: str, *overrides: str) -> tuple[int, dict[str, Any], str]:
    proc = run_cli(
        "--config-dir",
        str(conf),
        "+experiment=fated",
        "+data.limit=300",
        "fit.epochs=1",
        f"tuner.state_dir={tmp / run / 'state'}",
        f"hydra.run.dir={tmp / run / 'run'}",
        *overrides,
        env={"TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )
    summary = tmp / run / "run" / "summary.json"
    assert summary.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.returncode, json.loads(summary.read_text()), proc.stdout


def trials(tmp: Path, run: str) -> list[dict[str, str]]:
    with open(tmp / run / "run" / "trials.csv") as fh:
        return list(csv.DictReader(fh))


def worker_pids(conf: Path) -> list[int]:
    """The process of every model build by a worker (the chief builds the best model at the end)."""
    lines = (conf / "code" / "pids.txt").read_text().split("\n")
    return [int(pid) for pid, who in (ln.split() for ln in lines if ln) if who.startswith("tuner")]


def test_isolated_search_gives_the_in_process_results_in_recycled_workers(tmp_path: Path) -> None:
    """Trials are seeded by the search's seed and their id, so a worker process that is replaced
    every two trials trains each one exactly as one process does."""
    experiment(tmp_path, ["none"], [8, 16, 24, 32])
    rc, inprocess, _ = search(tmp_path, tmp_path, "inprocess", "tuner.max_trials=4")
    assert rc == 0 and inprocess["trials"]["completed"] == 4
    (tmp_path / "code" / "pids.txt").unlink()
    rc, isolated, _ = search(
        tmp_path,
        tmp_path,
        "isolated",
        "tuner.max_trials=4",
        "runtime.isolation=process",
        "runtime.recycle_after=2",
    )
    assert rc == 0 and isolated["status"] == "completed"
    assert isolated["trials"] == inprocess["trials"] and isolated["best"] == inprocess["best"]
    keys = ("trial_id", "status", "score", "units")
    assert [{k: t[k] for k in keys} for t in trials(tmp_path, "isolated")] == [
        {k: t[k] for k in keys} for t in trials(tmp_path, "inprocess")
    ]
    pids = worker_pids(tmp_path)
    assert len(pids) == 4 and len(set(pids)) == 2  # two trials per worker process
    assert (tmp_path / "isolated" / "run" / "best_model.keras").is_file()


def test_a_worker_that_dies_fails_only_its_trial_as_crash(tmp_path: Path) -> None:
    """A segfault, os._exit(1) and SIGKILL (the OOM killer's signal) each fail one trial as
    `crash` under the default policy (skip); a fresh worker runs the rest of the budget."""
    experiment(tmp_path, ["none", "segv", "exit", "kill"], [16])
    rc, summary, out = search(tmp_path, tmp_path, "crash", "tuner.max_trials=4", "runtime.isolation=process")
    assert rc == 0 and summary["status"] == "completed", out[-3000:]
    assert summary["trials"]["completed"] == 1 and summary["trials"]["failed"] == 3
    assert summary["trials"]["failed_by_reason"]["crash"] == 3
    by_fate = {t["fate"]: t for t in trials(tmp_path, "crash")}
    assert by_fate["none"]["status"] == "completed"
    assert {f: by_fate[f]["failure_class"] for f in ("segv", "exit", "kill")} == dict.fromkeys(
        ("segv", "exit", "kill"), "crash"
    )
    journal = next((tmp_path / "crash" / "state").glob("*/ktrun_journal.jsonl")).read_text().splitlines()
    messages = {e["hyperparameters"]["fate"]: e["message"] for e in map(json.loads, journal)}
    assert "killed by SIGSEGV" in messages["segv"]
    assert "exited with code 1" in messages["exit"]
    assert "killed by SIGKILL" in messages["kill"] and "OOM killer" in messages["kill"]
    pids = worker_pids(tmp_path)  # in grid order: none and segv in the first worker, then one each
    assert len(pids) == 4 and len(set(pids)) == 3 and pids[0] == pids[1]


def test_crash_abort_ends_the_search_aborted(tmp_path: Path) -> None:
    experiment(tmp_path, ["none", "segv"], [16])
    rc, summary, out = search(
        tmp_path,
        tmp_path,
        "abort",
        "tuner.max_trials=2",
        "runtime.isolation=process",
        "failure_policy.crash=abort",
    )
    assert rc == 1 and summary["status"] == "aborted", out[-3000:]
    assert "failed with crash and failure_policy.crash is abort" in summary["abort_reason"]
    assert "SIGSEGV" in summary["abort_reason"]
    assert summary["trials"]["failed_by_reason"]["crash"] == 1


def test_two_workers_train_the_budget_in_parallel(tmp_path: Path) -> None:
    experiment(tmp_path, ["none"], [8, 16, 24, 32])
    rc, summary, out = search(
        tmp_path,
        tmp_path,
        "parallel",
        "tuner.max_trials=4",
        "runtime.isolation=process",
        "runtime.workers=2",
        "runtime.recycle_after=1",
    )
    assert rc == 0 and summary["status"] == "completed", out[-3000:]
    assert summary["trials"]["completed"] == 4
    lines = (tmp_path / "code" / "pids.txt").read_text().split()
    assert {"tuner0", "tuner1"} <= set(lines[1::2])  # both workers trained
    assert len(set(worker_pids(tmp_path))) == 4  # a fresh process for every trial
    assert sorted(t["units"] for t in trials(tmp_path, "parallel")) == ["16", "24", "32", "8"]


@pytest.mark.keras
def test_a_launcher_that_fails_ends_its_chief(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception in the launcher's watch loop (a bug like the `say(..., highlight=)` one) once
    left the forked chief running on its own, holding its memory and the search's lock."""
    from ktrun.runtime import isolation
    from ktrun.spec.experiment import RuntimeSpec

    def broken(*args: object) -> int:
        raise RuntimeError("a bug in the launcher")

    forked: list[int] = []
    fork = isolation._fork

    def recorded(*args: Any, **kwargs: Any) -> int:
        forked.append(fork(*args, **kwargs))
        return forked[-1]

    monkeypatch.setattr(isolation, "_run", broken)
    monkeypatch.setattr(isolation, "_fork", recorded)
    with pytest.raises(RuntimeError, match="a bug in the launcher"):
        isolation.launch(
            lambda where: time.sleep(600) or 0,  # type: ignore[func-returns-value]
            run_dir=tmp_path / "run",
            state_dir=tmp_path / "state",
            runtime=RuntimeSpec(),
            say=print,
        )
    (chief,) = forked
    with pytest.raises(ChildProcessError):  # ended and reaped, not left running
        os.waitpid(chief, os.WNOHANG)
