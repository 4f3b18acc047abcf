"""Runs `ktrun` as real, forked processes from an interpreter that imported TensorFlow once.

Each request is one real process (its own pid, session, exit code, output file, cwd and uid):
only the 8 s import of TensorFlow, Keras and Keras Tuner is shared. Tests that start many ktrun
processes (damaged state, signals, kills at random moments) stay near a minute this way.

Protocol: requests are JSON lines on the server's stdin; for each, the server answers
`{"pid": N}` as soon as the process exists, and `{"exit": N, "code": C}` when it ends. Several
processes may run at once (a second run of a search while the first holds its lock).
`Zygote` is the client; run this file as a script to be the server.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ENV = {"PYTHONPATH": str(REPO), "NO_COLOR": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


# ---------------------------------------------------------------- the server (a script)


def _child(req: dict[str, Any]) -> None:
    """Become the ktrun process the request describes; never returns."""
    code = 1
    try:
        os.setsid()  # its own process group: a kill of the group reaches its children too
        fd = os.open(req["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.environ.update(req.get("env", {}))
        os.chdir(req["cwd"])
        if req.get("uid") is not None:
            os.setgroups([])
            os.setgid(req["uid"])
            os.setuid(req["uid"])
        if req.get("script"):  # a Python file that patches ktrun before it runs it
            sys.argv = [req["script"], *req["args"]]
            try:
                runpy.run_path(req["script"], run_name="__main__")
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else int(e.code is not None)
        else:
            import ktrun.cli

            code = ktrun.cli.main(req["args"])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _say(message: dict[str, int]) -> None:
    print(json.dumps(message), flush=True)


def serve() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import hydra  # noqa: F401
    import keras  # noqa: F401
    import keras_tuner  # noqa: F401
    import tensorflow  # noqa: F401

    import ktrun.cli
    import ktrun.results.files
    import ktrun.runtime.search
    import ktrun.runtime.tuner  # noqa: F401

    # What every process shares is never garbage: out of the collector's sight, a child's first
    # full collection neither walks it (a fraction of a second each) nor copies its pages.
    gc.collect()
    gc.freeze()
    running: set[int] = set()
    pending, open_ = b"", True
    while open_ or running:
        if open_ and select.select([0], [], [], 0.02)[0]:
            chunk = os.read(0, 65536)
            open_ = bool(chunk)
            pending += chunk
        elif not open_:
            time.sleep(0.02)
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            pid = os.fork()
            if pid == 0:
                _child(json.loads(line))
            running.add(pid)
            _say({"pid": pid})
        for pid in list(running):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                running.discard(pid)
                _say({"exit": pid, "code": os.waitstatus_to_exitcode(status)})


# ---------------------------------------------------------------- the client


class Zygote:
    """Starts real `ktrun` processes forked from one warm interpreter (see the module docstring)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__))],
            cwd=REPO,
            env={**os.environ, **ENV},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        self._buffer = b""
        self._codes: dict[int, int] = {}

    def _message(self, timeout: float | None) -> dict[str, int] | None:
        """The server's next message; None when none came within `timeout` seconds."""
        assert self.proc.stdout is not None
        while b"\n" not in self._buffer:
            if not select.select([self.proc.stdout], [], [], timeout)[0]:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise EOFError(f"the zygote exited ({self.proc.wait()})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        message: dict[str, int] = json.loads(line)
        return message

    def _pump(self, timeout: float | None) -> dict[str, int] | None:
        """Read one message: exit codes are filed away, a new pid is returned."""
        message = self._message(timeout)
        if message is not None and "exit" in message:
            self._codes[message["exit"]] = message["code"]
        return message

    def start(
        self,
        *args: str,
        out: Path,
        env: dict[str, str] | None = None,
        uid: int | None = None,
        script: Path | None = None,
    ) -> Child:
        """Fork `ktrun ARGS` (or `python SCRIPT ARGS`; cwd: the repository) with stdout and
        stderr in `out`; return at once."""
        assert self.proc.stdin is not None
        request = {"args": list(args), "out": str(out), "cwd": str(REPO), "uid": uid, "env": env or {}}
        if script is not None:
            request["script"] = str(script)
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        self.proc.stdin.flush()
        while True:
            message = self._pump(None)
            if message is not None and "pid" in message:
                return Child(self, message["pid"], out, list(args))

    def run(
        self, *args: str, cwd: Path, uid: int | None = None, script: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `ktrun ARGS` (or `python SCRIPT ARGS`) to its end; its output goes to a file under `cwd`."""
        child = self.start(*args, out=cwd / f"out-{time.monotonic_ns()}.txt", uid=uid, script=script)
        return child.result(child.wait())

    def code(self, pid: int, timeout: float | None) -> int | None:
        """The exit code of process `pid` once it ended (waiting up to `timeout`), else None."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while pid not in self._codes:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self._pump(left) is None and deadline is not None and time.monotonic() >= deadline:
                return None
        return self._codes[pid]

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()  # the server ends once its last process has
        with contextlib.suppress(EOFError):
            while self._message(30) is not None:
                pass
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


class Child:
    """One forked ktrun process: its pid (and process group), exit code and output file."""

    def __init__(self, zygote: Zygote, pid: int, out: Path, args: list[str]) -> None:
        self.zygote, self.pid, self.out, self.args = zygote, pid, out, args

    @property
    def returncode(self) -> int | None:
        return self.zygote.code(self.pid, 0)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        code = self.zygote.code(self.pid, timeout)
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def kill_group(self) -> None:
        """SIGKILL the process and everything it started (it leads its own process group)."""
        with contextlib.suppress(ProcessLookupError):  # it ended already
            os.killpg(self.pid, signal.SIGKILL)

    def output(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace") if self.out.is_file() else ""

    def result(self, code: int) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(self.args, code, self.output(), "")


if __name__ == "__main__":
    serve()
