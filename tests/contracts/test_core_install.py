"""The core install carries no TensorFlow: `check`, `plan` and `schema` work without the training
backend, and a run without it exits 2 with the command that installs it.

The backend is made absent the way Python sees an uninstalled package (`sys.modules[name] = None`:
`import` raises ModuleNotFoundError, `importlib.util.find_spec` returns None) in a fresh
interpreter running the real command line.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ktrun.compiler.backend import BACKEND, install_command
from tests.conftest import REPO

WITHOUT_BACKEND = (
    "import sys\n"
    f"for name in {sorted(BACKEND)!r}:\n"
    "    sys.modules[name] = None\n"
    "from ktrun.cli import main\n"
    "sys.argv = ['ktrun', *sys.argv[1:]]\n"
    "sys.exit(main())\n"
)


def without_backend(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_BACKEND, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_core_dependencies_carry_no_backend() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    for dist in [*BACKEND.values(), "tensorflow-cpu"]:
        assert dist not in core, f"{dist} is a core dependency"
    extras = project["optional-dependencies"]
    for extra in ("cpu", "gpu"):
        named = " ".join(extras[extra]).lower()
        assert all(d in named for d in ("keras", "keras-tuner", "tensorboard", "matplotlib", "scikit-learn"))
    assert any(d.startswith("tensorflow-cpu") for d in extras["cpu"])
    assert any(d.startswith("tensorflow[and-cuda]") for d in extras["gpu"])


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--all"],
        ["plan", "+experiment=mnist_cnn"],
        ["schema", "--check"],
    ],
)
def test_check_plan_and_schema_need_no_backend(args: list[str]) -> None:
    proc = without_backend(*args)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_a_run_without_the_backend_exits_2_with_the_install_command() -> None:
    proc = without_backend("+experiment=digits_mlp", "tuner.max_trials=1")
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "[backend-missing]" in proc.stdout and "Traceback" not in proc.stderr
    assert install_command("cpu") in proc.stdout and "[cpu]" in install_command("cpu")
    assert "[gpu]" in proc.stdout and "trial 0" not in proc.stdout


def test_the_install_command_names_where_this_ktrun_came_from() -> None:
    """`make install` installs a clone in editable mode: the command installs that clone again."""
    command = shlex.split(install_command("gpu"))
    assert command[:5] == [sys.executable, "-m", "pip", "install", "-e"], command
    assert command[5].endswith("[gpu]") and len(command) == 6
    project = Path(command[5].removesuffix("[gpu]")) / "pyproject.toml"
    assert tomllib.loads(project.read_text())["project"]["name"] == "ktrun"
