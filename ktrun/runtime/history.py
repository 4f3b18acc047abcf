"""`tuner.warm_start.search`: an earlier search's completed trials, as history for this one.

The earlier search is read from the `trials.csv` ktrun wrote (its run directory, or the file),
with the `summary.json` beside it saying which objective its scores are. A trial is history only
where it fits this search exactly: a value of the current domain for every hyperparameter active
at its point, none for one that is not, the fixed values the same, the constraints and shape
rules met. It is told to the algorithm (marked tried, so never trained again; a Gaussian process
or an Optuna sampler learns from its score) and is no trial of this search: it spends no budget
and is never `best`, since its model is not here. What does not fit is counted by reason.

The file is named by the user's own config (`ktrun check` never opens it), read once per start:
stat-ed first (a FIFO never opened), capped in size, and every echoed cell clipped.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import stat
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ktrun import problems as pb
from ktrun.analysis.feasibility import Checker
from ktrun.analysis.space import Space, domain_value
from ktrun.data.files import kind_of, shown, shown_path, size
from ktrun.problems import Problem
from ktrun.spec.hyperparameters import FixedHp
from ktrun.spec.refs import Scalar

KEY = ("tuner", "warm_start", "search")
CODE = "warm-start-history"
TRIALS_CSV = "trials.csv"
SUMMARY_JSON = "summary.json"
#: trials.csv of a 100,000-trial search is about 20 MB.
MAX_BYTES = 64 << 20
#: Columns of trials.csv that are not hyperparameters (besides the objectives after the first).
NOT_HYPERPARAMETERS = frozenset(
    {"trial_id", "status", "failure_class", "score", "score_std", "epochs", "seconds", "phase"}
    | {"exception_type", "message"}
)
HINT = "point tuner.warm_start.search at the run directory of an earlier ktrun search (or its trials.csv)"


@dataclass(frozen=True)
class Told:
    """One earlier trial that fits: its point, and its value for each objective (the first: its score)."""

    trial_id: str
    values: dict[str, Scalar]
    objectives: tuple[float, ...]


@dataclass
class History:
    source: Path
    told: list[Told] = field(default_factory=list)
    #: Completed earlier trials that do not fit, by why.
    skipped: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        """What the console says of it."""
        n = len(self.told) + sum(self.skipped.values())
        source = shown(self.source, 160)
        out = f"warm start: {len(self.told)} of {n} completed trial(s) of {source} told to the search"
        if self.skipped:
            whys = "; ".join(f"{c} {why}" for why, c in self.skipped.most_common(3))
            more = "" if len(self.skipped) <= 3 else f"; {len(self.skipped) - 3} other reason(s)"
            out += f" ({sum(self.skipped.values())} do not fit this space: {whys}{more})"
        return out


def read_history(
    name: str, space: Space, checker: Checker, objectives: Sequence[tuple[str, str]]
) -> History | list[Problem]:
    """The earlier search's trials that fit, or the problems that stop this search from starting.

    `objectives` are this search's (name, direction), the first Keras Tuner's score.
    """
    given = Path(name).expanduser()
    csv_path = given / TRIALS_CSV if given.is_dir() else given
    text = _read(csv_path)
    if isinstance(text, Problem):
        return [text]
    summary = _summary(csv_path.parent / SUMMARY_JSON)
    mismatch = _objective_mismatch(summary, csv_path.parent / SUMMARY_JSON, objectives)
    if mismatch is not None:
        return [mismatch]
    rows = csv.DictReader(io.StringIO(text))
    header = rows.fieldnames or []
    needed = ["trial_id", "status", "score", *(o for o, _ in objectives[1:])]
    missing = [c for c in needed if c not in header]
    if missing:
        return [
            pb.error(
                CODE,
                KEY,
                f"{shown_path(csv_path)} is no trials.csv of a ktrun search like this one: it has no "
                f"column {', '.join(missing)}",
                HINT + (", of a search with the same objectives" if len(objectives) > 1 else ""),
            )
        ]
    history = History(csv_path)
    # Objective columns (this search's, and the earlier one's, which its summary lists) are no
    # hyperparameters: an earlier search for accuracy against size has a `params` column.
    others = {o for o, _ in objectives[1:]} | _objective_names(summary)
    for row in rows:
        if row.get("status") != "completed":
            continue
        scores = _scores(row, ["score", *(o for o, _ in objectives[1:])])
        if scores is None:
            history.skipped["have no finite score"] += 1
            continue
        point = _fit(row, space, checker, others)
        if isinstance(point, str):
            history.skipped[point] += 1
        else:
            history.told.append(Told(str(row.get("trial_id")), point, scores))
    return history


def _read(path: Path) -> str | Problem:
    def bad(why: str, hint: str = HINT) -> Problem:
        return pb.error(CODE, KEY, f"the earlier search {shown_path(path)} {why}", hint)

    try:
        mode = os.stat(path)
    except FileNotFoundError:
        return bad("does not exist", HINT + "; a run directory holds trials.csv and summary.json")
    except OSError as e:
        return bad(f"cannot be read: {shown(e.strerror or e)}")
    if not stat.S_ISREG(mode.st_mode):
        return bad(f"is {kind_of(mode.st_mode)}, not a regular file")
    if mode.st_size > MAX_BYTES:
        return bad(f"is {size(mode.st_size)}, more than a trials.csv ktrun reads ({size(MAX_BYTES)})")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since the stat
                return bad("is not a regular file")
            raw = fh.read(MAX_BYTES + 1)
    except OSError as e:
        return bad(f"cannot be read: {shown(e.strerror or e)}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return bad("is not text (UTF-8): no trials.csv ktrun wrote")


def _summary(path: Path) -> dict[str, Any]:
    """The earlier run's summary.json ({} when there is none: a trials.csv on its own)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _objective_names(summary: dict[str, Any]) -> set[str]:
    pareto = summary.get("pareto")
    listed = pareto.get("objectives") if isinstance(pareto, dict) else None
    return {o["name"] for o in listed or [] if isinstance(o, dict) and isinstance(o.get("name"), str)}


def _objective_mismatch(
    summary: dict[str, Any], path: Path, objectives: Sequence[tuple[str, str]]
) -> Problem | None:
    """Scores of another objective (or direction) would teach the sampler the wrong thing."""
    found = summary.get("objective")
    if not isinstance(found, dict):
        return None  # a trials.csv on its own: its score is taken to be this objective
    name, direction = objectives[0]
    if (found.get("name"), found.get("direction")) == (name, direction):
        return None
    return pb.error(
        CODE,
        KEY,
        f"the earlier search optimised {shown(found.get('name'))} ({shown(found.get('direction'))}) "
        f"by its {shown_path(path)}; this one optimises {name} ({direction}): its scores are no "
        "history for this search",
        "warm-start from a search with the same objective, or remove tuner.warm_start.search",
    )


def _scores(row: dict[str, str | None], columns: list[str]) -> tuple[float, ...] | None:
    out = []
    for c in columns:
        try:
            v = float(row.get(c) or "nan")
        except ValueError:
            return None
        if not math.isfinite(v):
            return None
        out.append(v)
    return tuple(out)


def _fit(
    row: dict[str, str | None], space: Space, checker: Checker, objectives: set[str]
) -> dict[str, Scalar] | str:
    """The row's point in this space, or why it is not one."""
    point: dict[str, Scalar] = {}
    for name in space.order:
        if not space.is_active(name, point):
            continue
        param = space.params[name]
        text = row.get(name) or ""
        found = domain_value(param, _typed(text)) if text else None
        if text and found is None:
            found = domain_value(param, text)  # a choice of strings that read as numbers ("1e-3")
        if isinstance(param.decl, FixedHp):
            if text and found is None:
                return f"have another value for {name}, fixed here"
            point[name] = param.decl.value
        elif not text:
            return f"have no value for {name}"
        elif found is None:
            return f"have a value of {name} outside its range"
        else:
            point[name] = found
    for column, other in row.items():
        if column is None or column in NOT_HYPERPARAMETERS or column in objectives or column in point:
            continue
        if other:
            known = column in space.params
            return f"have a value for {column}, {'inactive' if known else 'no hyperparameter'} here"
    if checker.violations(point):
        return "break a constraint or shape rule of this search"
    return point


def _typed(text: str) -> Scalar:
    """A trials.csv cell as the value it was written from (ints, floats, booleans, strings)."""
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
