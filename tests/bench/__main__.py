"""`make bench`: every performance claim as a ratio measured side by side, in one run.

This machine is shared and noisy, so each measurement alternates the contenders and reports
medians and ratios, never a single absolute time. Results: outputs/bench/results.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "outputs" / "bench"


def _wall(cmd: list[str]) -> float:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def _alternate(contenders: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            times[name].append(fn())
    return times


def bench_check_latency(rounds: int = 5) -> dict[str, object]:
    """`ktrun check +experiment=mnist_cnn` against `python -c "import tensorflow"`."""
    py = sys.executable
    times = _alternate(
        {
            "ktrun check +experiment=mnist_cnn": lambda: _wall(
                [py, "-m", "ktrun.cli", "check", "+experiment=mnist_cnn"]
            ),
            'python -c "import tensorflow"': lambda: _wall([py, "-c", "import tensorflow"]),
        },
        rounds,
    )
    med = {k: statistics.median(v) for k, v in times.items()}
    check, tf = med.values()
    return {
        "what": "wall time of a full static check vs merely importing TensorFlow (subprocesses, "
        f"alternated, median of {rounds})",
        "median_seconds": {k: round(v, 3) for k, v in med.items()},
        "ratio_check_to_import_tensorflow": round(check / tf, 3),
    }


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    results = {"check_latency": bench_check_latency()}
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("benchmark                          result")
    lat = results["check_latency"]
    for name, secs in lat["median_seconds"].items():  # type: ignore[attr-defined]
        print(f"  {name:<40} {secs:.3f} s (median)")
    print(f"  ratio check / import tensorflow          {lat['ratio_check_to_import_tensorflow']:.2f}")
    print(f"  {lat['what']}")
    print(f"written to {OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
