"""`make bench`: every performance claim as a ratio measured side by side, in one run.

This machine is shared and noisy, so each measurement alternates the contenders and reports
medians and ratios, never a single absolute time. Results: outputs/bench/results.json.

1. check latency: `ktrun check +experiment=mnist_cnn` vs `python -c "import tensorflow"`;
2. overhead: one digits CNN space by ktrun, plain Keras Tuner and a hand-written loop;
3. wasted budget: the seeds' space under the same max_trials, plain Keras Tuner vs ktrun;
4. memory: resident and peak memory after trials 5, 25 and 50;
5. check at scale: 10^12 points and 20 constraints;
6. check of every shipped and published experiment: CPU seconds each (the goal: under 1 s);
7. streaming: peak memory of a search on a sharded set and on one ten times larger (`data.source:
   shards`), against the in-memory npz source on the larger one;
8. isolation memory: the search's processes after trials 10, 100 and 200, in-process, isolated
   (`runtime.isolation: process`) and plain Keras Tuner;
9. isolation overhead: the whole command's time, isolated vs in-process;
10. parallel: trials per minute with 1 and 2 isolated workers, and 2 oversubscribed;
11. crash: an isolated search where a fifth of the trials segfault, against its budget;
12. time to target: seconds until a trial reaches a target validation score on the digits CNN and
    on the seeds' space, ktrun (TPE and a pruner) vs plain Keras Tuner RandomSearch and Hyperband
    and Optuna used directly (TPE and its MedianPruner).

`python -m tests.bench STEP...` runs only the named steps (`python -m tests.bench time_to_target`).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench import isolation, scale, shards, time_to_target

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


def bench_check_latency(rounds: int = 3) -> dict[str, Any]:
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


def _contender(module: str, name: str, trials: int) -> dict[str, Any]:
    """One contender in a fresh process, so imports, caches and memory start equal."""
    out = OUT / f"{module}-{name}.json"
    subprocess.run(
        [sys.executable, "-m", f"tests.bench.{module}", name, str(trials), str(out)],
        cwd=REPO,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        check=True,
        capture_output=True,
    )
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def bench_search_overhead(trials: int = 12, rounds: int = 2) -> dict[str, Any]:
    """The same space, seed, trials and epochs by ktrun, plain Keras Tuner and a hand loop."""
    runs: dict[str, list[dict[str, Any]]] = {"ktrun": [], "keras_tuner": [], "loop": []}
    for _ in range(rounds):
        for name, results in runs.items():
            results.append(_contender("overhead", name, trials))
    med = {k: statistics.median(float(r["seconds"]) for r in v) for k, v in runs.items()}
    per_trial = {k: statistics.median(s for r in v for s in r["trial_seconds"]) for k, v in runs.items()}
    loop = med["loop"]
    return {
        "what": f"search wall time for {trials} trials of a digits CNN (1 epoch, 600 rows), imports "
        "and data loading excluded; per-trial time = median time between consecutive trial ends "
        f"(first trial excluded); each contender in its own process, alternated, {rounds} rounds",
        "median_seconds": {k: round(v, 2) for k, v in med.items()},
        "ratio_to_hand_loop": {k: round(v / loop, 3) for k, v in med.items()},
        "median_trial_seconds": {k: round(v, 3) for k, v in per_trial.items()},
        "overhead_ms_per_trial_vs_loop": {
            k: round((v - per_trial["loop"]) * 1000) for k, v in per_trial.items()
        },
    }


def bench_wasted_budget(trials: int = 20) -> dict[str, Any]:
    """The seeds' space (tests/bench/budget.py) under the same budget, plain Keras Tuner vs ktrun."""
    rows: dict[str, dict[str, Any]] = {}
    for name in ("keras_tuner", "keras_tuner_tolerant", "ktrun"):
        r = _contender("budget", name, trials)
        done = r["trials"]
        valid = [t for t in done if t["valid"]]
        rows[name] = {
            "status": r["status"],
            "reason": r["reason"],
            "trials_run": len(done),
            "valid_models": len(valid),
            "valid_fraction_of_budget": round(len(valid) / trials, 3),
            "build_failures": sum(not t["built"] for t in done),
            "non_finite_loss": sum(t["built"] and not t["finite"] for t in done),
            "outside_constraint": sum(t["built"] and t["finite"] and not t["valid"] for t in done),
            "seconds_on_invalid_trials": round(sum(t["seconds"] for t in done if not t["valid"]), 1),
            "search_seconds": round(r["seconds"], 1),
            "best_valid_score": None if r["best_valid_score"] is None else round(r["best_valid_score"], 3),
            "never_trained_rejections": r.get("rejected_candidates", 0),
        }
    return {
        "what": f"max_trials={trials} on the seeds' space (kernel_2 not fitting after pooling for "
        "half the kernel pairs, units_2 <= units_1 intended, learning rate up to 1.0 with SGD "
        "momentum 0.95); valid = built, finite loss, units_2 <= units_1; best_valid_score = best "
        "val_accuracy among valid trials (1 epoch, 600 rows)",
        "contenders": rows,
    }


def bench_memory(trials: int = 50) -> dict[str, Any]:
    """Resident and peak resident memory across a long search, per contender."""
    marks = [5, trials // 2, trials]
    rows = {}
    for name in ("ktrun", "keras_tuner"):  # the loop grows alike (README); it would add 2 minutes
        r = _contender("overhead", name, trials)
        rows[name] = {
            "rss_mb": [round(r["rss_mb"][m - 1], 1) for m in marks],
            "peak_rss_mb": [round(r["peak_rss_mb"][m - 1], 1) for m in marks],
            "growth_mb_per_trial": round((r["rss_mb"][trials - 1] - r["rss_mb"][4]) / (trials - 5), 2),
        }
    return {
        "what": f"VmRSS and VmHWM (peak) of the search process after trials {marks}, digits CNN, "
        "one process per contender",
        "after_trials": marks,
        "contenders": rows,
    }


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def bench_isolation_memory(trials: int = 200) -> dict[str, Any]:
    """Memory of a long search's processes: one process, isolated workers, plain Keras Tuner."""
    marks = [10, trials // 2, trials]
    rows = {}
    for name in ("inprocess", "isolated", "keras_tuner"):
        r = isolation.run_contender(name, trials, marks)
        pss = r["pss_mb"]
        rows[name] = {
            "pss_mb": pss,
            "growth_first_to_last": round((pss[-1] - pss[0]) / pss[0], 3),
            "seconds": round(r["seconds"], 1),
        }
    return {
        "what": f"total Pss (MB) of every process of the search after trials {marks} (the largest "
        "seen while the 5 trials up to each ran); a digits MLP (units 8..128, learning rate log "
        f"1e-4..1e-2), 1 epoch on {isolation.ROWS} rows; isolated: 1 worker, runtime.recycle_after default",
        "after_trials": marks,
        "contenders": rows,
    }


def bench_isolation_overhead(trials: int = 20, rounds: int = 2) -> dict[str, Any]:
    """Whole-command wall time, in-process vs isolated, alternated."""
    times: dict[str, list[float]] = {"inprocess": [], "isolated": []}
    for _ in range(rounds):
        for name, seconds in times.items():
            seconds.append(isolation.run_contender(name, trials, [])["seconds"])
    ratios = [b / a for a, b in zip(times["inprocess"], times["isolated"], strict=True)]
    return {
        "what": f"wall time of the whole `ktrun` command (imports, data, {trials} trials, results) "
        f"on the memory step's search, in-process vs runtime.isolation=process, alternated, {rounds} rounds",
        "seconds": {k: _spread(v) for k, v in times.items()},
        "ratio_of_medians": round(
            statistics.median(times["isolated"]) / statistics.median(times["inprocess"]), 3
        ),
        "ratio_per_round": _spread(ratios),
    }


def bench_parallel(trials: int = 20) -> dict[str, Any]:
    """Trials per minute with 1 and 2 isolated workers on this machine's cores."""
    cores = isolation_cores()
    contenders = {
        f"1 worker x {cores} threads": ("runtime.workers=1",),
        f"2 workers x {max(1, cores // 2)} threads (default)": ("runtime.workers=2",),
        f"2 workers x {cores} threads (oversubscribed)": ("runtime.workers=2", f"runtime.threads={cores}"),
    }
    rows = {}
    for name, overrides in contenders.items():
        r = isolation.run_contender("isolated", trials, [], *overrides)
        rows[name] = {
            "trials_per_minute": round(r["trials_per_minute"], 1),
            "seconds": round(r["seconds"], 1),
        }
    base = next(iter(rows.values()))["trials_per_minute"]
    for row in rows.values():
        row["speedup"] = round(row["trials_per_minute"] / base, 2)
    return {
        "what": f"{trials} trials of the memory step's search, isolated; trials per minute between the "
        f"first and the last trial's end; {cores} cores (shared with other work)",
        "contenders": rows,
    }


def bench_crash(trials: int = 20) -> dict[str, Any]:
    """An isolated search where about a fifth of the trials segfault: does it finish its budget?"""
    r = isolation.crash_search(trials)
    s = r["summary"]
    return {
        "what": f"max_trials={trials}, runtime.isolation=process, a custom layer that segfaults its "
        "process for one value of five of a tuned integer (random search); the default failure policy "
        "(crash: skip, max_failed_fraction 0.5) but max_consecutive_failures raised to 1000",
        "status": s["status"],
        "completed": s["trials"]["completed"],
        "crashed": s["trials"]["failed_by_reason"]["crash"],
        "seconds": round(r["seconds"], 1),
    }


def isolation_cores() -> int:
    from ktrun.runtime.isolation import cores

    return cores()


def bench_check_scale(rounds: int = 3) -> dict[str, Any]:
    """`ktrun check` on 10^12 points and 20 constraints vs on mnist_cnn (and vs importing TF)."""
    with tempfile.TemporaryDirectory() as tmp:
        scale.write(Path(tmp))
        py = sys.executable
        times = _alternate(
            {
                "check 1e12 points, 20 constraints": lambda: _wall(
                    [py, "-m", "ktrun.cli", "check", "--config-dir", tmp, f"+experiment={scale.NAME}"]
                ),
                "check +experiment=mnist_cnn": lambda: _wall(
                    [py, "-m", "ktrun.cli", "check", "+experiment=mnist_cnn"]
                ),
            },
            rounds,
        )
        report = subprocess.run(
            [
                py,
                "-m",
                "ktrun.cli",
                "check",
                "--format",
                "json",
                "--config-dir",
                tmp,
                f"+experiment={scale.NAME}",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    space = json.loads(report.stdout)["configs"][0]["space"]
    med = {k: statistics.median(v) for k, v in times.items()}
    big, small = med.values()
    return {
        "what": f"wall time of `ktrun check` (subprocess, alternated, median of {rounds}) on a "
        "space of 12 hyperparameters x 10 values with 20 constraints, against mnist_cnn's "
        "(7 hyperparameters, 1 constraint)",
        "median_seconds": {k: round(v, 3) for k, v in med.items()},
        "ratio_to_mnist_cnn_check": round(big / small, 2),
        "points": space["total_points"],
        "feasible_fraction": space["feasible_fraction"],
    }


def bench_check_every_experiment(rounds: int = 3) -> dict[str, Any]:
    """CPU seconds of `check` per shipped and published experiment, in one warm process (imports
    paid once, as in `check --all`), rounds alternating over all of them; median per experiment."""
    from ktrun.config.compose import experiment_names
    from ktrun.pipeline import check_one

    published = REPO / "examples" / "published"
    cases = [(n, []) for n in experiment_names(REPO / "conf")] + [
        (n, [published]) for n in experiment_names(published)
    ]
    cwd = Path.cwd()
    os.chdir(REPO)  # the corpus's data paths are relative to the repository root
    try:
        check_one([f"+experiment={cases[0][0]}"], extra=cases[0][1])
        times: dict[str, list[float]] = {n: [] for n, _ in cases}
        for _ in range(rounds):
            for name, extra in cases:
                start = time.process_time()
                check_one([f"+experiment={name}"], extra=extra, data_roots=(REPO, published))
                times[name].append(time.process_time() - start)
    finally:
        os.chdir(cwd)
    med = {k: round(statistics.median(v), 3) for k, v in times.items()}
    return {
        "what": f"CPU seconds of one `check` per experiment ({len(cases)}: conf/ and examples/published/), "
        f"in one process after a first check, alternated, median of {rounds}",
        "median_cpu_seconds": dict(sorted(med.items(), key=lambda kv: -kv[1])),
        "max_cpu_seconds": max(med.values()),
        "over_one_second": sorted(k for k, v in med.items() if v >= 1.0),
    }


def bench_streaming(rounds: int = 3, small: int = 10) -> dict[str, Any]:
    """Peak memory of the same search on `small` shards and on ten times as many, alternated."""
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        root = Path(tmp)
        disk = {
            "1x": shards.write(root / "small", small),
            "10x": shards.write(root / "large", 10 * small, seed=1),
        }
        disk["10x npz"] = shards.join(root / "large", root / "large.npz")
        contenders = {
            "1x": ["data=shards", f"data.path={root / 'small'}"],
            "10x": ["data=shards", f"data.path={root / 'large'}"],
            "10x npz": ["data=npz", f"data.path={root / 'large.npz'}"],
        }
        runs: dict[str, list[float]] = {k: [] for k in contenders}
        for r in range(rounds):
            for name, data in contenders.items():
                runs[name].append(shards.search_peak_mb(REPO, root / f"{name}-{r}".replace(" ", "-"), data))
    med = {k: statistics.median(v) for k, v in runs.items()}
    rows = shards.ROWS_PER_SHARD
    return {
        "what": f"peak resident memory (ru_maxrss of the child) of `ktrun` with the default MLP, 2 trials "
        f"of 1 epoch, batch 256, on {small} and {10 * small} shards of {rows} float32 {shards.SHAPE} "
        f"rows (and the larger set as one .npz, data.source: npz); fresh process each, alternated, "
        f"{rounds} rounds",
        "disk_mb": {k: round(v / 1e6, 1) for k, v in disk.items()},
        "median_peak_mb": {k: round(v, 1) for k, v in med.items()},
        "spread_mb": {k: [round(min(v), 1), round(max(v), 1)] for k, v in runs.items()},
        "ratio_10x_to_1x": round(med["10x"] / med["1x"], 3),
        "ratio_npz_10x_to_shards_1x": round(med["10x npz"] / med["1x"], 3),
    }


def _finite(value: float) -> float | None:
    """JSON has no infinity: a time never reached is null."""
    return round(value, 2) if math.isfinite(value) else None


def time_to_target_rows(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Each contender's repeats on one space as medians, spreads and ratios of medians."""
    # A repeat that never reached the target counts as infinitely slow in the median.
    secs = {
        c: [math.inf if r["seconds_to_target"] is None else float(r["seconds_to_target"]) for r in v]
        for c, v in runs.items()
    }
    med = {c: statistics.median(v) for c, v in secs.items()}
    rows = {}
    for contender, results in runs.items():
        per_trial = [r["trial_ends"][-1][0] / len(r["trial_ends"]) for r in results if r["trial_ends"]]
        rows[contender] = {
            "median_seconds": _finite(med[contender]),
            "min_seconds": _finite(min(secs[contender])),
            "max_seconds": _finite(max(secs[contender])),
            "seconds": [_finite(s) for s in secs[contender]],
            "reached": sum(math.isfinite(s) for s in secs[contender]),
            "repeats": len(results),
            "trials_to_target": [
                r["trials"] if r["seconds_to_target"] is not None else None for r in results
            ],
            "median_seconds_per_trial": round(statistics.median(per_trial), 2),
            "trials": sum(r["trials"] for r in results),
            "pruned": sum(r["pruned"] for r in results),
            "failed": sum(r["failed"] for r in results),
            "rejected": sum(r["rejected"] for r in results),
            "best": [r["best"] for r in results],
            **{
                f"ratio_to_{peer}": _finite(med[contender] / med[peer]) if math.isfinite(med[peer]) else None
                for peer in ("kt_random", "optuna")
                if peer in med
            },
        }
    return rows


def bench_time_to_target(seeds: int = 3) -> dict[str, Any]:
    """Seconds from the search's start to the first trial reaching the target, per space and
    contender; each (space, seed, contender) a fresh process, the contenders alternated per seed."""
    tt = time_to_target
    spaces: dict[str, Any] = {}
    for space in tt.SPACES:
        runs: dict[str, list[dict[str, Any]]] = {c: [] for c in tt.CONTENDERS}
        for seed in range(seeds):
            for contender, results in runs.items():
                out = OUT / f"time_to_target-{space}-{contender}-{seed}.json"
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "tests.bench.time_to_target",
                        space,
                        contender,
                        str(seed),
                        str(out),
                    ],
                    cwd=REPO,
                    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                    check=True,
                    capture_output=True,
                )
                results.append(json.loads(out.read_text()))
        spaces[space] = {"target_val_accuracy": tt.TARGETS[space], "contenders": time_to_target_rows(runs)}
    return {
        "what": f"seconds from the search's start (imports and data loading excluded) until a trial's "
        f"best val_accuracy reaches the target; {tt.EPOCHS} epochs a trial, the same rows and seed for "
        f"every contender, no trial started after {tt.CAP:g} s (then: not reached, counted as "
        f"infinitely slow in the median); seeds 0..{seeds - 1}, each run a fresh process, contenders "
        "alternated per seed",
        "spaces": spaces,
    }


def main(argv: list[str] | None = None) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    steps: list[tuple[str, Callable[[], dict[str, Any]], Callable[[dict[str, Any]], None]]] = [
        ("check_latency", bench_check_latency, _print_check),
        ("search_overhead", bench_search_overhead, _print_overhead),
        ("wasted_budget", bench_wasted_budget, _print_budget),
        ("memory", bench_memory, _print_memory),
        ("check_scale", bench_check_scale, _print_scale),
        ("check_every_experiment", bench_check_every_experiment, _print_every),
        ("streaming", bench_streaming, _print_streaming),
        ("isolation_memory", bench_isolation_memory, _print_isolation_memory),
        ("isolation_overhead", bench_isolation_overhead, _print_isolation_overhead),
        ("parallel", bench_parallel, _print_parallel),
        ("crash", bench_crash, _print_crash),
        ("time_to_target", bench_time_to_target, _print_time_to_target),
    ]
    only = sys.argv[1:] if argv is None else argv
    unknown = set(only) - {key for key, _, _ in steps}
    if unknown:
        print(f"no such step: {', '.join(sorted(unknown))}; the steps: {', '.join(k for k, _, _ in steps)}")
        return 2
    if only:  # one step alone keeps the other steps' figures of the last whole run
        steps = [s for s in steps if s[0] in only]
        saved = OUT / "results.json"
        results = json.loads(saved.read_text()) if saved.exists() else {}
    started = time.perf_counter()
    for key, run, show in steps:
        results[key] = run()
        show(results[key])
        # Written after every step: a long benchmark interrupted late keeps what it measured.
        (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {OUT / 'results.json'} ({time.perf_counter() - started:.0f} s)")
    return 0


def _print_every(res: dict[str, Any]) -> None:
    print("6. check of every experiment")
    slowest = list(res["median_cpu_seconds"].items())[:5]
    for name, secs in slowest:
        print(f"  {name:<40} {secs:.3f} s CPU (median)")
    print(f"  max {res['max_cpu_seconds']:.3f} s; over 1 s: {', '.join(res['over_one_second']) or 'none'}")
    print(f"  ({res['what']})")


def _print_streaming(res: dict[str, Any]) -> None:
    print("7. streaming: peak memory (MB)")
    for name, mb in res["median_peak_mb"].items():
        low, high = res["spread_mb"][name]
        print(f"  {name:<10} {res['disk_mb'][name]:7.1f} MB on disk   peak {mb:7.1f} (median; {low}-{high})")
    print(f"  ratio 10x / 1x shards                    {res['ratio_10x_to_1x']:.3f}")
    print(f"  ratio 10x npz / 1x shards                {res['ratio_npz_10x_to_shards_1x']:.3f}")
    print(f"  ({res['what']})")


def _print_check(lat: dict[str, Any]) -> None:
    print("1. check latency")
    for name, secs in lat["median_seconds"].items():
        print(f"  {name:<40} {secs:.3f} s (median)")
    print(f"  ratio check / import tensorflow          {lat['ratio_check_to_import_tensorflow']:.2f}")
    print(f"  ({lat['what']})")


def _print_overhead(res: dict[str, Any]) -> None:
    print("2. search overhead")
    for name, secs in res["median_seconds"].items():
        ratio = res["ratio_to_hand_loop"][name]
        ms = res["overhead_ms_per_trial_vs_loop"][name]
        trial = res["median_trial_seconds"][name]
        print(
            f"  {name:<12} {secs:7.2f} s total ({ratio:.2f}x the hand loop)   "
            f"{trial:.3f} s per trial ({ms:+d} ms vs the loop)"
        )
    print(f"  ({res['what']})")


def _print_budget(res: dict[str, Any]) -> None:
    print("3. wasted budget on the seeds' space")
    print(
        f"  {'contender':<22} {'status':<10} {'run':>4} {'valid':>6} {'build✗':>7} {'NaN':>4} "
        f"{'units✗':>7} {'s wasted':>9} {'best':>6}"
    )
    for name, r in res["contenders"].items():
        best = "-" if r["best_valid_score"] is None else f"{r['best_valid_score']:.3f}"
        print(
            f"  {name:<22} {r['status']:<10} {r['trials_run']:>4} "
            f"{r['valid_fraction_of_budget']:>6.0%} {r['build_failures']:>7} "
            f"{r['non_finite_loss']:>4} {r['outside_constraint']:>7} "
            f"{r['seconds_on_invalid_trials']:>9.1f} {best:>6}"
        )
    print(f"  ({res['what']})")


def _print_memory(res: dict[str, Any]) -> None:
    print(f"4. memory after trials {res['after_trials']} (MB)")
    for name, r in res["contenders"].items():
        print(
            f"  {name:<12} resident {r['rss_mb']}  peak {r['peak_rss_mb']}  "
            f"({r['growth_mb_per_trial']:+.2f} MB per trial)"
        )
    print(f"  ({res['what']})")


def _print_isolation_memory(res: dict[str, Any]) -> None:
    print(f"8. memory of the search's processes after trials {res['after_trials']} (MB, Pss)")
    for name, r in res["contenders"].items():
        print(f"  {name:<12} {r['pss_mb']}  ({r['growth_first_to_last']:+.1%} from first to last)")
    print(f"  ({res['what']})")


def _print_isolation_overhead(res: dict[str, Any]) -> None:
    print("9. isolation overhead")
    for name, s in res["seconds"].items():
        print(f"  {name:<12} {s['median']:.1f} s median ({s['min']:.1f}-{s['max']:.1f})")
    r = res["ratio_per_round"]
    print(f"  isolated / in-process: {res['ratio_of_medians']:.3f} (per round {r['min']:.3f}-{r['max']:.3f})")
    print(f"  ({res['what']})")


def _print_parallel(res: dict[str, Any]) -> None:
    print("10. parallel trials")
    for name, r in res["contenders"].items():
        print(f"  {name:<40} {r['trials_per_minute']:.1f} trials/min ({r['speedup']:.2f}x)")
    print(f"  ({res['what']})")


def _print_crash(res: dict[str, Any]) -> None:
    print("11. crash isolation")
    print(
        f"  {res['status']}: {res['completed']} completed, {res['crashed']} crashed, {res['seconds']:.0f} s"
    )
    print(f"  ({res['what']})")


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def _print_time_to_target(res: dict[str, Any]) -> None:
    print("12. time to target")
    for space, r in res["spaces"].items():
        print(f"  {space}: val_accuracy >= {r['target_val_accuracy']}")
        for name, c in r["contenders"].items():
            ratios = "   ".join(
                f"{c[f'ratio_to_{p}']:.2f}x {p}" if c[f"ratio_to_{p}"] is not None else f"- {p}"
                for p in ("kt_random", "optuna")
            )
            print(
                f"    {name:<14} {_seconds(c['median_seconds']):>7} median "
                f"({_seconds(c['min_seconds'])}-{_seconds(c['max_seconds'])}), reached {c['reached']}/"
                f"{c['repeats']}, {c['median_seconds_per_trial']:.1f} s a trial, {c['pruned']} of "
                f"{c['trials']} trials pruned, {c['failed']} failed   {ratios}"
            )
    print(f"  ({res['what']})")


def _print_scale(res: dict[str, Any]) -> None:
    print("5. check at scale")
    for name, secs in res["median_seconds"].items():
        print(f"  {name:<40} {secs:.3f} s (median)")
    print(
        f"  ratio to the mnist_cnn check              {res['ratio_to_mnist_cnn_check']:.2f}   "
        f"({res['points']:.0e} points, {res['feasible_fraction']:.2g} feasible)"
    )
    print(f"  ({res['what']})")


if __name__ == "__main__":
    sys.exit(main())
