"""Shared helpers: the repo's paths and an in-process `ktrun check`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def run_cli(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The real command line, in a fresh interpreter (what users and CI run)."""
    return subprocess.run(
        [sys.executable, "-m", "ktrun.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {}), "NO_COLOR": "1"},
    )


@pytest.fixture
def tmp_conf(tmp_path: Path) -> Path:
    """An empty extra config dir with an `experiment/` group, for one-off experiments."""
    (tmp_path / "experiment").mkdir()
    return tmp_path
