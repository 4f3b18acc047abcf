"""Keras Tuner's chief/worker engine on loopback: `distributed.workers=N`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.keras]


def _launch(tmp_path: Path, trials: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ktrun.cli",
            "distributed.workers=2",
            "+data.limit=300",
            "fit.epochs=1",
            f"tuner.max_trials={trials}",
            f"tuner.state_dir={tmp_path / 'state'}",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=REPO,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def test_chief_and_two_workers_complete_the_budget_though_a_worker_is_killed(tmp_path: Path) -> None:
    """One search: every planned trial ends once, in one set of results, and a worker killed
    mid-search is restarted under the same id (a search with a kill is the clean path plus one)."""
    proc = _launch(tmp_path, 6)
    pids_file, journal_glob = tmp_path / "run" / "workers.json", "*/ktrun_journal.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        done = sum(len(p.read_text().splitlines()) for p in (tmp_path / "state").glob(journal_glob))
        if pids_file.is_file() and done >= 2:
            break
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        time.sleep(0.2)
    victim = json.loads(pids_file.read_text())["tuner0"]
    os.kill(victim, signal.SIGKILL)  # mid-search, most likely mid-trial
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    assert "worker tuner0 exited with -9; restarting it" in out
    # ktrun's own progress (from the chief, which sees every worker's trials), not Keras Tuner's
    progress = re.findall(r"^trial \d+ \((\d+)/6\): val_accuracy=", out, re.MULTILINE)
    assert progress == [str(i) for i in range(1, 7)], out[-3000:]
    assert "Search: Running Trial" not in out and "So Far" not in out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["trials"]["completed"] == 6 and summary["trials"]["failed"] == 0
    assert (tmp_path / "run" / "best_model.keras").is_file()
    journal = (tmp_path / "state").glob(journal_glob)
    ended = [json.loads(line) for path in journal for line in path.read_text().splitlines()]
    assert len({e["trial_id"] for e in ended if e["status"] == "completed"}) == 6


@pytest.mark.parametrize(
    ("workers", "policy", "reason"),
    [
        # A worker's failure class reaches the chief (one worker is enough to tell; stopping
        # the others is the next case's)
        (1, ["failure_policy.nan=abort"], "failure_policy.nan is abort"),
        (  # every trial NaNs and is skipped: the chief sees the streak across both workers
            2,
            ["failure_policy.nan=skip", "failure_policy.max_consecutive_failures=2"],
            "consecutive failed trials (failure_policy.max_consecutive_failures=2)",
        ),
    ],
)
def test_an_abort_on_a_worker_stops_the_whole_search(
    tmp_path: Path, workers: int, policy: list[str], reason: str
) -> None:
    from tests.integration.test_search import NAN_PRONE, write_experiment

    write_experiment(tmp_path, "nanprone", NAN_PRONE)
    proc = run_cli(
        "--config-dir",
        str(tmp_path),
        "+experiment=nanprone",
        f"distributed.workers={workers}",
        "+data.limit=300",
        "fit.epochs=1",
        "tuner=grid",
        "tuner.max_trials=4",
        "+pin.act=exponential",
        *policy,
        f"tuner.state_dir={tmp_path / 'state'}",
        f"hydra.run.dir={tmp_path / 'run'}",
        env={"TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=600,
    )
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "aborted", proc.stdout[-3000:]
    assert reason in summary["abort_reason"]
    assert proc.returncode == 1


def test_stop_kills_what_ignores_termination_after_its_grace() -> None:
    """A worker restarted as the search ends can outlive a polite stop: the launcher kills it."""
    from ktrun.runtime.distributed import stop

    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
    )
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    assert stubborn.stdout is not None and stubborn.stdout.readline() == b"ready\n"
    started = time.monotonic()
    stop([stubborn, polite], grace=1.0)
    assert time.monotonic() - started < 10
    assert polite.returncode == -signal.SIGTERM
    assert stubborn.returncode == -signal.SIGKILL
    stubborn.stdout.close()
