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


def bench_search_overhead(trials: int = 20, rounds: int = 3) -> dict[str, object]:
    """The same space, seed, trials and epochs by ktrun, plain Keras Tuner and a hand loop."""
    runs: dict[str, list[dict[str, object]]] = {"ktrun": [], "keras_tuner": [], "loop": []}
    for _ in range(rounds):
        for name, results in runs.items():
            out = OUT / f"overhead-{name}.json"
            subprocess.run(
                [sys.executable, "-m", "tests.bench.overhead", name, str(trials), str(out)],
                cwd=REPO,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                check=True,
                capture_output=True,
            )
            results.append(json.loads(out.read_text()))
    med = {k: statistics.median(float(r["seconds"]) for r in v) for k, v in runs.items()}  # type: ignore[arg-type]
    per_trial = {
        k: statistics.median(s for r in v for s in r["trial_seconds"])  # type: ignore[attr-defined]
        for k, v in runs.items()
    }
    loop = med["loop"]
    memory = {
        k: [
            round(statistics.median(float(r["rss_mb"][i]) for r in v), 1)  # type: ignore[index]
            for i in (0, trials // 2 - 1, trials - 1)
        ]
        for k, v in runs.items()
    }
    return {
        "what": f"search wall time for {trials} trials of a digits MLP (1 epoch, 600 rows), imports "
        "and data loading excluded; per-trial time = median time between consecutive trial ends "
        f"(first trial excluded); each contender in its own process, alternated, {rounds} rounds",
        "median_seconds": {k: round(v, 2) for k, v in med.items()},
        "ratio_to_hand_loop": {k: round(v / loop, 3) for k, v in med.items()},
        "median_trial_seconds": {k: round(v, 3) for k, v in per_trial.items()},
        "overhead_ms_per_trial_vs_loop": {
            k: round((v - per_trial["loop"]) * 1000) for k, v in per_trial.items()
        },
        "rss_mb_after_trials": {"trials": [1, trials // 2, trials], **memory},
    }


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, object]] = {"check_latency": bench_check_latency()}
    _print_check(results["check_latency"])
    results["search_overhead"] = bench_search_overhead()
    _print_overhead(results["search_overhead"])
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {OUT / 'results.json'}")
    return 0


def _print_check(lat: dict[str, object]) -> None:
    print("1. check latency")
    for name, secs in lat["median_seconds"].items():  # type: ignore[attr-defined]
        print(f"  {name:<40} {secs:.3f} s (median)")
    print(f"  ratio check / import tensorflow          {lat['ratio_check_to_import_tensorflow']:.2f}")
    print(f"  ({lat['what']})")


def _print_overhead(res: dict[str, object]) -> None:
    print("2. search overhead")
    for name, secs in res["median_seconds"].items():  # type: ignore[attr-defined]
        ratio = res["ratio_to_hand_loop"][name]  # type: ignore[index]
        ms = res["overhead_ms_per_trial_vs_loop"][name]  # type: ignore[index]
        trial = res["median_trial_seconds"][name]  # type: ignore[index]
        print(
            f"  {name:<12} {secs:7.2f} s total ({ratio:.2f}x the hand loop)   "
            f"{trial:.3f} s per trial ({ms:+d} ms vs the loop)"
        )
    rss = res["rss_mb_after_trials"]
    print(f"  resident memory (MB) after trials {rss['trials']}:")  # type: ignore[index]
    for name in ("ktrun", "keras_tuner", "loop"):
        print(f"    {name:<12} {rss[name]}")  # type: ignore[index]
    print(f"  ({res['what']})")


if __name__ == "__main__":
    sys.exit(main())
