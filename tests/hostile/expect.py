"""One way to assert a hostile case: exit code, no traceback, problem code, location and hint."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable

from ktrun.problems import Problem

#: Text that must never reach a user: a Python traceback, or ktrun blaming itself for their input.
FORBIDDEN = (
    "Traceback (most recent call last)",
    "internal error",
    "this is a ktrun bug",
    "internal-check-error",
)


def show(problems: Iterable[Problem]) -> str:
    return "\n".join(f"{p.severity.value} [{p.code}] {p.key} @ {p.location}: {p.message}" for p in problems)


def problem(
    problems: Iterable[Problem],
    code: str,
    *,
    key: str | None = None,
    file: str | None = None,
    override: str | None = None,
    line: int | None = None,
    hint: str | None = None,
) -> Problem:
    """The one problem with `code`, checked for a message, a hint and a location.

    `key` is the dotted key path it must name; `file` a suffix of the file it must point at (with
    a line); `override` the command-line override it must name; `hint` a piece of the hint.
    """
    problems = list(problems)
    found = [p for p in problems if p.code == code]
    assert found, f"no [{code}] in:\n{show(problems)}"
    p = found[0]
    assert p.message.strip(), p
    assert p.hint.strip(), f"[{code}] has no hint: {p}"
    if hint is not None:
        assert hint in p.hint, f"[{code}] hint {p.hint!r} lacks {hint!r}"
    if key is not None:
        assert p.key == key, f"[{code}] names {p.key!r}, expected {key!r}"
    if file is not None:
        assert p.location is not None and p.location.file, f"[{code}] has no file: {p}"
        assert p.location.file.endswith(file), f"[{code}] points at {p.location.file}, expected *{file}"
        assert p.location.line, f"[{code}] has no line: {p}"
        if line is not None:
            assert p.location.line == line, f"[{code}] points at line {p.location.line}, expected {line}"
    if override is not None:
        assert p.location is not None and p.location.override == override, (
            f"[{code}] points at {p.location}, expected override {override!r}"
        )
    for other in problems:
        assert not other.code.startswith("internal"), show(problems)
    return p


def clean_exit(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The process exited with `code` and printed nothing a user should never see; its output."""
    out = proc.stdout + proc.stderr
    for bad in FORBIDDEN:
        assert bad not in out, f"{bad!r} in the output:\n{out[-4000:]}"
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}:\n{out[-4000:]}"
    return out


def cli_problem(
    proc: subprocess.CompletedProcess[str], code: str, *, key: str | None = None, exit_code: int = 2
) -> dict[str, object]:
    """`ktrun check --format json` output: exit code, no traceback, and the problem with `code`."""
    clean_exit(proc, exit_code)
    data = json.loads(proc.stdout)
    problems = [p for c in data["configs"] for p in c["problems"]]
    found = [p for p in problems if p["code"] == code]
    assert found, f"no [{code}] in {problems}"
    p = found[0]
    assert p["message"] and p["hint"], p
    if key is not None:
        assert p["path"] == key, p
    assert p.get("override") or (p.get("file") and p.get("line")), f"[{code}] is not located: {p}"
    return p
