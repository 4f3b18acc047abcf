"""Sharded data sets for the streaming benchmark, and one search's peak memory in a fresh process.

Two sets of the same shards (same rows per shard, same per-sample shape), one ten times as many
shards as the other, and the larger one again as a single .npz for the in-memory source. Each
search runs the real command line in its own process; its peak resident memory is the kernel's
account of that one child (`os.wait4`), so nothing of the benchmark's own process is counted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

#: One sample: a 32x32 RGB image as float32 (12 KiB), ten classes.
SHAPE = (32, 32, 3)
ROWS_PER_SHARD = 512  # 6.3 MB a shard


def write(directory: Path, shards: int, seed: int = 0) -> int:
    """`shards` .npz files of `ROWS_PER_SHARD` rows; their bytes on disk."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(shards):
        x = rng.standard_normal((ROWS_PER_SHARD, *SHAPE), dtype=np.float32)
        y = rng.integers(0, 10, ROWS_PER_SHARD)
        np.savez(directory / f"part-{i:05d}.npz", x=x, y=y)
    return sum(p.stat().st_size for p in directory.iterdir())


def join(directory: Path, out: Path) -> int:
    """The shards of `directory` as one .npz (for `data.source: npz`); its bytes on disk."""
    parts = sorted(directory.glob("*.npz"))
    rows = ROWS_PER_SHARD * len(parts)
    x = np.empty((rows, *SHAPE), dtype=np.float32)
    y = np.empty(rows, dtype=np.int64)
    for i, p in enumerate(parts):
        with np.load(p) as f:
            x[i * ROWS_PER_SHARD : (i + 1) * ROWS_PER_SHARD] = f["x"]
            y[i * ROWS_PER_SHARD : (i + 1) * ROWS_PER_SHARD] = f["y"]
    np.savez(out, x=x, y=y)
    return out.stat().st_size


def search_peak_mb(repo: Path, work: Path, data: list[str], trials: int = 2) -> float:
    """Peak resident memory (MB) of one `ktrun` search on `data` (overrides), 1 epoch a trial."""
    work.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "ktrun.cli",
        *data,
        "fit.epochs=1",
        "fit.batch_size=256",
        f"tuner.max_trials={trials}",
        f"tuner.state_dir={work / 'state'}",
        f"hydra.run.dir={work / 'run'}",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "NO_COLOR": "1"}
    with open(work / "log.txt", "wb") as log:
        proc = subprocess.Popen(cmd, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: see {work / 'log.txt'}")
    return usage.ru_maxrss / 1024  # Linux: KiB
