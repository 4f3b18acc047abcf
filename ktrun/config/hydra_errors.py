"""Hydra's exceptions → ktrun problems: what went wrong while composing, where it was asked for
(the override, or the defaults entry in a file), and how to fix it."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import TypeVar

import yaml

from ktrun import problems as pb
from ktrun.config.provenance import Location, display_path
from ktrun.problems import Problem

_E = TypeVar("_E", bound=BaseException)


def yaml_problem(e: yaml.MarkedYAMLError) -> Problem:
    mark = e.problem_mark or e.context_mark
    loc = None
    if mark is not None:
        loc = Location(display_path(Path(mark.name)), mark.line + 1, mark.column + 1)
    text = f"{e.context + ': ' if e.context else ''}{e.problem or 'invalid YAML'}"
    if "python/" in (e.problem or ""):
        return pb.error(
            "yaml-unsafe-tag",
            (),
            f"YAML tag refused: {e.problem}",
            "ktrun configs are data: remove the `!!python/...` tag and write the value itself",
        ).located(loc)
    return pb.error(
        "yaml-syntax",
        (),
        f"YAML syntax error: {text}",
        "fix the YAML at this line (check indentation, brackets and `key: value` spacing)",
    ).located(loc)


def _unparsable_override(overrides: list[str]) -> str | None:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for o in overrides:
        try:
            parser.parse_overrides([o])
        except Exception:
            return o
    return None


def _defaults_line(option: str, overrides: list[str], dirs: list[Path]) -> Location | None:
    """Where a missing group option was asked for: an override, or a defaults entry in a file."""
    culprit = next((o for o in overrides if o.rpartition("=")[2] == option), None)
    if culprit:
        return Location(override=culprit)
    files = [d / "config.yaml" for d in dirs]  # the primary config
    for o in overrides:
        key, _, value = o.partition("=")
        files += [d / key.lstrip("+~") / f"{value}.yaml" for d in dirs]
    pattern = re.compile(rf"^\s*-\s*(override\s+)?/?[\w/]+\s*:\s*{re.escape(option)}\s*$")
    for f in files:
        if f.is_file():
            for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.match(line):
                    return Location(display_path(f), n, line.index("-") + 1)
    return None


def hydra_problem(e: Exception, overrides: list[str], dirs: list[Path]) -> Problem:
    """Dispatch on the exception's type and attributes, and on the overrides themselves; Hydra's
    message is only shown (clipped), never parsed: its wording changes between releases."""
    from hydra.errors import MissingConfigException, OverrideParseException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    from ktrun.config.trust import clip

    marked = in_chain(e, yaml.MarkedYAMLError)
    if marked is not None:
        return yaml_problem(marked)
    text = str(e).split("\nConfig search path:")[0].strip()
    text = "\n".join(clip(line.replace("\t", "      "), 400) for line in text.splitlines()[:40])
    if isinstance(e, OverrideParseException):
        culprit = e.override if e.override in overrides else _unparsable_override(overrides)
        return pb.error(
            "override-syntax",
            (),
            f"cannot parse the override: {text}",
            "write overrides as key=value, +key=value to add, ~key to delete; quote lists "
            "and strings with special characters",
        ).located(Location(override=culprit) if culprit else None)
    if isinstance(e, MissingConfigException):
        group, _, option = (e.missing_cfg_file or "").rpartition("/")
        asked = next((o for o in overrides if o.rpartition("=")[2] == option), None)
        close = difflib.get_close_matches(option, list(e.options or ()), n=1)
        typed = f"{asked.rpartition('=')[0]}={close[0]}" if asked and close else close[0] if close else ""
        return pb.error(
            "config-not-found",
            (),
            text.replace("\n\n", "\n"),
            (f"did you mean `{typed}`? " if typed else "")
            + "pick one of the available options listed above (names are file names without .yaml)",
        ).located(_defaults_line(option, overrides, dirs))
    missing_key = in_chain(e, (ConfigAttributeError, ConfigKeyError))
    if missing_key is not None and missing_key.full_key:  # an override of a key that is not there
        key = str(missing_key.full_key)
        culprit = next((o for o in overrides if o.partition("=")[0].lstrip("+~") == key), None)
        return pb.error(
            "compose-error",
            tuple(key.split(".")),
            f"cannot set `{key}`: the key is not in the composed config",
            _override_hint(key, culprit),
        ).located(Location(override=culprit) if culprit else None)
    unselected = _unselected_group(overrides, dirs)
    if unselected is not None:  # `experiment=x`: a group the defaults do not list
        group, option = unselected.partition("=")[0], unselected.partition("=")[2]
        return pb.error(
            "compose-error",
            (group,),
            f"`{group}` is a config group the defaults do not select, so it cannot be overridden",
            f"add it with a plus: `+{group}={option}`",
        ).located(Location(override=unselected))
    not_a_name = _group_value_not_a_name(overrides, dirs)
    if not_a_name is not None:  # `tuner=null`: Hydra read the option as another type
        group = not_a_name.partition("=")[0].lstrip("+~")
        options = sorted({p.stem for d in dirs for p in (d / group).glob("*.yaml")})
        return pb.error(
            "compose-error",
            (group,),
            text,
            (f"`{group}` takes one of: {', '.join(options)}. " if options else "")
            + "Hydra reads an option named like a value (nan, inf, true, null, 1) as that value: "
            "quote it (e.g. +experiment=\"'nan'\") or rename the file",
        ).located(Location(override=not_a_name))
    culprit = next((o for o in overrides if o.partition("=")[0].lstrip("+~") in text), None)
    return pb.error(
        "compose-error",
        (),
        text,
        "check the key and its value against the schema (schemas/experiment.schema.json)",
    ).located(Location(override=culprit) if culprit else None)


def in_chain(e: BaseException, kind: type[_E] | tuple[type[_E], ...]) -> _E | None:
    """The exception of `kind` that `e` is, or was raised from."""
    chain: BaseException | None = e
    while chain is not None:
        if isinstance(chain, kind):
            return chain
        chain = chain.__cause__ or chain.__context__
    return None


def _primary_groups(dirs: list[Path]) -> set[str]:
    """The groups the primary config's defaults list selects (these can be overridden without +).
    Only ktrun's own primary (the first directory) is read: user trees are read through Hydra's
    guarded loader alone."""
    groups: set[str] = set()
    for d in dirs[:1]:
        path = d / "config.yaml"
        if path.is_file():
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for entry in data.get("defaults", []) if isinstance(data, dict) else []:
                if isinstance(entry, dict):
                    groups |= {str(k).removeprefix("override ").strip().lstrip("/") for k in entry}
    return groups


def _unselected_group(overrides: list[str], dirs: list[Path]) -> str | None:
    selected = _primary_groups(dirs)
    return next(
        (
            o
            for o in overrides
            if not o.startswith(("+", "~")) and _is_group(o, dirs) and o.partition("=")[0] not in selected
        ),
        None,
    )


def _group_value_not_a_name(overrides: list[str], dirs: list[Path]) -> str | None:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for text in overrides:
        if not _is_group(text, dirs):
            continue
        try:
            [o] = parser.parse_overrides([text])
        except Exception:
            continue
        if not isinstance(o.value(), str | list):
            return text
    return None


def _is_group(override: str, dirs: list[Path]) -> bool:
    key = override.partition("=")[0].lstrip("+~")
    return bool(key) and any((d / key).is_dir() for d in dirs)


def _override_hint(key: str, override: str | None) -> str:
    """The key is absent from the composed config: is it a schema key left unset, or a typo?"""
    from ktrun.spec.introspect import allowed_at

    parts = key.split(".")
    _, here = allowed_at(tuple(parts[:-1]))
    value = override.split("=", 1)[1] if override and "=" in override else "VALUE"
    if parts[-1] in here:
        return f"`{key}` is a valid key that is not set yet: add it with `+{key}={value}`"
    close = difflib.get_close_matches(parts[-1], here, n=1)
    if close:
        return f"did you mean `{'.'.join([*parts[:-1], close[0]])}={value}`?"
    if here:
        return f"keys allowed under `{'.'.join(parts[:-1]) or '<root>'}`: {', '.join(here)}"
    return "this key is not part of ktrun's schema (schemas/experiment.schema.json)"
