"""The README's examples are current: its abridged experiment is the shipped file's, and every
search command it shows composes and checks (what it needs of the reader's disk aside)."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import yaml

from ktrun.pipeline import check_one
from tests.conftest import CONF, REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
#: What a command needs of the reader's own disk (their data, an earlier run): not the README's fault.
READERS_FILES = frozenset({"data-file-missing", "image-folder-layout", "data-loader-required"})


def _commands() -> list[str]:
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", README, re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("ktrun ")]


SEARCHES = [c for c in _commands() if not re.match(r"ktrun (check|plan|help|schema)\b", c)]


def test_the_abridged_mnist_cnn_is_the_shipped_one() -> None:
    block = re.search(
        r"This is `conf/experiment/mnist_cnn.yaml`, abridged:\n\n```yaml\n(.*?)```", README, re.S
    )
    assert block is not None
    shown = yaml.safe_load(block.group(1))
    shipped = yaml.safe_load((CONF / "experiment" / "mnist_cnn.yaml").read_text(encoding="utf-8"))
    for section in ("defaults", "hyperparameters", "constraints", "model", "fit", "tuner"):
        assert shown[section] == shipped[section], section
    assert shown["objective"]["name"] == shipped["objective"]["name"]

    def leaves(tree: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
        if not isinstance(tree, dict):
            return {path: tree}
        return {k: v for key, sub in tree.items() for k, v in leaves(sub, (*path, key)).items()}

    shipped_leaves = leaves(shipped)
    for path, value in leaves(shown).items():  # abridged: nothing shown that the file says otherwise
        assert shipped_leaves.get(path, value) == value, path


def test_the_readme_shows_search_commands() -> None:
    assert len(SEARCHES) >= 15, SEARCHES


@pytest.mark.parametrize("command", SEARCHES)
def test_each_search_command_the_readme_shows_checks(command: str) -> None:
    args = shlex.split(command)[1:]
    if any(
        a.startswith("+experiment=") and not (CONF / "experiment" / f"{a[12:]}.yaml").exists() for a in args
    ):
        pytest.skip(f"an experiment of the reader's own: {command}")
    report = check_one(args)
    errors = [p for p in report.errors if p.code not in READERS_FILES]
    assert not errors, [f"[{p.code}] {p.key}: {p.message}" for p in errors]
