"""The pull-request workflow as written (docs/ktrun-plan-workflow.yml), on a real git repository.

The test makes a repository with a conf/ tree, commits a base, then a change that edits one
experiment, deletes one, renames one and adds one, and runs the workflow's own check and plan
scripts (bash, `ktrun` on PATH) as GitHub Actions would; the workflow's structure (what runs
when a step fails, how ktrun is installed) is read from the YAML itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CONF, REPO

WORKFLOW = REPO / "docs" / "ktrun-plan-workflow.yml"
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]

NEW_EXPERIMENT = """\
# @package _global_
defaults:
  - override /data: digits
  - override /model: none
experiment: {name: fresh}
hyperparameters:
  width: {type: choice, values: [8, 16]}
model:
  layers:
    - {type: Flatten}
    - {type: Dense, units: $width, activation: relu}
    - {type: Dense, units: 10, activation: softmax}
fit: {epochs: 1}
tuner: {max_trials: 2}
"""


def steps() -> dict[str, dict[str, Any]]:
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    (job,) = jobs.values()
    return {s.get("id") or s.get("name") or s["uses"]: s for s in job["steps"]}


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A pull request's checkout: `origin/main` is the base, HEAD the change."""
    repo = tmp_path / "repo"
    exp = repo / "conf" / "experiment"
    exp.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    shutil.copy(CONF / "experiment" / "digits_mlp.yaml", exp / "edited.yaml")
    shutil.copy(CONF / "experiment" / "digits_cnn.yaml", exp / "dropped.yaml")
    shutil.copy(CONF / "experiment" / "mnist_cnn.yaml", exp / "old_name.yaml")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    _git(repo, "checkout", "-q", "-b", "change")
    edited = exp / "edited.yaml"
    edited.write_text(edited.read_text().replace("epochs: 8", "epochs: 4"))
    _git(repo, "rm", "-q", "conf/experiment/dropped.yaml")
    _git(repo, "mv", "conf/experiment/old_name.yaml", "conf/experiment/new_name.yaml")
    (exp / "fresh.yaml").write_text(NEW_EXPERIMENT)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "change")
    return repo


def run_step(repo: Path, step_id: str) -> subprocess.CompletedProcess[str]:
    """One `run:` script of the workflow, as Actions runs it (`shell: bash` is `bash -eo
    pipefail`), with `ktrun` on PATH running this checkout."""
    step = steps()[step_id]
    bin_dir = repo.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "ktrun"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ktrun.cli "$@"\n')
    shim.chmod(0o755)
    env = {
        **os.environ,
        **{k: str(v) for k, v in step.get("env", {}).items() if "${{" not in str(v)},
        "BASE_REF": "main",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_workflow_installs_ktrun_from_its_repository_not_by_a_package_name() -> None:
    runs = [s.get("run", "") for s in steps().values()]
    assert not any(re.search(r"pip install ktrun(\s|$)", r) for r in runs), "ktrun is not on PyPI"
    install = [r for r in runs if "pip install" in r]
    assert install == [f'pip install "ktrun @ git+https://github.com/OWNER/REPO@v{VERSION}"']


def test_the_plan_is_commented_even_when_the_check_fails_and_the_job_fails_after() -> None:
    s = steps()
    assert s["check"]["continue-on-error"] is True
    assert s["plan"]["if"] == "always()" and s["plan"]["continue-on-error"] is True
    comment = s["Comment"]
    assert comment["if"] == "always()"
    assert "gh pr comment" in comment["run"] and "[ -s plan.md ]" in comment["run"]
    names = list(s)
    last = s[names[-1]]
    assert names.index("Comment") < names.index(names[-1])
    assert last["if"].startswith("always() &&")
    assert "steps.check.outcome == 'failure'" in last["if"]
    assert "steps.plan.outcome == 'failure'" in last["if"]
    assert last["run"] == "exit 1"
    checkout = s["actions/checkout@v4"]
    assert checkout["with"]["fetch-depth"] == 0


@pytest.mark.slow  # six fresh interpreters each
def test_the_workflow_plans_an_edited_a_new_a_deleted_and_a_renamed_experiment(repo: Path) -> None:
    check = run_step(repo, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    proc = run_step(repo, "plan")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plan = (repo / "plan.md").read_text()
    sections = {
        m.group(1): m.start() for m in re.finditer(r"^### ktrun plan: `\+experiment=(\w+)`", plan, re.M)
    }
    assert sorted(sections) == ["dropped", "edited", "fresh", "new_name"], plan
    base = _git(repo, "merge-base", "origin/main", "HEAD").strip()
    assert f"#### Changes against `{base}`" in plan

    def section(name: str) -> str:
        start = sections[name]
        later = [s for s in sections.values() if s > start]
        return plan[start : min(later, default=len(plan))]

    assert "- budget: fit.epochs 8 → 4" in section("edited")
    assert "deleted in this change: `conf/experiment/dropped.yaml`" in section("dropped")
    assert "❌" not in section("dropped") and "error" not in section("dropped")
    assert "- new experiment: not in" in section("fresh")
    assert "does not check cleanly" not in plan
    renamed = section("new_name")
    assert "- renamed from `conf/experiment/old_name.yaml` (compared with it)" in renamed
    assert "- no change to the search" in renamed


@pytest.mark.slow  # six fresh interpreters each
def test_a_broken_experiment_fails_the_check_and_still_gets_its_plan(repo: Path) -> None:
    broken = repo / "conf" / "experiment" / "edited.yaml"
    broken.write_text(broken.read_text().replace("epochs: 4", "epochs: 0"))
    _git(repo, "commit", "-q", "-am", "break it")
    check = run_step(repo, "check")
    assert check.returncode == 2
    assert "::error file=" in check.stdout
    proc = run_step(repo, "plan")
    assert proc.returncode == 2  # the step fails (continue-on-error), the comment still runs
    plan = (repo / "plan.md").read_text()
    assert "### ktrun plan: `+experiment=edited`" in plan and "❌" in plan
    assert "fit.epochs" in plan
    assert "- new experiment: not in" in plan  # the other plans are all there


def _plan(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ktrun.cli", "plan", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **(env or {})},
    )


def _user_error(proc: subprocess.CompletedProcess[str], *pieces: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "internal error" not in proc.stderr and "bug in ktrun" not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "hint:" in proc.stderr
    for piece in pieces:
        assert piece in proc.stderr, proc.stderr


def test_an_unknown_ref_is_a_user_error_naming_the_ref_and_the_repository(repo: Path) -> None:
    proc = _plan(repo, "--config-dir", "conf", "conf/experiment/edited.yaml", "--base", "origin/nope")
    _user_error(proc, "no commit `origin/nope`", str(repo), "fetch-depth: 0")
    proc = _plan(repo, "--config-dir", "conf", "conf/experiment/edited.yaml", "--base=--output=x")
    _user_error(proc, "no commit `--output=x`")


def test_a_config_tree_outside_git_is_a_user_error(tmp_path: Path) -> None:
    outside = tmp_path / "plain"
    (outside / "experiment").mkdir(parents=True)
    shutil.copy(CONF / "experiment" / "digits_mlp.yaml", outside / "experiment" / "x.yaml")
    proc = _plan(
        tmp_path,
        "--config-dir",
        str(outside),
        "+experiment=x",
        "--base",
        "main",
        env={"GIT_CEILING_DIRECTORIES": str(tmp_path)},
    )
    _user_error(proc, f"the config tree {outside} is not inside a git repository", "--base path/to/old.yaml")


def test_a_missing_base_file_is_a_user_error(repo: Path) -> None:
    proc = _plan(repo, "--config-dir", "conf", "conf/experiment/edited.yaml", "--base", "gone.yaml")
    _user_error(proc, "--base gone.yaml: no such file")


def test_a_config_tree_new_since_the_base_makes_every_experiment_new(repo: Path) -> None:
    shutil.copytree(repo / "conf", repo / "conf2")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "a second tree")
    proc = _plan(repo, "--config-dir", "conf2", "conf2/experiment/edited.yaml", "--base", "origin/main")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "- new experiment: not in `origin/main`" in proc.stdout
