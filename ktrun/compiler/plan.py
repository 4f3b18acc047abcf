"""Stage 4: `CheckedSpec` → `Plan`, everything the Keras side needs, decided without TensorFlow.

The plan lists Keras Tuner registrations in dependency order (parents before the children their
`conditional_scope` names), and fixes where the search keeps its state: a directory keyed by the
experiment name and a fingerprint of the search-relevant config, so that re-running a command
resumes the same search and a changed space starts a new one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ktrun.analysis.space import Cond, Param, Space
from ktrun.analysis.values import keras_tuner_max, literal_range
from ktrun.checks import CheckedSpec
from ktrun.spec.experiment import ExperimentSpec
from ktrun.spec.hyperparameters import BooleanHp, ChoiceHp, FixedHp, FloatHp, IntHp

HpKind = Literal["Int", "Float", "Choice", "Boolean", "Fixed"]

#: Config keys that do not change what the search explores or how trials are scored: changing
#: them resumes the same search (a larger budget continues it).
NOT_SEARCH_RELEVANT: tuple[tuple[str, ...], ...] = (
    ("experiment", "description"),
    ("tuner", "max_trials"),
    ("tuner", "time_limit"),
    ("tuner", "target_score"),
    ("tuner", "patience"),
    ("tuner", "overwrite"),
    ("tuner", "state_dir"),
    ("failure_policy",),
    ("fit", "verbose"),
    ("report",),
    ("distributed",),
    ("runtime",),  # where trials run, not what they compute
    ("data", "test_path"),  # the search never reads the test split
    ("final",),  # after the search: re-running with final.retrain resumes the finished search
)


@dataclass(frozen=True)
class HpDecl:
    """One Keras Tuner registration: `hp.<kind>(name, **kwargs)` inside `conditions`' scopes."""

    name: str
    kind: HpKind
    kwargs: dict[str, Any]
    conditions: tuple[Cond, ...]


@dataclass(frozen=True)
class Plan:
    checked: CheckedSpec
    hyperparameters: tuple[HpDecl, ...]
    search_config: dict[str, Any]
    fingerprint: str
    state_root: Path

    @property
    def spec(self) -> ExperimentSpec:
        return self.checked.spec

    @property
    def project_name(self) -> str:
        return f"{self.checked.spec.experiment.name}-{self.fingerprint[:12]}"

    @property
    def state_dir(self) -> Path:
        return self.state_root / self.project_name

    @property
    def kt_seed(self) -> int:
        """Keras Tuner replaces a seed of 0 by a random one; map every seed to a positive one."""
        return self.checked.spec.experiment.seed % (2**31 - 2) + 1


def _scopes(space: Space, param: Param) -> tuple[Cond, ...]:
    """Its conditions as Keras Tuner's nested scopes open them: with its parents' own conditions
    (implied anyway: an inactive parent has no value to match), each parent after its own
    parents, since Keras Tuner looks a parent up under the scopes already open."""
    closed, todo = set(param.conditions), list(param.conditions)
    while todo:
        for c in space.params[todo.pop().parent].conditions:
            if c not in closed:
                closed.add(c)
                todo.append(c)
    return tuple(sorted(closed, key=lambda c: (len(space.ancestors({c.parent})), c.parent, str(c.values))))


def _decl(param: Param, conditions: tuple[Cond, ...]) -> HpDecl:
    d = param.decl  # a dependent bound at its widest: the implied constraint does the rest
    if isinstance(d, IntHp):
        lo, hi = literal_range(d)
        kwargs: dict[str, Any] = {
            "min_value": lo,
            "max_value": hi,
            "step": d.step,
            "sampling": d.sampling,
        }
        if d.default is not None:
            kwargs["default"] = d.default
        return HpDecl(param.name, "Int", kwargs, conditions)
    if isinstance(d, FloatHp):
        lo = literal_range(d)[0]
        kwargs = {"min_value": lo, "max_value": keras_tuner_max(d), "step": d.step, "sampling": d.sampling}
        if d.default is not None:
            kwargs["default"] = d.default
        return HpDecl(param.name, "Float", kwargs, conditions)
    if isinstance(d, ChoiceHp):
        kwargs = {"values": list(d.values)}
        if d.ordered is not None:
            kwargs["ordered"] = d.ordered
        if d.default is not None:
            kwargs["default"] = d.default
        return HpDecl(param.name, "Choice", kwargs, conditions)
    if isinstance(d, BooleanHp):
        return HpDecl(param.name, "Boolean", {"default": d.default}, conditions)
    assert isinstance(d, FixedHp)
    return HpDecl(param.name, "Fixed", {"value": d.value}, conditions)


def _search_config(checked: CheckedSpec, exclude_defaults: bool = False) -> dict[str, Any]:
    config = checked.spec.model_dump(mode="json", exclude_defaults=exclude_defaults)
    for path in NOT_SEARCH_RELEVANT:
        node = config
        for key in path[:-1]:
            node = node.get(key, {})
        node.pop(path[-1], None)
    return config


def compile_plan(checked: CheckedSpec, state_root: Path | None = None) -> Plan:
    space = checked.space
    decls = tuple(_decl(space.params[name], _scopes(space, space.params[name])) for name in space.order)
    config = _search_config(checked)
    # Only what differs from the defaults identifies a search: a key a later ktrun adds, at its
    # default, leaves every earlier search's fingerprint (and state directory) as it was.
    fingerprinted = _search_config(checked, exclude_defaults=True)
    digest = hashlib.sha256(json.dumps(fingerprinted, sort_keys=True).encode()).hexdigest()
    root = Path(state_root or checked.spec.tuner.state_dir)
    return Plan(checked, decls, config, digest, root)


def diff_configs(old: Any, new: Any, prefix: str = "") -> list[str]:
    """`hyperparameters.units.max: 128 → 256`: what changed between two search configs."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in old:
                out.append(f"{where}: added")
            elif key not in new:
                out.append(f"{where}: removed")
            else:
                out += diff_configs(old[key], new[key], where)
        return out
    if old != new:
        return [f"{prefix}: {json.dumps(old)} → {json.dumps(new)}"]
    return []
