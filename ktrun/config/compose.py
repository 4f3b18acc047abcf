"""Stage 1: YAML → one composed config, exactly as Hydra composes it for a run, plus provenance.

`ktrun check` and `ktrun` (the Hydra app) compose through Hydra with the same primary config,
search path and overrides, so a config that checks clean is the config that runs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ktrun import problems as pb
from ktrun.config import trust
from ktrun.config.hydra_errors import hydra_problem, in_chain, yaml_problem
from ktrun.config.provenance import (
    FileLines,
    KeyPath,
    Location,
    SourceMap,
    format_path,
    read_file_lines,
)
from ktrun.config.trust import ConfigFileView, clip
from ktrun.problems import ConfigError, Problem

PRIMARY = "config"


def default_config_dir() -> Path:
    """`conf/` of this checkout, or the copy packaged inside the wheel; `KTRUN_CONFIG_DIR` wins."""
    env = os.environ.get("KTRUN_CONFIG_DIR")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[1]  # the ktrun package
    for candidate in (here.parent / "conf", here / "conf"):
        if (candidate / f"{PRIMARY}.yaml").is_file():
            return candidate
    raise FileNotFoundError("ktrun's conf/ directory was not found; set KTRUN_CONFIG_DIR")


@dataclass(frozen=True)
class ConfigFile:
    """One file Hydra merged, in merge order."""

    config_path: str  # e.g. "experiment/mnist_cnn"
    path: Path
    lines: FileLines

    @property
    def group(self) -> str:
        return self.config_path.rpartition("/")[0]


@dataclass
class Composed:
    """The composed config as plain data, where each value came from, and how it was asked for."""

    config: dict[str, Any]
    sources: SourceMap
    overrides: list[str]
    files: list[ConfigFile] = field(default_factory=list)
    search_dirs: list[Path] = field(default_factory=list)

    @property
    def label(self) -> str:
        return " ".join(self.overrides) or "(defaults)"


def _search_dirs(config_dir: Path, extra: list[Path]) -> list[Path]:
    return [config_dir, *extra]


def searchpath_override(extra: list[Path]) -> list[str]:
    if not extra:
        return []
    return ["hydra.searchpath=[" + ",".join(f"file://{d}" for d in extra) + "]"]


def compose(
    overrides: list[str], config_dir: Path | None = None, extra_dirs: list[Path] | None = None
) -> Composed:
    """Compose like `ktrun OVERRIDES...` would, or raise ConfigError with located problems."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from ktrun.config.hydra_compat import capture_defaults_list, guarded_file_sources

    config_dir = (config_dir or default_config_dir()).resolve()
    extra = [d.resolve() for d in extra_dirs or []]
    overrides = one_or_list(overrides)
    refused = override_problems(overrides)
    if refused:
        raise ConfigError(refused)
    all_overrides = [*overrides, *searchpath_override(extra)]
    GlobalHydra.instance().clear()
    try:
        with (
            guarded_file_sources(config_dir, file_rules),
            initialize_config_dir(str(config_dir), version_base="1.3", job_name="ktrun"),
            capture_defaults_list() as captured,
        ):
            cfg = hydra_compose(PRIMARY, overrides=all_overrides)
            if captured:
                defaults = captured[-1]
            else:  # Hydra changed how it builds the list: ask for it (one more pass, slower)
                loader = GlobalHydra.instance().config_loader()
                defaults = loader.compute_defaults_list(PRIMARY, all_overrides, RunMode.RUN)
    except yaml.MarkedYAMLError as e:
        raise ConfigError([yaml_problem(e)]) from None
    except ConfigError:
        raise
    except Exception as e:  # Hydra raises many types; all of them are the user's config
        own = in_chain(e, ConfigError)
        if own is not None:  # ktrun's trust rules, raised inside Hydra's loading
            raise own from None
        dirs = _search_dirs(config_dir, extra)
        raise ConfigError([hydra_problem(e, overrides, dirs)]) from None
    finally:
        GlobalHydra.instance().clear()

    dirs = _search_dirs(config_dir, extra)
    files: list[ConfigFile] = []
    sources = SourceMap.empty()
    for d in defaults.defaults:
        if (
            d.config_path is None
            or (d.package or "").startswith("hydra")
            or d.config_path.startswith("hydra/")
        ):
            continue
        path = next(
            (p / f"{d.config_path}.yaml" for p in dirs if (p / f"{d.config_path}.yaml").is_file()),
            None,
        )
        if path is None:
            continue
        package: KeyPath = tuple(d.package.split(".")) if d.package else ()
        lines = read_file_lines(path, package)
        files.append(ConfigFile(d.config_path, path, lines))
        sources.merge_file(lines)
    _apply_overrides(sources, overrides, dirs)
    try:
        config = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as e:
        key_path = _key_path(str(getattr(e, "full_key", "") or ""))
        raise ConfigError(
            [
                pb.error(
                    "interpolation-error",
                    key_path,
                    f"cannot resolve {format_path(key_path)}: " + str(e).split("\n")[0],
                    "fix the ${...} interpolation (it must name an existing key, e.g. "
                    "${experiment.name}), or quote the value if it is meant literally",
                ).located(sources.lookup(key_path))
            ]
        ) from None
    assert isinstance(config, dict)
    return Composed({str(k): v for k, v in config.items()}, sources, list(overrides), files, dirs)


def file_rules(view: ConfigFileView) -> list[Problem]:
    """What every user config file must satisfy before Hydra merges it: the trust rules, and the
    schema's shape (a mapping where a section belongs), so that every section's mistake is
    reported with its line instead of one merge error for the whole file."""
    from ktrun.spec.introspect import container_kind

    found = trust.file_problems(view)
    if view.content is None:
        return found
    root = view.prefix
    if not isinstance(view.content, dict):
        return [
            *found,
            pb.error(
                "wrong-type",
                root,
                f"the file holds a {_kind(view.content)}, but a config file is a mapping "
                "of `key: value` lines",
                "write `section:` keys at the top level (see conf/experiment/*.yaml)",
            ).located(Location(view.file, 1, 1)),
        ]
    for key, value in view.content.items():
        if key == "defaults":
            continue
        path = (*root, str(key))
        want = container_kind(path)
        if want == "mapping" and value is not None and not isinstance(value, dict):
            found.append(_shape_problem(path, value, "a mapping (`key: value` lines)", view))
        elif want == "list" and value is not None and not isinstance(value, list):
            found.append(_shape_problem(path, value, "a list (`- item` lines)", view))
    return found


def _kind(value: object) -> str:
    return "list" if isinstance(value, list) else "mapping" if isinstance(value, dict) else "single value"


def _shape_problem(path: KeyPath, value: object, want: str, view: ConfigFileView) -> Problem:
    from ktrun.spec.experiment import ONE_OR_LIST

    where = view.lines.get(path[len(view.prefix) :]) or Location(view.file, 1, 1)
    hint = "see the schema for this section (schemas/experiment.schema.json) or a shipped experiment"
    if len(path) == 1 and path[0] in ONE_OR_LIST and isinstance(value, list):
        # What the command line's `objective=[...]` means; Hydra cannot merge it in a file.
        hint = (
            f"in a file several of them go under `{path[0]}s:` (write `{path[0]}s:` instead of `{path[0]}:`)"
        )
    return pb.error(
        "wrong-type",
        path,
        f"{format_path(path)} must be {want}, not a {_kind(value)} ({clip(value, 40)})",
        hint,
    ).located(where)


def one_or_list(overrides: list[str]) -> list[str]:
    """`objective=[{name: val_accuracy}, {name: params}]` as Hydra can apply it over a mapping:
    Hydra merges an override into the node it replaces, and cannot merge a list into a mapping,
    so the list is preceded by `objective=null`."""
    from ktrun.spec.experiment import ONE_OR_LIST

    out: list[str] = []
    for text in overrides:
        key, _, value = text.partition("=")
        if key in ONE_OR_LIST and value.lstrip().startswith("[") and out[-1:] != [f"{key}=null"]:
            out.append(f"{key}=null")
        out.append(text)
    return out


def override_problems(overrides: list[str]) -> list[Problem]:
    """The trust rules for command-line overrides (a syntax error is left to Hydra's report)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    found: list[Problem] = []
    for text in overrides:
        if not text.partition("=")[0].lstrip("+~").strip():
            found.append(
                pb.error(
                    "override-syntax",
                    (),
                    f"the override `{trust.clip(text)}` has no key before `=`",
                    "write overrides as key=value (e.g. fit.epochs=3), +key=value to add, ~key to delete",
                ).located(Location(override=text))
            )
            continue
        try:
            [o] = parser.parse_overrides([text])
            value = o.value()
        except Exception:
            continue
        found += trust.override_problems(o.get_key_element(), value, text)
    return found


def _key_path(full_key: str) -> KeyPath:
    """`model.layers[1].units` → ("model", "layers", 1, "units")."""
    parts: list[str | int] = []
    for token in re.findall(r"[^.\[\]]+", full_key):
        parts.append(int(token) if token.isdigit() else token)
    return tuple(parts)


def _apply_overrides(sources: SourceMap, overrides: list[str], dirs: list[Path]) -> None:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    for o in OverridesParser.create().parse_overrides(overrides):
        key = o.key_or_group
        if o.is_delete() or any((d / key).is_dir() for d in dirs) or key.startswith("hydra"):
            continue
        path: KeyPath = tuple(int(p) if p.isdigit() else p for p in key.split("."))
        sources.set_override(path, o.input_line or key)


def experiment_names(config_dir: Path | None = None) -> list[str]:
    """Every experiment in the config tree, as `+experiment=` takes it."""
    root = (config_dir or default_config_dir()) / "experiment"
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.yaml"))
