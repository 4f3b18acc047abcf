"""First contact: ktrun's own help, version, per-command help, and shell completion."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ktrun.cli import main
from tests.conftest import CONF, REPO, run_cli


def test_help_is_ktruns_own_page(capsys: pytest.CaptureFixture[str]) -> None:
    """Not Hydra's generic "powered by Hydra" page: the commands, the common overrides, this
    tree's experiments and groups, where results go, and how to reach Hydra's own help."""
    for argv in (["--help"], ["-h"], ["help"], ["+experiment=mnist_cnn", "--help"]):
        assert main(argv) == 0
        page = capsys.readouterr().out
        assert "powered by Hydra" not in page
        for text in ("ktrun check", "ktrun plan", "ktrun schema", "ktrun help", "+experiment=NAME"):
            assert text in page, (argv, text)
        assert "tuner=" + "|".join(sorted(p.stem for p in (CONF / "tuner").glob("*.yaml"))) in page
        assert "mnist_cnn" in page and "outputs/<experiment.name>/" in page
        assert "--hydra-help" in page and "-m tuner=random,bayesian" in page


def test_hydra_help_is_still_reachable() -> None:
    proc = run_cli("--hydra-help")
    assert proc.returncode == 0, proc.stderr
    assert "Hydra (" in proc.stdout and "--multirun" in proc.stdout


def test_version_is_ktruns(capsys: pytest.CaptureFixture[str]) -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ktrun {version}") and "Hydra" not in out


@pytest.mark.parametrize("command", ["check", "plan", "schema"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`ktrun help CMD` and `ktrun CMD --help` print the same page: usage and what each option does."""
    assert main(["help", command]) == 0
    page = capsys.readouterr().out
    assert page.startswith(f"usage: ktrun {command}")
    assert "--config-dir" in page or command == "schema"
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out == page


def test_help_for_an_unknown_command_says_which_exist(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["help", "chek"]) == 2
    assert "pick one of: check, plan, schema, help" in capsys.readouterr().err


def test_shell_completion_without_a_subcommand_is_a_usage_message() -> None:
    for args in (["--shell-completion"], ["-sc", "install=tcsh"], ["-sc", "install=bash", "query=bash"]):
        proc = run_cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert 'eval "$(ktrun -sc install=bash)"' in proc.stderr


def _query(line: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What `ktrun -sc query=bash` answers bash for the line typed so far (bash's COMP_LINE)."""
    monkeypatch.setenv("COMP_LINE", line)
    assert main(["-sc", "query=bash"]) == 0
    return capsys.readouterr().out.split()


def test_completion_knows_commands_experiments_groups_and_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    experiments = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
    first = _query("ktrun ", capsys, monkeypatch)
    assert {"check", "plan", "schema", "help", "tuner=", "fit.", "+experiment="} <= set(first)
    assert "experiment=" not in first  # no such default: only `+experiment=` works
    assert _query("ktrun ch", capsys, monkeypatch) == ["check"]
    assert _query("ktrun +experiment=", capsys, monkeypatch) == [f"+experiment={n}" for n in experiments]
    assert _query("ktrun check +experiment=mn", capsys, monkeypatch) == ["+experiment=mnist_cnn"]
    assert _query("ktrun fit.ep", capsys, monkeypatch) == ["fit.epochs="]
    assert "tuner=tpe" in _query("ktrun -m tuner=", capsys, monkeypatch)
    assert _query("ktrun check --st", capsys, monkeypatch) == ["--strict"]
    assert _query("ktrun --vers", capsys, monkeypatch) == ["--version"]
    assert _query("ktrun help ", capsys, monkeypatch) == ["check", "plan", "schema", "help"]
    mine = tmp_path / "experiment"
    mine.mkdir()
    (mine / "my_search.yaml").write_text("# @package _global_\n")
    line = f"ktrun check --config-dir {tmp_path} +experiment=my"
    assert _query(line, capsys, monkeypatch) == ["+experiment=my_search"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_installed_bash_completion_completes(tmp_path: Path) -> None:
    """The script `-sc install=bash` prints, evaluated by bash and asked as bash asks (a `ktrun`
    on PATH, COMP_LINE and COMP_CWORD), completes subcommands and experiment names."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "ktrun"
    shim.write_text(f'#!/bin/sh\ncd {REPO} && exec {sys.executable} -m ktrun.cli "$@"\n')
    shim.chmod(0o755)
    script = """
eval "$(ktrun -sc install=bash)"
COMP_LINE='ktrun check +experiment=digits_m'; COMP_POINT=${#COMP_LINE}; COMP_CWORD=2
hydra_bash_completion; echo "A:${COMPREPLY[*]}"
COMP_LINE='ktrun pl'; COMP_POINT=${#COMP_LINE}; COMP_CWORD=1
hydra_bash_completion; echo "B:${COMPREPLY[*]}"
"""
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "A:+experiment=digits_mlp" in proc.stdout.splitlines(), proc.stdout + proc.stderr
    assert "B:plan" in proc.stdout.splitlines(), proc.stdout + proc.stderr
