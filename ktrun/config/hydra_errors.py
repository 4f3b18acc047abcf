"""Hydra's exceptions → ktrun problems: what went wrong while composing, where it was asked for
(the override, or the defaults entry in a file), and how to fix it."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import yaml

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath, Location, display_path
from ktrun.problems import Problem


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
    chain: BaseException | None = e
    while chain is not None:
        if isinstance(chain, yaml.MarkedYAMLError):
            return yaml_problem(chain)
        chain = chain.__cause__ or chain.__context__
    from ktrun.config.trust import clip

    text = str(e).split("\nConfig search path:")[0].strip()
    text = "\n".join(clip(line.replace("\t", "      "), 400) for line in text.splitlines()[:40])
    name = type(e).__name__
    culprit = next((o for o in overrides if o.split("=")[0].lstrip("+~") in text), None)
    if name == "OverrideParseException":
        culprit = _unparsable_override(overrides) or culprit
    loc = Location(override=culprit) if culprit else None
    missing = re.search(r"Could not find '([\w/]+)/([\w.-]+)'", text)
    if missing:
        loc = _defaults_line(missing.group(2), overrides, dirs) or loc
    if name == "MissingConfigException":
        return pb.error(
            "config-not-found",
            (),
            text.replace("\n\n", "\n"),
            _did_you_mean_option(missing, overrides, dirs)
            + "pick one of the available options listed above (names are file names without .yaml)",
        ).located(loc)
    if name == "OverrideParseException":
        return pb.error(
            "override-syntax",
            (),
            f"cannot parse the override: {text}",
            "write overrides as key=value, +key=value to add, ~key to delete; quote lists "
            "and strings with special characters",
        ).located(loc)
    hint = "check the key and its value against the schema (schemas/experiment.schema.json)"
    path: KeyPath = ()
    if "Config group override must be a string" in text:
        culprit = next((o for o in overrides if _is_group(o, dirs)), culprit)
        loc = Location(override=culprit) if culprit else loc
        group = culprit.partition("=")[0].lstrip("+~") if culprit else ""
        options = sorted({p.stem for d in dirs for p in (d / group).glob("*.yaml")}) if group else []
        path = (group,) if group else ()
        hint = (f"`{group}` takes one of: {', '.join(options)}. " if options else "") + (
            "Hydra reads an option named like a value (nan, inf, true, null, 1) as that value: "
            "quote it (e.g. +experiment=\"'nan'\") or rename the file"
        )
    m = re.search(r"Could not override '([^']+)'", text)
    if m:
        hint = _override_hint(m.group(1), culprit)
        text = f"cannot set `{m.group(1)}`: the key is not in the composed config"
        path = tuple(m.group(1).split("."))
        if any((d / m.group(1)).is_dir() for d in dirs):
            option = culprit.partition("=")[2] if culprit else "NAME"
            text = f"`{m.group(1)}` is a config group the defaults do not select, so it cannot be overridden"
            hint = f"add it with a plus: `+{m.group(1)}={option}`"
    return pb.error("compose-error", path, text, hint).located(loc)


def _is_group(override: str, dirs: list[Path]) -> bool:
    key = override.partition("=")[0].lstrip("+~")
    return bool(key) and any((d / key).is_dir() for d in dirs)


def _did_you_mean_option(missing: re.Match[str] | None, overrides: list[str], dirs: list[Path]) -> str:
    """`+experiment=mnsit_cnn` → did you mean `+experiment=mnist_cnn`?"""
    if missing is None:
        return ""
    group, option = missing.group(1), missing.group(2)
    options = sorted({p.stem for d in dirs for p in (d / group).glob("*.yaml")})
    close = difflib.get_close_matches(option, options, n=1)
    if not close:
        return ""
    asked = next((o for o in overrides if o.rpartition("=")[2] == option), None)
    return (
        f"did you mean `{asked.rpartition('=')[0]}={close[0]}`? " if asked else f"did you mean `{close[0]}`? "
    )


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
