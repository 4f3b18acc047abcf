"""Runs `ktrun` as real, forked processes from an interpreter that imported TensorFlow once.

Each request is one real process (its own pid, exit code, stdout/stderr file, cwd and uid): only
the 8 s import of TensorFlow, Keras and Keras Tuner is shared, which keeps the state group's 35+
cases near a minute. Requests are JSON lines on stdin; the exit code comes back on stdout.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import hydra  # noqa: F401
import keras  # noqa: F401
import keras_tuner  # noqa: F401
import tensorflow  # noqa: F401

import ktrun.cli
import ktrun.results.files
import ktrun.runtime.search
import ktrun.runtime.tuner


def serve() -> None:
    for line in sys.stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the child is the ktrun process
            fd = os.open(req["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.environ.update(req.get("env", {}))
            os.chdir(req["cwd"])
            code = 1
            try:
                if req.get("uid") is not None:
                    os.setgroups([])
                    os.setgid(req["uid"])
                    os.setuid(req["uid"])
                code = ktrun.cli.main(req["args"])
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    serve()
