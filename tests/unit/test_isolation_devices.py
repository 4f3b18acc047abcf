"""Threads and GPUs per isolated worker: pure functions, exercised here on CPU with GPU lists
written out (what `nvidia-smi -L` or CUDA_VISIBLE_DEVICES would give)."""

from __future__ import annotations

import faulthandler
import os
import shutil
import signal

import pytest

from ktrun.runtime.isolation import chief_env, describe_death, visible_gpus, worker_envs


def test_workers_share_the_cores_without_oversubscribing() -> None:
    envs = worker_envs(2, [], cores=8, threads=None)
    assert [e["TF_NUM_INTRAOP_THREADS"] for e in envs] == ["4", "4"]
    assert all(e["TF_NUM_INTEROP_THREADS"] == "4" and "CUDA_VISIBLE_DEVICES" not in e for e in envs)
    assert worker_envs(3, [], cores=2, threads=None)[0]["TF_NUM_INTRAOP_THREADS"] == "1"  # never 0
    assert worker_envs(2, [], cores=8, threads=3)[1]["TF_NUM_INTRAOP_THREADS"] == "3"  # runtime.threads


def test_each_worker_gets_its_own_gpu_with_memory_growth() -> None:
    envs = worker_envs(3, ["0", "1"], cores=16, threads=None)
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["0", "1", "0"]  # more workers: shared
    assert all(e["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" for e in envs)
    assert worker_envs(2, ["GPU-a1", "GPU-b2"], cores=4, threads=None)[1]["CUDA_VISIBLE_DEVICES"] == "GPU-b2"
    assert chief_env(["3", "5"]) == {"CUDA_VISIBLE_DEVICES": "3", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
    assert chief_env([]) == {}


def test_visible_gpus_honour_the_setting_then_the_environment() -> None:
    assert visible_gpus([2, 0], {}) == ["2", "0"]
    assert visible_gpus([], {"CUDA_VISIBLE_DEVICES": "0,1"}) == []  # runtime.gpus: [] hides them
    assert visible_gpus("auto", {"CUDA_VISIBLE_DEVICES": "1, 3"}) == ["1", "3"]
    assert visible_gpus("auto", {"CUDA_VISIBLE_DEVICES": "-1"}) == []
    assert visible_gpus("auto", {"CUDA_VISIBLE_DEVICES": ""}) == []


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has nvidia-smi")
def test_auto_finds_no_gpu_without_nvidia_smi() -> None:
    assert visible_gpus("auto", {}) == []


@pytest.mark.skipif(shutil.which("nvidia-smi") is None, reason="needs a GPU machine (nvidia-smi)")
def test_auto_lists_the_gpus_nvidia_smi_lists() -> None:  # pragma: no cover - GPU machines only
    import subprocess

    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=True).stdout
    assert len(visible_gpus("auto", {})) == sum(ln.startswith("GPU ") for ln in listed.splitlines())


def test_a_death_is_told_in_words() -> None:
    pid = os.fork()
    if pid == 0:
        faulthandler.disable()  # pytest's would print the child's stack: a death on purpose
        os.kill(os.getpid(), signal.SIGSEGV)
        os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert describe_death(status) == "killed by SIGSEGV"
    pid = os.fork()
    if pid == 0:
        os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert describe_death(status) == "exited with code 1"
