"""`runtime.isolation: process`: trials in worker processes forked after TensorFlow is imported.

The launcher imports TensorFlow, Keras and Keras Tuner once (without starting TensorFlow's
runtime, so a fork is safe), then forks a chief (the oracle, on Keras Tuner's gRPC protocol on
127.0.0.1, as `distributed.workers` runs it) and `runtime.workers` workers. A fork costs a
fraction of a second where a new process pays the 7 s import, so a worker can be replaced often:

- after `runtime.recycle_after` trials, or above `runtime.max_worker_memory` MB, a worker exits
  with `RECYCLE_EXIT` once its trial is saved, and a fresh one takes its id: TensorFlow's
  per-trial growth (traced functions kept after `clear_session()`) goes with the old process;
- a worker that dies otherwise (a segfault, the kernel's OOM killer, `os._exit`) left a trial
  running at the chief: the launcher writes a crash note for its id in the state directory and
  starts a fresh worker under that id; when it asks for a trial, the chief's oracle ends the
  orphan as failure class `crash` (its policy: `failure_policy.crash`) instead of handing it back.

Each worker gets its share of the cores as TensorFlow thread counts, and one GPU when there are
any (`CUDA_VISIBLE_DEVICES`, memory growth on): `worker_envs` is a pure function, tested on CPU.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from ktrun.runtime.distributed import CHIEF, _free_port

#: A worker's exit code when it leaves to be replaced (EX_TEMPFAIL): not a death, not a restart.
RECYCLE_EXIT = 75
#: Deaths of one worker in a row before it asked for a trial: a broken start, not a bad trial.
MAX_STALLS = 3
CRASH_PREFIX = "ktrun_crash_"


class Recycle(Exception):
    """Raised in a worker after a trial is saved: leave now, a fresh worker takes over."""


# ---------------------------------------------------------------- in a worker


@dataclass
class WorkerLimits:
    """When this worker process leaves to be replaced."""

    recycle_after: int
    max_memory_mb: float | None
    trials: int = 0


class This:
    """This process's limits: set in a forked worker only (None in every other process)."""

    limits: WorkerLimits | None = None


this = This()


def after_trial() -> None:
    """Called once a trial is saved at the chief: raise `Recycle` when this worker is due."""
    limits = this.limits
    if limits is None:
        return
    limits.trials += 1
    if limits.trials >= limits.recycle_after:
        raise Recycle(f"{limits.trials} trial(s) run")
    if limits.max_memory_mb is not None and (rss := resident_mb()) > limits.max_memory_mb:
        raise Recycle(f"resident memory {rss:.0f} MB > runtime.max_worker_memory={limits.max_memory_mb:g}")


def _status_mb(pid: int | str, key: str) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def resident_mb(pid: int | str = "self") -> float:
    """VmRSS in MiB (Linux; 0 elsewhere: no memory ceiling is enforced there)."""
    return _status_mb(pid, "VmRSS")


def proportional_mb(pid: int | str = "self") -> float:
    """Pss in MiB: resident memory with pages shared by forked processes split between them, so
    the processes of one search add up to what they really hold."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resident_mb(pid)


# ---------------------------------------------------------------- devices and threads


def cores() -> int:
    """The cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def visible_gpus(setting: str | list[int], environ: Mapping[str, str] = os.environ) -> list[str]:
    """The GPUs workers share out: the listed ones; for `auto`, CUDA_VISIBLE_DEVICES when set,
    else those `nvidia-smi -L` lists (none without it). Never asks TensorFlow: that would start
    CUDA in the launcher, and a forked worker could not use it."""
    if not isinstance(setting, str):
        return [str(g) for g in setting]
    if "CUDA_VISIBLE_DEVICES" in environ:
        return [d.strip() for d in environ["CUDA_VISIBLE_DEVICES"].split(",") if d.strip() not in ("", "-1")]
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [str(i) for i, line in enumerate(ln for ln in listed.splitlines() if ln.startswith("GPU "))]


def worker_envs(workers: int, gpus: list[str], cores: int, threads: int | None) -> list[dict[str, str]]:
    """Each worker's environment: `threads` (default: its share of `cores`) TensorFlow threads,
    so N workers do not oversubscribe the machine, and GPU `i mod len(gpus)` with memory growth
    (two workers on one GPU then share it without either taking all its memory)."""
    n = threads or max(1, cores // workers)
    envs = []
    for i in range(workers):
        env = {"TF_NUM_INTRAOP_THREADS": str(n), "TF_NUM_INTEROP_THREADS": str(n), "OMP_NUM_THREADS": str(n)}
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = gpus[i % len(gpus)]
            env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
        envs.append(env)
    return envs


def chief_env(gpus: list[str]) -> dict[str, str]:
    """The chief trains nothing during the search (it may retrain the best model after it): the
    first GPU, with memory growth, beside the workers."""
    return {"CUDA_VISIBLE_DEVICES": gpus[0], "TF_FORCE_GPU_ALLOW_GROWTH": "true"} if gpus else {}


def _apply_threads(env: Mapping[str, str]) -> None:
    """TensorFlow reads its thread counts when its runtime starts, which in a fork is after this."""
    if "TF_NUM_INTRAOP_THREADS" not in env:
        return
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(int(env["TF_NUM_INTRAOP_THREADS"]))
    tf.config.threading.set_inter_op_parallelism_threads(int(env["TF_NUM_INTEROP_THREADS"]))


# ---------------------------------------------------------------- crash notes (launcher → chief)


def crash_path(state_dir: Path, tuner_id: str) -> Path:
    return state_dir / f"{CRASH_PREFIX}{tuner_id}.json"


def describe_death(status: int) -> str:
    """A waitpid status, in words (SIGKILL is also what the kernel's OOM killer sends)."""
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        name = signal.Signals(-code).name
        hint = " (the kernel's OOM killer sends it when memory runs out)" if -code == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exited with code {code}"


def record_crash(state_dir: Path, tuner_id: str, pid: int, status: int) -> None:
    from ktrun.runtime.journal import write_json_atomic

    message = f"its worker process (pid {pid}) {describe_death(status)}"
    write_json_atomic(crash_path(state_dir, tuner_id), {"pid": pid, "message": message})


def take_crash(state_dir: Path, tuner_id: str) -> str | None:
    """The crash note for `tuner_id` (removed as it is read), if its last worker died."""
    path = crash_path(state_dir, tuner_id)
    try:
        note = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path.unlink(missing_ok=True)
    message = note.get("message") if isinstance(note, dict) else None
    return str(message or "its worker process died")


# ---------------------------------------------------------------- the launcher


def _warm() -> None:
    """What every process of the search imports, imported once before the forks."""
    import keras  # noqa: F401
    import keras_tuner  # noqa: F401
    import tensorflow  # noqa: F401

    import ktrun.compiler.keras_model
    import ktrun.runtime.oracles
    import ktrun.runtime.search
    import ktrun.runtime.tuner  # noqa: F401


def _fork(
    child: Callable[[Path], int],
    run_dir: Path,
    env: Mapping[str, str],
    log: Path | None = None,
    worker: WorkerLimits | None = None,
) -> int:
    """A forked process that sets `env`, runs `child(run_dir)` and exits with its code (or
    `RECYCLE_EXIT` when it leaves to be replaced); never returns in the child."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if log is not None:  # a worker's output (Keras' own, a native crash's last words)
            log.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
        os.environ.update(env)
        _apply_threads(env)
        this.limits = worker
        code = child(run_dir)
    except Recycle:
        code = RECYCLE_EXIT
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _reap(pid: int) -> int | None:
    """The wait status of `pid` once it ended (None while it runs)."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return 0
    return status if done else None


def _end(pids: list[int], grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds, and reap each."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for pid in pids:
        while _reap(pid) is None:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.05)


@dataclass
class Launch:
    """The chief and the workers of one isolated search, as the launcher tracks them."""

    child: Callable[[Path], int]
    run_dir: Path
    state_dir: Path
    envs: list[dict[str, str]]
    base: dict[str, str]
    recycle_after: int
    max_memory_mb: float | None
    say: Callable[[str], None]
    stopping: bool = False

    def start(self, slot: int) -> int:
        tuner_id = f"tuner{slot}"
        return _fork(
            self.child,
            self.run_dir / "workers" / tuner_id,
            {**self.base, **self.envs[slot], "KERASTUNER_TUNER_ID": tuner_id},
            log=self.run_dir / "workers" / f"{tuner_id}.log",
            worker=WorkerLimits(self.recycle_after, self.max_memory_mb),
        )


def launch(
    child: Callable[[Path], int],
    *,
    run_dir: Path,
    state_dir: Path,
    runtime: Any,
    say: Callable[[str], None],
) -> tuple[int, str]:
    """Run the search with its trials in forked workers; (the chief's exit code, its status)."""
    _warm()
    gpus = visible_gpus(runtime.gpus)
    envs = worker_envs(runtime.workers, gpus, cores(), runtime.threads)
    port = _free_port()
    run_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    for stale in state_dir.glob(f"{CRASH_PREFIX}*.json"):  # from a run that was itself killed
        stale.unlink(missing_ok=True)
    base = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port)}
    job = Launch(child, run_dir, state_dir, envs, base, runtime.recycle_after, runtime.max_worker_memory, say)
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    chief = _fork(child, run_dir, {**base, **chief_env(gpus), "KERASTUNER_TUNER_ID": CHIEF})
    workers: dict[int, int] = {}

    def stop_asked(signum: int, frame: FrameType | None) -> None:
        job.stopping = True  # Ctrl-C reaches every process of the terminal's group by itself
        if signum == signal.SIGTERM:
            for pid in [chief, *workers]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)

    for s in old:
        signal.signal(s, stop_asked)
    try:
        status = _run(job, chief, workers, port)
    except BaseException:  # a launcher bug, or an interrupt here, must not leave the chief running
        _end([chief])
        raise
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        _end(list(workers))
    if status is None:
        _end([chief], grace=30)
        return 1, "failed"
    summary = run_dir / "summary.json"
    code = os.waitstatus_to_exitcode(status)
    state = json.loads(summary.read_text())["status"] if summary.is_file() and code >= 0 else "failed"
    return (code if code >= 0 else 1), state


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _run(job: Launch, chief: int, workers: dict[int, int], port: int) -> int | None:
    """Watch the chief and keep `runtime.workers` workers going; the chief's wait status, or
    None when it had to be stopped."""
    deadline = time.monotonic() + 300
    while not _port_open(port):  # the chief loads the data and its state first
        if (status := _reap(chief)) is not None:
            return status
        if time.monotonic() > deadline or job.stopping:
            return None
        time.sleep(0.1)
    for slot in range(len(job.envs)):
        workers[job.start(slot)] = slot
    stalls = dict.fromkeys(range(len(job.envs)), 0)
    idle_since: float | None = None
    while True:
        if (status := _reap(chief)) is not None:
            return status
        for pid, slot in list(workers.items()):
            if (wstatus := _reap(pid)) is None:
                continue
            del workers[pid]
            code = os.waitstatus_to_exitcode(wstatus)
            if code == 0 or job.stopping:  # no trial left for it, or the search is stopping
                continue
            if code != RECYCLE_EXIT:
                tuner_id = f"tuner{slot}"
                # A note still there: its last replacement died before it asked for a trial.
                stalls[slot] = stalls[slot] + 1 if crash_path(job.state_dir, tuner_id).exists() else 1
                if stalls[slot] >= MAX_STALLS:
                    job.say(
                        f"isolation: worker {tuner_id} died {stalls[slot]} times before running a "
                        f"trial (last: {describe_death(wstatus)}); see {job.run_dir / 'workers'}"
                    )
                    return None
                record_crash(job.state_dir, tuner_id, pid, wstatus)
                job.say(
                    f"isolation: worker {tuner_id} (pid {pid}) {describe_death(wstatus)}: its trial "
                    "fails as `crash`; a fresh worker takes over"
                )
            workers[job.start(slot)] = slot
        if workers:
            idle_since = None
        else:  # every worker was told the search is over: the chief ends on its own
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 60:
                job.say("isolation: the chief did not stop after the last worker; stopping it")
                return None
        time.sleep(0.05)
