"""`runtime.isolation: process` against one process: memory over a long search, whole-search
time, and trials per minute with N workers.

Every contender is a real command in its own process tree, watched from outside the same way:
its trial log (ktrun's journal; a plain Keras Tuner script writes one line per trial alike) is
polled, and with it the proportional set size (Pss: pages shared by forked processes split
between them, so a tree's processes add up to what they hold) of every process in the tree.
The memory after trial N is the largest total seen while trials N-4..N ran: a worker being
replaced at that moment does not flatter the isolated search.

`python -m tests.bench.isolation keras_tuner TRIALS LOG` is the plain Keras Tuner contender.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ktrun.runtime.isolation import proportional_mb

REPO = Path(__file__).resolve().parents[2]
SEED = 3
ROWS = 300
EXPERIMENT = f"""# @package _global_
defaults:
  - override /data: digits
  - override /model: none
experiment: {{name: bench_mlp, seed: {SEED}}}
data: {{limit: {ROWS}}}
hyperparameters:
  units: {{type: int, min: 8, max: 128}}
  learning_rate: {{type: float, min: 1.0e-4, max: 1.0e-2, sampling: log}}
model:
  layers:
    - {{type: Flatten}}
    - {{type: Dense, units: $units, activation: relu}}
    - {{type: Dense, units: 10, activation: softmax}}
  compile:
    optimizer: {{name: adam, learning_rate: $learning_rate}}
fit: {{epochs: 1, batch_size: 64}}
failure_policy: {{max_consecutive_failures: 1000}}
"""


def _tree(root: int) -> list[int]:
    """`root` and its descendants (from /proc: Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _lines(path: Path) -> int:
    try:
        with open(path, "rb") as fh:
            return sum(1 for _ in fh)
    except OSError:
        return 0


def watch(
    cmd: list[str], log_glob: tuple[Path, str], marks: list[int], env: dict[str, str]
) -> dict[str, Any]:
    """Run `cmd`, sampling its tree's memory against its trial log; wall time and memory at marks."""
    root, pattern = log_glob
    started = time.perf_counter()
    err = open(root.parent / "stderr.txt" if root.name == "state" else root / "stderr.txt", "w+")  # noqa: SIM115
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    samples: list[tuple[int, float]] = []
    ended: dict[int, float] = {}  # trials ended -> when that count was first seen
    log: Path | None = None
    while proc.poll() is None:
        if log is None:
            log = next(root.glob(pattern), None)
        done = _lines(log) if log is not None else 0
        ended.setdefault(done, time.perf_counter())
        if marks:
            samples.append((done, sum(proportional_mb(p) for p in _tree(proc.pid))))
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    err.seek(0)
    assert proc.returncode == 0, (cmd, err.read()[-3000:])
    err.close()
    memory = []
    for m in marks:
        window = [mb for done, mb in samples if m - 5 <= done <= m - 1]
        memory.append(round(max(window), 1) if window else None)
    first, last = min(k for k in ended if k > 0), max(ended)
    per_minute = 60 * (last - first) / (ended[last] - ended[first]) if last > first else None
    return {"seconds": seconds, "pss_mb": memory, "trials_per_minute": per_minute}


def ktrun_cmd(work: Path, trials: int, *overrides: str) -> list[str]:
    (work / "experiment").mkdir(parents=True, exist_ok=True)
    (work / "experiment" / "bench_mlp.yaml").write_text(EXPERIMENT)
    return [
        sys.executable,
        "-m",
        "ktrun.cli",
        "--config-dir",
        str(work),
        "+experiment=bench_mlp",
        f"tuner.max_trials={trials}",
        f"tuner.state_dir={work / 'state'}",
        "tuner.overwrite=true",
        f"hydra.run.dir={work / 'run'}",
        *overrides,
    ]


ISOLATED = ("runtime.isolation=process",)

#: A layer that segfaults its process for one value of five (`draw` 0): a fifth of the trials.
SEGFAULTING = """
import os
import signal

import keras


@keras.saving.register_keras_serializable(package="ktrun_bench")
class Segfaulting(keras.layers.Layer):
    def __init__(self, units, draw=1, **kwargs):
        super().__init__(**kwargs)
        if draw == 0:
            os.kill(os.getpid(), signal.SIGSEGV)
        self.units, self.draw = units, draw
        self.dense = keras.layers.Dense(units, activation="relu")

    def call(self, x):
        return self.dense(x)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "draw": self.draw}
"""


def crash_search(trials: int) -> dict[str, Any]:
    """An isolated search whose model segfaults for a fifth of its points: its summary."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "code").mkdir()
        (work / "code" / "ktrun_segfaulting.py").write_text(SEGFAULTING)
        experiment = EXPERIMENT.replace(
            "    - {{type: Dense, units: $units, activation: relu}}".replace("{{", "{").replace("}}", "}"),
            "    - {type: custom, layer: Segfaulting, units: $units, draw: $draw, output_shape: [$units]}",
        ).replace(
            "hyperparameters:\n",
            f"custom_objects:\n  paths: [{work / 'code'}]\n"
            "  layers: {Segfaulting: 'ktrun_segfaulting:Segfaulting'}\n"
            "hyperparameters:\n  draw: {type: int, min: 0, max: 4}\n",
        )
        cmd = ktrun_cmd(work, trials, *ISOLATED)
        (work / "experiment" / "bench_mlp.yaml").write_text(experiment)
        r = watch(cmd, (work / "state", "*/ktrun_journal.jsonl"), [], {})
        summary = json.loads((work / "run" / "summary.json").read_text())
    return {"seconds": r["seconds"], "summary": summary}


def run_contender(name: str, trials: int, marks: list[int], *overrides: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if name == "keras_tuner":
            cmd = [
                sys.executable,
                "-m",
                "tests.bench.isolation",
                "keras_tuner",
                str(trials),
                str(work / "trials.log"),
            ]
            return watch(cmd, (work, "trials.log"), marks, {})
        extra = ISOLATED if name == "isolated" else ()
        cmd = ktrun_cmd(work, trials, *extra, *overrides)
        return watch(cmd, (work / "state", "*/ktrun_journal.jsonl"), marks, {})


def plain_keras_tuner(trials: int, log: Path) -> None:
    """The same search as a plain Keras Tuner script, one line in `log` per ended trial."""
    import keras
    import keras_tuner as kt
    import numpy as np
    from sklearn.datasets import load_digits

    d = load_digits()
    idx = np.random.default_rng(SEED).permutation(len(d.images))[:ROWS]
    x, y = (d.images[idx] / 16.0).astype("float32"), d.target[idx]
    cut = int(ROWS * 0.8)

    def build(hp: Any) -> Any:
        model = keras.Sequential(
            [
                keras.Input((8, 8)),
                keras.layers.Flatten(),
                keras.layers.Dense(hp.Int("units", 8, 128), activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    class Tuner(kt.RandomSearch):  # type: ignore[misc]
        def on_trial_end(self, trial: Any) -> None:
            super().on_trial_end(trial)
            with open(log, "a") as fh:
                fh.write(f"{trial.trial_id}\n")

    tuner = Tuner(
        build,
        objective="val_accuracy",
        max_trials=trials,
        seed=SEED,
        overwrite=True,
        directory=str(log.parent),
        project_name="kt",
        max_consecutive_failed_trials=trials,
    )
    tuner.search(x[:cut], y[:cut], epochs=1, batch_size=64, validation_data=(x[cut:], y[cut:]), verbose=0)


if __name__ == "__main__":
    plain_keras_tuner(int(sys.argv[2]), Path(sys.argv[3]))
