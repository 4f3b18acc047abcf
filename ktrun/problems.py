"""Problems found in an experiment: data with fields, so tests and CI assert on them, not on text."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from enum import StrEnum

from ktrun.config.provenance import KeyPath, Location, format_path

#: The test suite names a file here: every problem's code is appended to it, so the suite can tell
#: which codes no test makes ktrun emit (in subprocesses too). Unset for users: nothing is written.
RECORD_CODES = "KTRUN_RECORD_CODES"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Problem:
    """What is wrong (`message`), where (`path`, `location`) and how to fix it (`hint`)."""

    code: str
    severity: Severity
    path: KeyPath
    message: str
    hint: str = ""
    location: Location | None = None

    def __post_init__(self) -> None:
        record = os.environ.get(RECORD_CODES)
        if record:
            try:
                with open(record, "a", encoding="utf-8") as fh:
                    fh.write(self.code + "\n")
            except OSError:  # a bookkeeping aid of the tests: never a reason for ktrun to fail
                pass

    @property
    def key(self) -> str:
        return format_path(self.path)

    def located(self, location: Location | None) -> Problem:
        return replace(self, location=location)


def error(code: str, path: KeyPath, message: str, hint: str = "") -> Problem:
    return Problem(code, Severity.ERROR, path, message, hint)


def warning(code: str, path: KeyPath, message: str, hint: str = "") -> Problem:
    return Problem(code, Severity.WARNING, path, message, hint)


def info(code: str, path: KeyPath, message: str, hint: str = "") -> Problem:
    return Problem(code, Severity.INFO, path, message, hint)


class KtrunError(Exception):
    """Root of ktrun's exceptions: a user error, reported as problems with exit code 2."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.code}: {p.message}" for p in problems))
        self.problems = problems


class ConfigError(KtrunError, ValueError):
    """The config could not be composed or validated: nothing later can run."""
