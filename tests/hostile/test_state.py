"""Hostile state: damaged state files, locks, full and read-only disks, signals, code that exits.

One tiny search (2 completed trials) runs once per module; each damage case gets its own copy of
its state directory, damages one file one way and re-runs the same search with a budget of 3.
Every case asserts the exit code, no traceback, the message naming the damaged file or the cause,
and for fault cases that nothing completed was lost or trained again: trials 0 and 1 keep their
scores, the journal holds one `completed` entry per trial id, and the budget is exactly 3.

The runs are real processes, forked from one interpreter that imported TensorFlow once
(`tests/zygote.py`), several at once where a case needs a second run while the first holds its lock.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hostile.expect import clean_exit
from tests.zygote import Zygote

pytestmark = [pytest.mark.slow, pytest.mark.keras]

TINY = ["fit.epochs=1", "+data.limit=200"]
SHORT_THEN_LONG = [
    "tuner=grid",
    "+hyperparameters.n_epochs={type: choice, values: [1, 5]}",
    "fit.epochs=$n_epochs",
    "fit.batch_size=1",  # long in steps, not epochs: an epoch ends with a validation pass
    "+pin.units=16",
    "+pin.dropout=0.0",
    "+pin.learning_rate=0.001",
]


@dataclass
class Base:
    root: Path  # tuner.state_dir
    scores: dict[str, float]


@pytest.fixture(scope="module")
def base(zygote: Zygote, tmp_path_factory: pytest.TempPathFactory) -> Base:
    """The tiny completed search every case starts from (2 trials)."""
    tmp = tmp_path_factory.mktemp("base")
    proc = zygote.run(
        *TINY,
        "tuner.max_trials=2",
        f"tuner.state_dir={tmp / 'state'}",
        f"hydra.run.dir={tmp / 'run'}",
        cwd=tmp,
    )
    clean_exit(proc, 0)
    scores = _scores(tmp / "state")
    assert sorted(scores) == ["0", "1"], scores
    return Base(tmp / "state", scores)


def _state_dir(root: Path) -> Path:
    (found,) = [p for p in root.iterdir() if p.is_dir()]
    return found


def _scores(root: Path) -> dict[str, float]:
    out = {}
    for path in root.glob("*/trial_*/trial.json"):
        trial = json.loads(path.read_text())
        if trial["status"] == "COMPLETED":
            out[trial["trial_id"]] = trial["score"]
    return out


def _completed_runs(root: Path) -> Counter[str]:
    journal = _state_dir(root) / "ktrun_journal.jsonl"
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    return Counter(e["trial_id"] for e in entries if e["status"] == "completed")


def _copy(base: Base, tmp: Path) -> Path:
    root = tmp / "state"
    shutil.copytree(base.root, root)
    (_state_dir(root) / "ktrun.lock").unlink(missing_ok=True)
    return root


def _assert_nothing_lost(base: Base, root: Path, run: Path, total: int = 3) -> None:
    summary = json.loads((run / "summary.json").read_text())
    assert summary["trials"]["completed"] == total and summary["trials"]["failed"] == 0, summary["trials"]
    assert len((run / "trials.csv").read_text().splitlines()) == total + 1
    now = _scores(root)
    assert {k: now[k] for k in base.scores} == base.scores  # completed trials kept their scores
    assert _completed_runs(root) == Counter({str(i): 1 for i in range(total)})  # none trained twice


# --------------------------------------------------------------------------------- damage

Damage = Callable[[Path], None]


def _write(data: bytes) -> Damage:
    return lambda path: path.write_bytes(data)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])


def _set(**fields: object) -> Damage:
    def damage(path: Path) -> None:
        data = json.loads(path.read_text())
        data.update(fields)
        path.write_text(json.dumps(data))

    return damage


def _append(data: bytes) -> Damage:
    return lambda path: path.write_bytes(path.read_bytes() + data)


def _insert_line(data: bytes) -> Damage:
    def damage(path: Path) -> None:
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(lines[0] + data + b"\n" + b"".join(lines[1:]))

    return damage


def _delete(path: Path) -> None:
    path.unlink()


GARBAGE = b"this is not JSON {{{"
NOT_UTF8 = b"\xff\xfe\x00\x9c garbage \xc3\x28"

CASES: list[tuple[str, str, Damage]] = [
    ("oracle.json", "garbage", _write(GARBAGE)),
    ("oracle.json", "truncated", _truncate),
    ("oracle.json", "empty-object", _write(b"{}")),
    ("oracle.json", "empty-file", _write(b"")),
    ("oracle.json", "a-list", _write(b"[1, 2, 3]")),
    ("oracle.json", "not-utf8", _write(NOT_UTF8)),
    ("oracle.json", "wrong-type-order", _set(end_order=5)),
    ("oracle.json", "wrong-type-hyperparameters", _set(hyperparameters={"space": 5})),
    ("oracle.json", "wrong-type-ids", _set(start_order=[0, 1])),
    ("oracle.json", "missing", _delete),
    ("trial_0/trial.json", "garbage", _write(GARBAGE)),
    ("trial_0/trial.json", "truncated", _truncate),
    ("trial_0/trial.json", "empty-object", _write(b"{}")),
    ("trial_0/trial.json", "a-list", _write(b"[]")),
    ("trial_0/trial.json", "not-utf8", _write(NOT_UTF8)),
    ("trial_1/trial.json", "wrong-type-status", _set(status=5)),
    ("trial_1/trial.json", "wrong-type-score", _set(score="high")),
    ("trial_1/trial.json", "wrong-trial-id", _set(trial_id="7")),
    ("trial_1/trial.json", "wrong-type-hyperparameters", _set(hyperparameters=[1])),
    ("tuner0.json", "garbage", _write(GARBAGE)),
    ("tuner0.json", "truncated", _write(b"{")),
    ("tuner0.json", "a-list", _write(b"[]")),
    ("tuner0.json", "not-utf8", _write(NOT_UTF8)),
    ("ktrun_journal.jsonl", "foreign-list-line", _insert_line(b"[1, 2]")),
    ("ktrun_journal.jsonl", "dict-without-trial-id", _insert_line(b'{"status": "completed"}')),
    ("ktrun_journal.jsonl", "not-utf8-line", _insert_line(NOT_UTF8)),
    ("ktrun_journal.jsonl", "garbage-line", _insert_line(GARBAGE)),
    ("ktrun_journal.jsonl", "torn-last-line", _append(b'{"trial_id": "1", "sta')),
    ("../digits_default.latest.json", "garbage", _write(GARBAGE)),
    ("../digits_default.latest.json", "a-list", _write(b"[]")),
    ("../digits_default.latest.json", "not-utf8", _write(NOT_UTF8)),
    ("../digits_default.latest.json", "wrong-type", _write(b'{"fingerprint": 5, "search_config": 5}')),
]


@pytest.mark.parametrize(
    ("name", "how", "damage"), CASES, ids=[f"{n.split('/')[-1]}-{h}" for n, h, _ in CASES]
)
def test_damaged_state_file_is_set_aside_and_nothing_completed_is_lost(
    zygote: Zygote, base: Base, tmp_path: Path, name: str, how: str, damage: Damage
) -> None:
    root = _copy(base, tmp_path)
    path = (_state_dir(root) / name).resolve()
    damage(path)
    run = tmp_path / "run"
    # The same budget: the repaired search must hold both trials and train nothing again. (The
    # cases below raise it to 3, where going on with the repaired search is the point.)
    proc = zygote.run(
        *TINY, "tuner.max_trials=2", f"tuner.state_dir={root}", f"hydra.run.dir={run}", cwd=tmp_path
    )
    out = " ".join(clean_exit(proc, 0).split())  # Rich wraps long lines
    assert path.name in out, out[-3000:]
    if how != "missing":
        assert "damaged state" in out and list(path.parent.glob(f"{path.name}.damaged-*")), out[-3000:]
    _assert_nothing_lost(base, root, run, total=2)


def test_oracle_and_a_trial_damaged_together(zygote: Zygote, base: Base, tmp_path: Path) -> None:
    root = _copy(base, tmp_path)
    state = _state_dir(root)
    (state / "oracle.json").write_bytes(GARBAGE)
    (state / "trial_1" / "trial.json").write_bytes(NOT_UTF8)
    run = tmp_path / "run"
    proc = zygote.run(
        *TINY, "tuner.max_trials=3", f"tuner.state_dir={root}", f"hydra.run.dir={run}", cwd=tmp_path
    )
    out = " ".join(clean_exit(proc, 0).split())
    assert "oracle.json" in out and "trial.json" in out and "rebuilt completed trial 1" in out
    _assert_nothing_lost(base, root, run)
    # the rebuilt trial keeps the epoch at which it was best (what final.retrain trains for)
    entries = [json.loads(line) for line in (state / "ktrun_journal.jsonl").read_text().splitlines()]
    step = next(e["best_step"] for e in entries if e["trial_id"] == "1" and e["status"] == "completed")
    assert isinstance(step, int)
    assert json.loads((state / "trial_1" / "trial.json").read_text())["best_step"] == step


def test_tuner_file_missing_does_not_restart_the_search(zygote: Zygote, base: Base, tmp_path: Path) -> None:
    """Without tuner0.json Keras Tuner would start over and overwrite oracle.json."""
    root = _copy(base, tmp_path)
    (_state_dir(root) / "tuner0.json").unlink()
    run = tmp_path / "run"
    proc = zygote.run(
        *TINY, "tuner.max_trials=3", f"tuner.state_dir={root}", f"hydra.run.dir={run}", cwd=tmp_path
    )
    clean_exit(proc, 0)
    _assert_nothing_lost(base, root, run)


def test_unfinished_trial_with_a_damaged_file_and_no_journal_is_reported(
    zygote: Zygote, base: Base, tmp_path: Path
) -> None:
    """Nothing holds its values: it is recorded as failed with the way to start over, not dropped."""
    root = _copy(base, tmp_path)
    state = _state_dir(root)
    journal = state / "ktrun_journal.jsonl"
    journal.write_text(journal.read_text().splitlines(keepends=True)[0])  # trial 1 never journaled
    (state / "trial_1" / "trial.json").write_bytes(GARBAGE)
    run = tmp_path / "run"
    proc = zygote.run(
        *TINY, "tuner.max_trials=3", f"tuner.state_dir={root}", f"hydra.run.dir={run}", cwd=tmp_path
    )
    out = " ".join(clean_exit(proc, 0).split())
    assert "trial 1 had not ended" in out
    summary = json.loads((run / "summary.json").read_text())
    assert summary["trials"] == {**summary["trials"], "completed": 2, "failed": 1}
    assert "tuner.overwrite=true" in (run / "trials.csv").read_text()
    assert _scores(root)["0"] == base.scores["0"]


# ----------------------------------------------------------------------------------- lock


def test_a_held_lock_refuses_with_the_holder(zygote: Zygote, base: Base, tmp_path: Path) -> None:
    root = _copy(base, tmp_path)
    lock = _state_dir(root) / "ktrun.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, json, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "os.write(fd, json.dumps({'pid': os.getpid(), 'since': 'then', 'command': 'ktrun x'}).encode())\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        proc = zygote.run(
            *TINY,
            "tuner.max_trials=3",
            f"tuner.state_dir={root}",
            f"hydra.run.dir={tmp_path / 'run'}",
            cwd=tmp_path,
        )
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    out = " ".join(clean_exit(proc, 2).split())
    assert "state-locked" in out and f"pid {holder.pid} since then" in out and "hint:" in out
    assert _completed_runs(root) == Counter({"0": 1, "1": 1})  # nothing ran


def test_a_stale_lock_is_taken_over(zygote: Zygote, base: Base, tmp_path: Path) -> None:
    root = _copy(base, tmp_path)
    (_state_dir(root) / "ktrun.lock").write_text(
        json.dumps({"pid": 999999, "since": "long ago", "command": "x"})
    )
    run = tmp_path / "run"
    proc = zygote.run(
        *TINY, "tuner.max_trials=3", f"tuner.state_dir={root}", f"hydra.run.dir={run}", cwd=tmp_path
    )
    out = clean_exit(proc, 0)
    assert "locked" not in out
    _assert_nothing_lost(base, root, run)


# ---------------------------------------------------------------------------------- disks


def test_state_dir_that_is_a_file(zygote: Zygote, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    proc = zygote.run(
        *TINY, f"tuner.state_dir={tmp_path / 'file'}", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path
    )
    out = clean_exit(proc, 2)
    assert "tuner.state_dir" in out and "is a file" in out and "hint:" in out


def test_state_dir_without_permission(zygote: Zygote) -> None:
    """Root ignores file modes: the ktrun process drops to `nobody` (65534) first."""
    top = Path(tempfile.mkdtemp(prefix="ktrun-perm-"))
    try:
        top.chmod(0o755)
        (top / "state").mkdir(mode=0o555)
        (top / "state").chmod(0o555)
        (top / "run").mkdir()
        (top / "run").chmod(0o777)
        proc = zygote.run(
            *TINY, f"tuner.state_dir={top / 'state'}", f"hydra.run.dir={top / 'run'}", cwd=top, uid=65534
        )
        out = clean_exit(proc, 2)
        assert "tuner.state_dir" in out and "Permission denied" in out and "hint:" in out
    finally:
        shutil.rmtree(top)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs of its own (skipped where mounting is not permitted)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
        check=False,
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_full_disk_stops_cleanly_and_resumes(zygote: Zygote, base: Base, tmp_path: Path, tmpfs: Path) -> None:
    root = tmpfs / "state"
    shutil.copytree(base.root, root)
    filler = tmpfs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    for chunk in (65536, 4096, 512, 1):  # fill every last byte
        try:
            while True:
                os.write(fd, b"\0" * chunk)
        except OSError:
            pass
    os.close(fd)
    run = tmp_path / "run"
    proc = zygote.run(
        *TINY, "tuner.max_trials=4", f"tuner.state_dir={root}", f"hydra.run.dir={run}", cwd=tmp_path
    )
    out = " ".join(clean_exit(proc, 2).split())  # refused before training, not a segfault (-11)
    assert "tuner.state_dir" in out and "No space left on device" in out and "hint:" in out, out[-3000:]
    leftovers = [
        p for p in root.rglob("*") if p.is_file() and (p.stat().st_size == 0 or p.name.endswith(".tmp"))
    ]
    assert not leftovers, leftovers
    filler.unlink()  # the cause is fixed: the same command resumes
    run2 = tmp_path / "run2"
    proc = zygote.run(
        *TINY, "tuner.max_trials=4", f"tuner.state_dir={root}", f"hydra.run.dir={run2}", cwd=tmp_path
    )
    clean_exit(proc, 0)
    _assert_nothing_lost(base, root, run2, total=4)
    assert (run2 / "best_model.keras").stat().st_size > 0


def test_read_only_disk_refuses_before_training(
    zygote: Zygote, base: Base, tmp_path: Path, tmpfs: Path
) -> None:
    root = tmpfs / "state"
    shutil.copytree(base.root, root)
    remount = subprocess.run(
        ["mount", "-o", "remount,ro", str(tmpfs)], check=False, capture_output=True, text=True
    )
    if remount.returncode != 0:
        pytest.skip(f"cannot remount read-only: {remount.stderr.strip()}")
    proc = zygote.run(
        *TINY,
        "tuner.max_trials=3",
        f"tuner.state_dir={root}",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
    )
    out = clean_exit(proc, 2)
    assert "tuner.state_dir" in out and "Read-only file system" in out and "hint:" in out


# -------------------------------------------------------------------------------- signals


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_at_the_next_batch_keeps_completed_trials_and_resumes(
    zygote: Zygote, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    """Also the lock: a second run of the same search while this one trains is refused."""
    root, run = tmp_path / "state", tmp_path / "run"
    # A grid over the epoch count: trial 0 trains 1 epoch, trial 1 (the one signalled) 5 epochs
    # of 160 single-sample batches.
    args = [
        *SHORT_THEN_LONG,
        "+data.limit=200",
        "tuner.max_trials=2",
        f"tuner.state_dir={root}",
    ]
    proc = zygote.start(*args, f"hydra.run.dir={run}", out=tmp_path / "signalled.txt")
    try:
        deadline = time.monotonic() + 120

        def wait_for(pattern: str) -> None:
            while not list(root.glob(pattern)):
                assert proc.poll() is None, proc.output()[-3000:]
                assert time.monotonic() < deadline, f"no {pattern}"
                time.sleep(0.1)

        wait_for("*/ktrun.lock")  # the search started: a second run of it is refused
        busy = zygote.run(*args, f"hydra.run.dir={tmp_path / 'busy'}", cwd=tmp_path)
        busy_out = " ".join(clean_exit(busy, 2).split())
        assert f"pid {proc.pid} since" in busy_out and "hint:" in busy_out
        wait_for("*/ktrun_journal.jsonl")  # trial 0 completed; trial 1 is training
        proc.send_signal(sig)
        sent = time.monotonic()
        returncode = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill_group()
    stopped_in = time.monotonic() - sent
    done = clean_exit(proc.result(returncode), code)
    assert stopped_in < 15, stopped_in  # at the next batch, not at the end of trial 1
    assert "Resume with:" in done and "tuner.state_dir=" in done
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["trials"]["completed"] == 1
    kept = _scores(root)
    run2 = tmp_path / "run2"
    resumed = zygote.run(*args, f"hydra.run.dir={run2}", cwd=tmp_path)
    clean_exit(resumed, 0)
    after = _scores(root)
    assert {k: after[k] for k in kept} == kept and len(after) == 2
    assert _completed_runs(root) == Counter({"0": 1, "1": 1})


# ------------------------------------------------------------------ custom objects that exit

LEAVING = """
import keras

def leave():
    if "{kind}" == "SystemExit":
        raise SystemExit(3)
    raise KeyboardInterrupt

if "{when}" == "import":
    leave()


@keras.saving.register_keras_serializable(package="ktrun_leaving")
class Leaving(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        leave()
"""


@pytest.mark.parametrize("kind", ["SystemExit", "KeyboardInterrupt"])
@pytest.mark.parametrize("when", ["import", "build"])
def test_custom_object_that_exits_fails_its_trial_only(
    zygote: Zygote, tmp_conf: Path, kind: str, when: str
) -> None:
    code = tmp_conf / "code"
    code.mkdir()
    (code / "ktrun_leaving.py").write_text(LEAVING.format(kind=kind, when=when))
    (tmp_conf / "experiment" / "leaving.yaml").write_text(
        f"""# @package _global_
defaults:
  - override /data: digits
  - override /model: none
experiment: {{name: leaving}}
custom_objects:
  paths: [{code}]
  layers: {{Leaving: "ktrun_leaving:Leaving"}}
hyperparameters:
  units: {{type: choice, values: [8, 16]}}
model:
  layers:
    - {{type: Flatten}}
    - {{type: custom, layer: Leaving, units: $units, output_shape: [$units]}}
    - {{type: Dense, units: 10, activation: softmax}}
  compile:
    optimizer: {{name: adam}}
    loss: sparse_categorical_crossentropy
    metrics: [accuracy]
"""
    )
    run = tmp_conf / "run"
    proc = zygote.run(
        "--config-dir",
        str(tmp_conf),
        "+experiment=leaving",
        *TINY,
        "tuner.max_trials=2",
        "failure_policy.max_failed_fraction=1.0",
        "failure_policy.max_consecutive_failures=10",
        f"tuner.state_dir={tmp_conf / 'state'}",
        f"hydra.run.dir={run}",
        cwd=tmp_conf,
    )
    clean_exit(proc, 0)  # the search went on and ended by its policy, the process did not
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["trials"]["failed"] == 2
    csv = (run / "trials.csv").read_text()
    assert csv.count("build_error") == 2 and kind in csv


# ----------------------------------------------------------------------------------- grid


def test_grid_over_200000_values_trains_instead_of_claiming_exhaustion(
    zygote: Zygote, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    proc = zygote.run(
        *TINY,
        "tuner.algorithm=grid",
        "tuner.max_trials=2",
        "hyperparameters.units.min=1",
        "hyperparameters.units.max=200000",
        "hyperparameters.units.step=1",
        "hyperparameters.dropout.step=0.5",
        "+hyperparameters.learning_rate.step=10",
        f"tuner.state_dir={tmp_path / 'state'}",
        f"hydra.run.dir={run}",
        cwd=tmp_path,
    )
    out = clean_exit(proc, 0)
    assert "every feasible point" not in out
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["trials"]["completed"] == 2
