"""The TensorFlow boundary is a contract: only the Keras builder and the runtime import it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

HEAVY = ("tensorflow", "keras", "keras_tuner", "tensorboard")
#: Modules allowed to import TensorFlow, Keras or keras_tuner (the Keras side of the pipeline).
ALLOWED = {"ktrun/compiler/keras_model.py", "ktrun/runtime"}


def test_check_never_imports_tensorflow() -> None:
    code = (
        "import sys, json\n"
        "from ktrun.cli import main\n"
        "rc = main(['check', '--all', '--format', 'json'])\n"
        "rc += main(['plan', '+experiment=mnist_cnn'])\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(json.dumps({'rc': rc, 'heavy': heavy}), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    result = json.loads(proc.stderr.strip().splitlines()[-1])
    assert result["rc"] == 0, proc.stdout[-2000:]
    assert result["heavy"] == []


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_keras_side_imports_tensorflow() -> None:
    offenders = []
    for path in sorted((REPO / "ktrun").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel in ALLOWED or any(rel.startswith(a + "/") for a in ALLOWED):
            continue
        bad = _imports(path) & set(HEAVY)
        if bad:
            offenders.append(f"{rel}: {sorted(bad)}")
    assert offenders == []
