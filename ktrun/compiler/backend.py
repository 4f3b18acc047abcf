"""The training backend (TensorFlow, Keras, Keras Tuner, ...) is an extra: `ktrun[cpu]` or `ktrun[gpu]`.

The core install is enough for `check`, `plan`, `schema` and the pre-commit hook, and carries no
TensorFlow. A run without the backend stops before anything is read or trained, with the exact
command that installs it the way this ktrun was installed (from a clone, a git URL or an index).
"""

from __future__ import annotations

import json
import shlex
import sys
from importlib import metadata, util

from ktrun import problems as pb
from ktrun.problems import Problem

#: What a run imports that the core install lacks (import name → distribution, for the message).
BACKEND = {
    "tensorflow": "tensorflow",
    "keras": "keras",
    "keras_tuner": "keras-tuner",
    "tensorboard": "tensorboard",
    "matplotlib": "matplotlib",
    "sklearn": "scikit-learn",
}


def missing_backend() -> list[str]:
    """The backend's distributions that cannot be imported (found without importing them)."""
    return [dist for name, dist in BACKEND.items() if util.find_spec(name) is None]


def install_command(extra: str = "cpu") -> str:
    """`pip install` of this ktrun with `extra`, from where it came (PEP 610's direct_url.json)."""
    pip = f"{shlex.quote(sys.executable)} -m pip install"
    try:
        origin = json.loads(metadata.distribution("ktrun").read_text("direct_url.json") or "{}")
    except (metadata.PackageNotFoundError, ValueError):
        origin = {}
    url = str(origin.get("url", ""))
    if url.startswith("file://") and origin.get("dir_info", {}).get("editable"):
        return f"{pip} -e {shlex.quote(url.removeprefix('file://') + f'[{extra}]')}"
    vcs = origin.get("vcs_info")
    if isinstance(vcs, dict) and url:
        commit = vcs.get("commit_id")
        where = f"{vcs.get('vcs', 'git')}+{url}" + (f"@{commit}" if commit else "")
        return f"{pip} {shlex.quote(f'ktrun[{extra}] @ {where}')}"
    if url.startswith("file://"):
        return f"{pip} {shlex.quote(url.removeprefix('file://') + f'[{extra}]')}"
    return f"{pip} {shlex.quote(f'ktrun[{extra}]')}"


def backend_problems() -> list[Problem]:
    """`backend-missing` when a run cannot train here; none when it can."""
    missing = missing_backend()
    if not missing:
        return []
    return [
        pb.error(
            "backend-missing",
            (),
            f"a run trains with TensorFlow, which this installation lacks ({', '.join(missing)} not "
            "installed); `ktrun check`, `plan` and `schema` work without it",
            f"install the CPU backend: {install_command('cpu')}   (or, with an NVIDIA GPU: "
            f"{install_command('gpu')})",
        )
    ]
