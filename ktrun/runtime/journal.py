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

JOURNAL = "ktrun_journal.jsonl"


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> str:
    text = json.dumps(obj)
    write_text_atomic(path, text)
    return text


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)  # atomic: a killed process leaves the old file or the new one
    except OSError:  # a full or read-only disk: no half-written temp file left behind
        tmp.unlink(missing_ok=True)
        raise


def append_journal(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, default=str) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every complete entry; a line torn by a kill (or otherwise damaged) is skipped."""
    return scan_journal(path)[0]


def scan_journal(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    """The journal's valid entries, and the (1-based) numbers of the lines that are not one.

    A valid entry is a JSON object with a string `trial_id` and `status`; anything else (a torn
    line, foreign JSON, bytes that are not UTF-8) is damage, never a reason to crash.
    """
    if not path.is_file():
        return [], []
    out, bad = [], []
    for number, raw in enumerate(path.read_bytes().splitlines(), 1):
        try:
            entry = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            entry = None
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("trial_id"), str)
            and isinstance(entry.get("status"), str)
        ):
            out.append(entry)
        elif raw.strip():
            bad.append(number)
    return out, bad
