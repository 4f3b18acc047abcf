"""`distributed.workers=N`: Keras Tuner's chief/worker engine, started and watched on loopback.

The launcher starts the same `ktrun` command as a chief (the oracle, serving over gRPC) and N
workers (running trials), with Keras Tuner's environment variables set. A worker that dies is
restarted with the same id, so the chief hands it back its orphaned trial. The chief writes the
results, exactly as a single-process run does.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CHIEF = "chief"


def in_cluster() -> bool:
    """This process is a chief or a worker (Keras Tuner's variables are set)."""
    return "KERASTUNER_ORACLE_IP" in os.environ


def is_worker() -> bool:
    return in_cluster() and os.environ.get("KERASTUNER_TUNER_ID") != CHIEF


def is_chief() -> bool:
    return in_cluster() and os.environ.get("KERASTUNER_TUNER_ID") == CHIEF


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, chief: subprocess.Popen[bytes], timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and chief.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


def stop(procs: Iterable[subprocess.Popen[bytes]], grace: float = 10.0) -> None:
    """Terminate each process still running, and kill what is left after `grace` seconds.

    A worker restarted just before the search ended may still be importing TensorFlow, or may
    wait for a chief that is gone: left running, it would outlive the launcher (and hold its
    terminal or pipe open) forever.
    """
    running = [p for p in procs if p.poll() is None]
    for p in running:
        p.terminate()
    deadline = time.monotonic() + grace
    for p in running:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def launch(overrides: list[str], run_dir: Path, workers: int, restarts: int, say: Any) -> tuple[int, str]:
    port = _free_port()
    base_env = {**os.environ, "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port)}
    cmd = [sys.executable, "-m", "ktrun.cli", *overrides]
    run_dir.mkdir(parents=True, exist_ok=True)
    chief = subprocess.Popen(
        [*cmd, f"hydra.run.dir={run_dir}"], env={**base_env, "KERASTUNER_TUNER_ID": CHIEF}
    )
    say(f"distributed: chief on 127.0.0.1:{port} (pid {chief.pid}), starting {workers} worker(s)")
    if not _wait_for_port(port, chief):
        chief.kill()
        return 1, "failed"

    def start(i: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*cmd, f"hydra.run.dir={run_dir / 'workers' / f'tuner{i}'}"],
            env={**base_env, "KERASTUNER_TUNER_ID": f"tuner{i}"},
            stdout=subprocess.DEVNULL,
        )

    procs = {i: start(i) for i in range(workers)}
    left = dict.fromkeys(procs, restarts)
    pids = run_dir / "workers.json"
    pids.write_text(json.dumps({f"tuner{i}": p.pid for i, p in procs.items()}))
    while chief.poll() is None:
        for i, p in list(procs.items()):
            code = p.poll()
            if code is None or code == 0:
                continue
            if left[i] > 0:  # it died mid-search: the chief holds its trial for its id
                left[i] -= 1
                say(f"distributed: worker tuner{i} exited with {code}; restarting it")
                procs[i] = start(i)
                pids.write_text(json.dumps({f"tuner{k}": q.pid for k, q in procs.items()}))
            else:
                del procs[i]
        if not procs or all(p.poll() is not None for p in procs.values()):
            if all(p.poll() == 0 for p in procs.values()) and procs:
                try:  # no ongoing trial left: the chief stops on its own
                    chief.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    say("distributed: the chief did not stop after the last worker; stopping it")
            break
        time.sleep(0.5)
    if chief.poll() is None:
        stop([chief], grace=30)
        stop(procs.values())
        return 1, "failed"
    stop(procs.values())
    summary = run_dir / "summary.json"
    status = json.loads(summary.read_text())["status"] if summary.is_file() else "failed"
    return chief.returncode, status


def serve(oracle: Any, poll: float = 0.2) -> None:
    """Keras Tuner's `oracle_chief.start_server`, but it notices the end within `poll` seconds
    (Keras Tuner re-checks every 20 s, so the chief lingers after the last worker)."""
    from ktrun.runtime import interrupt
    from ktrun.runtime.kt_compat import OracleServer

    server = OracleServer(
        oracle, f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    )
    server.start()
    try:
        while interrupt.request.signum is None:  # Ctrl-C: unfinished trials run again on resume
            stopping = server.stop_triggered or oracle.ktrun_abort_reason() is not None
            if stopping and not oracle.ongoing_trials:
                break
            time.sleep(poll)
    finally:
        server.stop(grace=1)
