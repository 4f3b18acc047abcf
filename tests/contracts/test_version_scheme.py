"""One version, said everywhere it is pinned: releases are git tags `vMAJOR.MINOR.PATCH` equal to
pyproject's `version`, which pre-commit's `rev:` and the PR workflow's install line pin."""

from __future__ import annotations

import re
import tomllib

import ktrun
from tests.conftest import REPO

VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_the_version_is_major_minor_patch_and_the_package_says_it() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION), VERSION
    assert ktrun.__version__ == VERSION


def test_every_pinned_tag_is_the_current_version() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    revs = re.findall(r"^\s*rev: (\S+)", readme, re.M)
    assert revs == [f"v{VERSION}"], "README's pre-commit example pins the current release tag"
    hooks = (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert re.findall(r"rev: (\S+)", hooks) == [f"v{VERSION}"]
    pins = re.findall(r"REPO@(v[\w.]+)", (REPO / "docs" / "ktrun-plan-workflow.yml").read_text())
    assert pins and set(pins) == {f"v{VERSION}"}
    assert set(re.findall(r"REPO@(v[\w.]+)", readme)) == {f"v{VERSION}"}
