"""Crash-safe files: atomic JSON (write, then rename) and an append-only JSON-lines journal.

Keras Tuner writes `oracle.json` and `trial.json` in place; a SIGKILL mid-write leaves a
truncated file and the re-run crashes. Everything the runtime persists goes through here: a
kill leaves either the old file or the new one, and at worst one torn journal line, which
`read_journal` skips. Process kills are what searches meet (OOM killer, Ctrl-C, a preempted
job); data reaches the page cache before the rename, so no fsync is paid per trial.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> str:
    text = json.dumps(obj)
    write_text_atomic(path, text)
    return text


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # atomic: a killed process leaves the old file or the new one


def append_journal(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, default=str) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every complete entry; a line torn by a kill is skipped."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            out.append(entry)
    return out
