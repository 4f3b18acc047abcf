"""Crash safety under repeated SIGKILLs at random moments: nothing that finished is lost or re-run.

`test_resume.py` kills a search once, at a calm moment. Real searches meet kills anywhere (the OOM
killer, a preempted job, Ctrl-C twice): while a model trains, while Keras Tuner and ktrun write a
trial's state, between trials. This test kills the same search again and again at seeded random
moments, re-running it each time, and checks after every kill that the state is readable and every
trial that had completed is still there with the same score, then that a last run finishes exactly
the planned budget. Set `KTRUN_CRASH_LOOP_SEED` to replay or vary a schedule. Each run is a real
process (its own pid and process group, killed whole), forked from an interpreter that imported
TensorFlow once (`tests/zygote.py`).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.zygote import Zygote

pytestmark = [pytest.mark.slow, pytest.mark.keras]

SEED = int(os.environ.get("KTRUN_CRASH_LOOP_SEED", "20250611"))
MAX_TRIALS = 8
KILLS = 5
WAIT_SECONDS = 150.0  # per wait

# What each kill waits for (something new since the process started, so every cycle makes
# progress), and the random delay after it: where the kill lands.
TRIGGERS: dict[str, tuple[float, float]] = {
    "begin": (0.0, 1.0),  # a new trial directory: the trial builds or trains
    "written": (0.0, 0.03),  # a new journal entry: trial.json, oracle.json, tuner0.json being written
    "completed": (0.0, 2.0),  # a newly completed trial.json: between trials, or in the next one
}


@dataclass
class Kill:
    """One planned kill and, once it happened, where it landed."""

    cycle: int
    trigger: str
    delay: float
    seconds_after_start: float | None = None
    completed_before: int | None = None
    completed_after: int | None = None
    capped: bool = False

    def __str__(self) -> str:
        where = (
            "not yet"
            if self.seconds_after_start is None
            else f"at {self.seconds_after_start:.2f}s, completed {self.completed_before}→"
            f"{self.completed_after}{' (capped: 2nd completion)' if self.capped else ''}"
        )
        return f"#{self.cycle} after `{self.trigger}` + {self.delay:.3f}s: {where}"


def _trial_files(state: Path) -> list[Path]:
    return sorted(state.glob("*/trial_*/trial.json"))


def _completed(state: Path, *, strict: bool) -> dict[str, float]:
    """Completed trial id → score. Lenient while a process runs, strict once it is dead."""
    out: dict[str, float] = {}
    for path in _trial_files(state):
        try:
            trial = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            if strict:
                raise
            continue
        if trial["status"] == "COMPLETED":
            out[str(trial["trial_id"])] = float(trial["score"])
    return out


def _trial_dirs(state: Path) -> set[str]:
    return {p.name for p in state.glob("*/trial_*") if p.is_dir()}


def _journal_size(state: Path) -> int:
    return sum(p.stat().st_size for p in state.glob("*/ktrun_journal.jsonl"))


def _runs(state: Path) -> Counter[str]:
    """How many times each trial was trained to its end: ktrun journals every run of a trial.

    Scores alone cannot show a re-run here (training on CPU is deterministic, a re-run scores
    the same); the journal can.
    """
    runs: Counter[str] = Counter()
    for path in state.glob("*/ktrun_journal.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                runs[str(json.loads(line)["trial_id"])] += 1
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return runs


def _unreadable_state(state: Path) -> list[str]:
    """State files a kill left unreadable: any JSON file, and any finished journal line.

    Keras Tuner writes `build_config.json` itself, in place, before the trial ends; only a trial
    still in flight (which a re-run trains again) may have it torn.
    """
    completed_dirs = {f"trial_{trial_id}" for trial_id in _completed(state, strict=False)}
    bad = []
    for path in sorted(state.rglob("*.json")):
        if path.name == "build_config.json" and path.parent.name not in completed_dirs:
            continue
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            bad.append(f"{path.relative_to(state)}: {e!r} ({path.stat().st_size} bytes)")
    for path in state.glob("*/ktrun_journal.jsonl"):
        # A torn last line is allowed (and skipped); a torn line in the middle loses an entry.
        for n, line in enumerate(path.read_text(encoding="utf-8").split("\n")[:-1], 1):
            try:
                json.loads(line)
            except json.JSONDecodeError as e:
                bad.append(f"{path.relative_to(state)}:{n}: {e!r}: {line[:120]!r}")
    return bad


def _cli(state: Path, run_dir: Path) -> list[str]:
    return [
        "+data.limit=300",
        "fit.epochs=1",
        f"tuner.max_trials={MAX_TRIALS}",
        f"tuner.state_dir={state}",
        f"hydra.run.dir={run_dir}",
    ]


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-3000:] if log.is_file() else ""


def _run_and_kill(
    zygote: Zygote, state: Path, run_dir: Path, log: Path, kill: Kill, why: Callable[[], str]
) -> None:
    """Start the search, wait for the kill's trigger, sleep its delay, SIGKILL it; fill in `kill`.

    Every wait has a deadline, and a process that exits on its own fails the test: the search
    must neither crash on resume nor finish before the last planned kill.
    """
    before = _completed(state, strict=True)
    dirs, journal = _trial_dirs(state), _journal_size(state)
    triggers: dict[str, Callable[[], bool]] = {
        "begin": lambda: bool(_trial_dirs(state) - dirs),
        "written": lambda: _journal_size(state) > journal,
        "completed": lambda: bool(_completed(state, strict=False).keys() - before.keys()),
    }
    interval = 0.002 if kill.trigger == "written" else 0.05
    proc = zygote.start(*_cli(state, run_dir), out=log)  # it leads its own process group
    started = time.monotonic()
    try:
        deadline = started + WAIT_SECONDS
        while not triggers[kill.trigger]():
            if proc.poll() is not None:
                pytest.fail(
                    f"the search exited ({proc.returncode}) before kill {kill}\n{why()}\n{_tail(log)}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"no `{kill.trigger}` within {WAIT_SECONDS}s for kill {kill}\n{why()}")
            time.sleep(interval)
        # The delay, cut short at a second new completion: at most one new completed trial per
        # cycle, so the search cannot end before the last kill on a faster machine.
        until = time.monotonic() + kill.delay
        while time.monotonic() < until:
            if len(_completed(state, strict=False).keys() - before.keys()) >= 2:
                kill.capped = True
                break
            time.sleep(min(0.05, max(0.0, until - time.monotonic())))
        if proc.poll() is not None:
            pytest.fail(f"the search exited ({proc.returncode}) before kill {kill}\n{why()}\n{_tail(log)}")
        proc.kill_group()
        kill.seconds_after_start = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill_group()
        proc.wait(timeout=30)
    kill.completed_before = len(before)
    kill.completed_after = len(_completed(state, strict=False))


def test_repeated_sigkills_at_random_moments_lose_nothing_that_finished(
    tmp_path: Path, zygote: Zygote
) -> None:
    """Kill, re-run, repeat; then the last run must complete exactly `MAX_TRIALS` trials."""
    rng = random.Random(SEED)
    names = [*TRIGGERS, *rng.choices(list(TRIGGERS), k=KILLS - len(TRIGGERS))]
    rng.shuffle(names)
    kills = [Kill(n, t, rng.uniform(*TRIGGERS[t])) for n, t in enumerate(names, 1)]
    state = tmp_path / "state"
    snapshots: list[dict[str, float]] = []
    seen: dict[str, float] = {}  # every trial ever seen completed, with its first score
    runs_when_seen: dict[str, int] = {}  # ... and how many runs the journal had for it then

    def why() -> str:
        return f"seed {SEED} (KTRUN_CRASH_LOOP_SEED), kills:\n  " + "\n  ".join(map(str, kills))

    print(why())
    t0 = time.monotonic()
    for kill in kills:
        _run_and_kill(
            zygote, state, tmp_path / f"run{kill.cycle}", tmp_path / f"run{kill.cycle}.log", kill, why
        )
        bad = _unreadable_state(state)
        assert not bad, f"kill #{kill.cycle} left unreadable state: {bad}\n{why()}"
        now = _completed(state, strict=True)
        changed = {k: (v, now.get(k)) for k, v in seen.items() if now.get(k) != v}
        assert not changed, (
            f"after kill #{kill.cycle}, completed trials were lost or re-run (id: (score, now)): "
            f"{changed}\n{why()}"
        )
        runs = _runs(state)
        rerun = {k: (n, runs[k]) for k, n in runs_when_seen.items() if runs[k] != n}
        assert not rerun, (
            f"after kill #{kill.cycle}, completed trials were trained again (id: (runs when seen "
            f"completed, runs now)): {rerun}\n{why()}"
        )
        for trial_id, score in now.items():
            seen.setdefault(trial_id, score)
            runs_when_seen.setdefault(trial_id, runs[trial_id])
        snapshots.append(now)
    print(why())

    final_dir = tmp_path / "final"
    final = zygote.run(*_cli(state, final_dir), cwd=tmp_path)
    out = final.stdout[-3000:]
    assert final.returncode == 0, f"{out}\n{why()}"
    assert "resuming" in final.stdout, f"{out}\n{why()}"
    assert not _unreadable_state(state), why()

    scores = _completed(state, strict=True)
    ids = [str(json.loads(p.read_text(encoding="utf-8"))["trial_id"]) for p in _trial_files(state)]
    assert len(ids) == len(set(ids)) == MAX_TRIALS, f"trial ids {ids}\n{why()}"
    assert sorted(scores) == sorted(ids), f"not every trial completed: {scores} of {ids}\n{why()}"
    for n, snapshot in enumerate(snapshots, 1):
        assert {k: scores.get(k) for k in snapshot} == snapshot, f"snapshot after kill #{n}\n{why()}"
    runs = _runs(state)
    rerun = {k: (n, runs[k]) for k, n in runs_when_seen.items() if runs[k] != n}
    assert not rerun, f"the last run trained completed trials again (id: (runs, now)): {rerun}\n{why()}"

    summary: dict[str, Any] = json.loads((final_dir / "summary.json").read_text(encoding="utf-8"))
    trials = summary["trials"]
    assert trials["completed"] + trials["failed"] == MAX_TRIALS, f"{trials}\n{why()}"
    assert trials["completed"] == MAX_TRIALS, f"{trials}\n{why()}"
    assert summary["status"] == "completed", f"{summary}\n{why()}"
    assert summary["objective"] == {"name": "val_accuracy", "direction": "max"}
    assert summary["best"]["score"] == max(scores.values()), f"{summary['best']} vs {scores}\n{why()}"
    assert summary["best"]["trial_id"] in scores
    print(f"{len(kills)} kills and the final run took {time.monotonic() - t0:.1f}s")
