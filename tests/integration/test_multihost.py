"""Keras Tuner's chief/worker engine across hosts, run with the README's cluster commands (read
from the README, so that what it tells users to type is what is tested).

Each host is a network namespace of its own with its own address on a private LAN (a bridge in
one more namespace), so a worker reaches the chief only over its virtual cable; the state
directory is shared, as on a cluster's shared storage. The test builds the hosts itself and
skips with the reason where it cannot (not root, no `ip`, namespaces not permitted).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.keras]

#: A grid of four points whose training does not depend on the order trials run in, or on the
#: process that runs them (seeded initializers, no dropout, no shuffling): one process and a
#: cluster must then agree on every trial's score, not only on which points were tried.
PAIR = """# @package _global_
defaults:
  - override /data: digits
  - override /model: none
  - override /tuner: grid
experiment: {name: pair}
hyperparameters:
  units: {type: choice, values: [8, 32]}
  act: {type: choice, values: [relu, tanh]}
model:
  layers:
    - {type: Flatten}
    - {type: Dense, units: $units, activation: $act, kernel_initializer: {name: glorot_uniform, seed: 1}}
    - {type: Dense, units: 10, activation: softmax, kernel_initializer: {name: glorot_uniform, seed: 2}}
fit: {epochs: 1, shuffle: false}
tuner: {max_trials: 4}
"""


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)


def _must(*args: str) -> str:
    done = _ip(*args)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr}"
    return done.stdout


def _pids(ns: str) -> list[int]:
    return [int(p) for p in _ip("netns", "pids", ns).stdout.split()]


def _signal(ns: str, sig: int) -> None:
    """`sig` to every process in the namespace `ns` (one that has just ended is fine)."""
    for pid in _pids(ns):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


class Lan:
    """Hosts (network namespaces) on one bridge; everything it made goes in `close`."""

    def __init__(self, tag: str, logs: Path) -> None:
        self.tag, self.logs = tag, logs
        self.switch = f"{tag}-lan"
        self.hosts: dict[str, str] = {}  # name -> address
        self.procs: list[subprocess.Popen[bytes]] = []
        for stale in _ip("netns", "list").stdout.split():  # a killed run's, whose pid this run has
            if stale.startswith(f"{tag}-"):
                _signal(stale, signal.SIGKILL)
                _ip("netns", "del", stale)
        made = _ip("netns", "add", self.switch)
        if made.returncode != 0:
            pytest.skip(f"cannot create a network namespace here: {made.stderr.strip()}")
        _must("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _must("-n", self.switch, "link", "set", "br0", "up")

    def ns(self, host: str) -> str:
        return f"{self.tag}-{host}"

    def add_host(self, host: str, last_octet: int) -> str:
        """A host with one cable to the bridge and the address `last_octet` on the chief's /24."""
        ns, address = self.ns(host), _address(last_octet)
        _must("netns", "add", ns)
        self.hosts[host] = address
        _must("-n", self.switch, "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns)
        _must("-n", self.switch, "link", "set", host, "master", "br0", "up")
        _must("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        _must("-n", ns, "link", "set", "eth0", "up")
        _must("-n", ns, "link", "set", "lo", "up")
        return address

    def run(self, host: str, env: dict[str, str], args: list[str]) -> subprocess.Popen[bytes]:
        """`env VAR=... ktrun ARGS` on `host`, as one types it on a node."""
        log = (self.logs / f"{host}.log").open("ab")
        assignments = [f"{k}={v}" for k, v in env.items()]
        cmd = ["ip", "netns", "exec", self.ns(host), "env", *assignments, sys.executable, "-m", "ktrun.cli"]
        proc = subprocess.Popen([*cmd, *args], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(proc)
        return proc

    def pids(self, host: str) -> list[int]:
        return _pids(self.ns(host))

    def signal_host(self, host: str, sig: int) -> None:
        _signal(self.ns(host), sig)

    def lose(self, host: str) -> None:
        """The host is gone: every process on it killed, its cable and namespace deleted."""
        self.signal_host(host, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.pids(host) and time.monotonic() < deadline:
            time.sleep(0.1)
        _ip("-n", self.switch, "link", "del", host)
        _ip("netns", "del", self.ns(host))
        del self.hosts[host]

    def sockets(self, host: str, *filters: str) -> list[tuple[str, str]]:
        """(local, peer) addresses of `host`'s TCP sockets, IPv4-mapped ones as plain IPv4."""
        out = _must("netns", "exec", self.ns(host), "ss", "-Htn", *filters)
        plain = out.replace("[::ffff:", "").replace("]:", ":")
        return [(cols[-2], cols[-1]) for cols in (line.split() for line in plain.splitlines())]

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        for host in [*self.hosts, None]:
            ns = self.switch if host is None else self.ns(host)
            if ns not in _ip("netns", "list").stdout.split():
                continue
            _signal(ns, signal.SIGKILL)
            _ip("netns", "del", ns)


@pytest.fixture
def lan(tmp_path: Path) -> Iterator[Lan]:
    if os.geteuid() != 0:
        pytest.skip("building network namespaces needs root")
    if shutil.which("ip") is None or shutil.which("ss") is None:
        pytest.skip("needs iproute2's `ip` and `ss`")
    logs = tmp_path / "logs"
    logs.mkdir()
    network = Lan(f"kt{os.getpid()}", logs)
    try:
        yield network
    finally:
        network.close()


@functools.cache
def _readme() -> dict[str, list[str]]:
    """The cluster commands in the README's "Distributed tuning", word by word: chief, worker."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("**Distributed tuning.**") :]
    start = section.index("```bash\n") + len("```bash\n")
    lines = [
        shlex.split(line, comments=True) for line in section[start : section.index("```", start)].splitlines()
    ]
    commands = [words for words in lines if words]
    roles = {"chief" if "KERASTUNER_TUNER_ID=chief" in words else "worker": words for words in commands}
    assert len(commands) == 2 and set(roles) == {"chief", "worker"}, commands
    return roles


def _variables(role: str) -> dict[str, str]:
    words = _readme()[role]
    return dict(w.split("=", 1) for w in words[: words.index("ktrun")])


def _chief() -> str:
    """The README's chief address and port. Each test's LAN is a layer-2 island of its own (no
    route to or from this machine's network), so nothing can clash with them, parallel runs
    included."""
    variables = _variables("chief")
    return f"{variables['KERASTUNER_ORACLE_IP']}:{variables['KERASTUNER_ORACLE_PORT']}"


def _address(octet: int) -> str:
    """An address on the chief's /24."""
    return f"{_chief().split(':')[0].rsplit('.', 1)[0]}.{octet}"


def _experiment(tmp_path: Path) -> Path:
    """The experiment's config dir, which every host reads (as from a shared checkout)."""
    conf = tmp_path / "conf"
    (conf / "experiment").mkdir(parents=True)
    (conf / "experiment" / "pair.yaml").write_text(PAIR)
    return conf


def _node(
    lan: Lan, host: str, tuner_id: str, conf: Path, shared: Path, *extra: str
) -> subprocess.Popen[bytes]:
    """The README's command for the chief (`tuner_id` "chief") or a worker, word for word but the
    experiment, the shared directory and the worker's id; then this test's own overrides."""
    role = "chief" if tuner_id == "chief" else "worker"
    words = _readme()[role]
    env = {**_variables(role), "KERASTUNER_TUNER_ID": tuner_id, "TF_CPP_MIN_LOG_LEVEL": "3", "NO_COLOR": "1"}
    ours = {
        "+experiment=NAME": "+experiment=pair",
        "tuner.state_dir=/shared/ktrun_state": f"tuner.state_dir={shared}",
    }
    args = words[words.index("ktrun") + 1 :]
    assert set(ours) <= set(args), args
    run_dir = lan.logs.parent / f"{host}-run"
    overrides = [ours.get(a, a) for a in args]
    return lan.run(
        host,
        env,
        ["--config-dir", str(conf), *overrides, "+data.limit=300", *extra, f"hydra.run.dir={run_dir}"],
    )


def _over_the_lan(lan: Lan, procs: list[subprocess.Popen[bytes]], workers: dict[str, str]) -> None:
    """The chief listens on its own address only; each worker's connection to it leaves from the
    worker's own address (its only way out is its cable to the LAN)."""
    chief = _chief()

    def listening() -> list[str]:
        return [local for local, _ in lan.sockets("chief", "-l")]

    def via_lan(host: str) -> list[str]:
        return [local.split(":")[0] for local, peer in lan.sockets(host) if peer == chief]

    _wait("the chief to listen", lambda: chief in listening(), procs, lan)
    assert listening() == [chief]  # not 127.0.0.1, nor every address
    for host, address in workers.items():
        _wait(f"{host} to connect to the chief", lambda: via_lan(host) == [address], procs, lan)  # noqa: B023


def _progress_shows_the_chiefs_scores(lan: Lan, host: str, run_dir: Path) -> None:
    """A worker's own progress lines carry each trial's score as the chief's oracle computed it."""
    log = (lan.logs / f"{host}.log").read_text()
    assert "FAILED" not in log, log
    with (run_dir / "trials.csv").open() as f:
        scores = {r["trial_id"]: float(r["score"]) for r in csv.DictReader(f)}
    shown = [line for line in log.splitlines() if line.startswith("trial ")]
    assert shown, log
    for line in shown:
        trial_id = line.split()[1]
        assert f"val_accuracy={scores[trial_id]:.4g} " in line, (line, scores)


def _trials(run_dir: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(units, act) -> (status, score), from the run's trials.csv."""
    with (run_dir / "trials.csv").open() as f:
        return {(r["units"], r["act"]): (r["status"], r["score"]) for r in csv.DictReader(f)}


def _oracle(state: Path) -> dict[str, object]:
    """The chief's oracle as last saved (it saves at each trial's start and end)."""
    files = list(state.glob("*/oracle.json"))
    if not files:
        return {}
    try:
        return dict(json.loads(files[0].read_text()))
    except ValueError:  # replaced between the listing and the read
        return {}


def _wait(
    what: str, ready: object, procs: list[subprocess.Popen[bytes]], lan: Lan, timeout: float = 240
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():  # type: ignore[operator]
        dead = [p.args for p in procs if p.poll() not in (None, 0)]
        assert not dead, f"exited while waiting for {what}: {dead}\n" + _logs(lan)
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n" + _logs(lan)
        time.sleep(0.2)


def _logs(lan: Lan) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-2500:]}" for p in sorted(lan.logs.glob("*.log")))


def test_the_readme_cluster_commands_run_a_search_across_two_hosts(lan: Lan, tmp_path: Path) -> None:
    conf, shared = _experiment(tmp_path), tmp_path / "shared"
    lan.add_host("chief", 1)
    lan.add_host("w0", 2)
    # The worker first: it has its data and is about to ask for a trial before the chief exists.
    worker = _node(lan, "w0", "tuner0", conf, shared, "tuner.max_trials=2")
    _wait("the worker to be ready", lambda: "grid search" in (lan.logs / "w0.log").read_text(), [worker], lan)
    chief = _node(lan, "chief", "chief", conf, shared, "tuner.max_trials=2")
    _over_the_lan(lan, [chief, worker], {"w0": _address(2)})
    assert chief.wait(timeout=300) == 0, _logs(lan)
    assert worker.wait(timeout=60) == 0, _logs(lan)
    summary = json.loads((tmp_path / "chief-run" / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["trials"]["completed"] == 2 and summary["trials"]["failed"] == 0
    assert (tmp_path / "chief-run" / "best_model.keras").is_file()  # a worker's weights, on shared storage
    assert not (tmp_path / "w0-run" / "summary.json").exists()  # the chief writes the results
    _progress_shows_the_chiefs_scores(lan, "w0", tmp_path / "chief-run")


@pytest.mark.heavy
def test_a_cluster_runs_the_one_process_search_and_recovers_a_lost_worker_host(
    lan: Lan, tmp_path: Path
) -> None:
    conf, shared = _experiment(tmp_path), tmp_path / "shared"
    alone = subprocess.run(  # the same search in one process
        [
            sys.executable,
            "-m",
            "ktrun.cli",
            "--config-dir",
            str(conf),
            "+experiment=pair",
            "+data.limit=300",
            f"tuner.state_dir={tmp_path / 'alone'}",
            f"hydra.run.dir={tmp_path / 'alone-run'}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "NO_COLOR": "1"},
    )
    assert alone.returncode == 0, alone.stdout[-3000:] + alone.stderr[-3000:]

    for octet, host in enumerate(("chief", "w0", "w1"), start=1):
        lan.add_host(host, octet)
    chief = _node(lan, "chief", "chief", conf, shared)
    w0 = _node(lan, "w0", "tuner0", conf, shared)
    w1 = _node(lan, "w1", "tuner1", conf, shared)
    everyone = [chief, w0, w1]
    _over_the_lan(lan, everyone, {"w0": _address(2), "w1": _address(3)})

    def held_by(tuner: str) -> str | None:
        ongoing = _oracle(shared).get("ongoing_trials", {})
        return dict(ongoing).get(tuner) if isinstance(ongoing, dict) else None

    # Lose w1's host while it holds a trial: frozen first, so that the trial cannot end meanwhile.
    orphan = None
    for _ in range(50):
        _wait("worker tuner1 to hold a trial", lambda: held_by("tuner1") is not None, everyone, lan)
        lan.signal_host("w1", signal.SIGSTOP)
        time.sleep(0.5)  # a request it had sent is answered, and saved, by the chief
        orphan = held_by("tuner1")
        if orphan is not None:
            break
        lan.signal_host("w1", signal.SIGCONT)
    assert orphan is not None
    lan.lose("w1")

    # The other worker runs the rest; the chief keeps the orphaned trial for tuner1 and waits.
    assert w0.wait(timeout=300) == 0, _logs(lan)
    time.sleep(2)
    assert chief.poll() is None, _logs(lan)
    assert held_by("tuner1") == orphan

    # A replacement host, with a new address and the lost worker's id, takes the trial over.
    lan.add_host("w2", 4)
    w2 = _node(lan, "w2", "tuner1", conf, shared)
    assert chief.wait(timeout=300) == 0, _logs(lan)
    assert w2.wait(timeout=60) == 0, _logs(lan)

    summary = json.loads((tmp_path / "chief-run" / "summary.json").read_text())
    reference = json.loads((tmp_path / "alone-run" / "summary.json").read_text())
    assert summary["status"] == reference["status"] == "completed"
    assert summary["trials"] == reference["trials"]
    assert summary["trials"]["completed"] == 4
    assert summary["best"] == reference["best"]
    assert _trials(tmp_path / "chief-run") == _trials(tmp_path / "alone-run")  # every point, every score
    assert (tmp_path / "chief-run" / "best_model.keras").is_file()
    ended = [
        json.loads(line)
        for path in shared.glob("*/ktrun_journal.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert sorted(e["trial_id"] for e in ended) == ["0", "1", "2", "3"]  # each ran once to its end
    assert [e["trial_id"] for e in ended][-1] == orphan  # the orphan, last, on the replacement host
    for host in ("w0", "w2"):
        _progress_shows_the_chiefs_scores(lan, host, tmp_path / "chief-run")
