"""Every use of Hydra's internals, in one place, each pinned by `tests/contracts/test_hydra_compat.py`.

Hydra has no public hook for "which files did this composition read" or "refuse this file", and
ktrun needs both: provenance for located errors, and a trust boundary that holds before Hydra
merges or instantiates anything. Both wrap one method of Hydra's, and restore it afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from ktrun.config.provenance import display_path, lines_of
from ktrun.config.trust import ConfigFileView, escape_problem, read_config_text, resolved_inside
from ktrun.problems import ConfigError, Problem


@contextmanager
def capture_defaults_list() -> Iterator[list[Any]]:
    """Keep the defaults list Hydra computes while composing, instead of computing it twice.

    Hydra's config loader calls `create_defaults_list` once per composition; we record the result.
    The contract test fails if Hydra stops doing so (the caller's fallback still works).
    """
    from hydra._internal import config_loader_impl

    original = getattr(config_loader_impl, "create_defaults_list")  # noqa: B009 - not exported
    captured: list[Any] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        captured.append(result)
        return result

    setattr(config_loader_impl, "create_defaults_list", recording)  # noqa: B010
    try:
        yield captured
    finally:
        setattr(config_loader_impl, "create_defaults_list", original)  # noqa: B010


def _inside(root: str, config_path: str) -> tuple[bool, str]:
    """Does `config_path` (relative to a search-path root) resolve inside that root?"""
    full = resolved_inside(os.path.join(root, config_path), root)
    return full is not None, full or ""


def _source_root(source: Any) -> str:
    path: str = source.path
    return path.partition("://")[2] if "://" in path else path


FileRules = Callable[[ConfigFileView], list[Problem]]


@contextmanager
def guarded_file_sources(trusted: Path, rules: FileRules) -> Iterator[None]:
    """Hydra reads config files only inside their trees and within ktrun's YAML limits, and
    every file outside `trusted` (ktrun's own conf/) passes `rules` before Hydra merges it.

    Applied around both compositions: `ktrun check`'s and the run's (`hydra.main`).
    """
    file_source = file_source_class()
    trusted_root = os.path.realpath(trusted)
    originals = {name: getattr(file_source, name) for name in ("load_config", "is_config", "is_group")}

    def load_config(self: Any, config_path: str) -> Any:
        root = _source_root(self)
        name = self._normalize_file_name(config_path)
        ok, full = _inside(root, name)
        if not ok:
            raise ConfigError([escape_problem(display_path(Path(root) / name), config_path)])
        if not os.path.exists(full):
            return originals["load_config"](self, config_path)  # Hydra's own "not found"
        shown = display_path(Path(full))
        text = read_config_text(full, shown)  # bounded, before any YAML is built
        if os.path.realpath(root) != trusted_root:
            try:
                content = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            except yaml.YAMLError:
                content = None  # Hydra's own load reports it, with its line
            header = {"package": _package_header(text)}
            view = ConfigFileView(
                shown, config_path.removesuffix(".yaml"), header["package"], content, lines_of(text, shown)
            )
            refused = rules(view)
            if refused:
                raise ConfigError(refused)
        return originals["load_config"](self, config_path)

    def is_config(self: Any, config_path: str) -> bool:
        """Refused, not "not found": a path out of the tree, or a config that is no regular file
        (a FIFO would block Hydra's reader; its own test says "not found" and hides why)."""
        root = _source_root(self)
        name = self._normalize_file_name(config_path)
        ok, full = _inside(root, name)
        if not ok and (os.path.lexists(os.path.join(root, name)) or ".." in Path(name).parts):
            raise ConfigError([escape_problem(display_path(Path(root) / name), config_path)])
        if ok and os.path.exists(full) and not os.path.isfile(full):
            read_config_text(full, display_path(Path(full)))  # raises, saying what it is
        return ok and bool(originals["is_config"](self, config_path))

    def is_group(self: Any, config_path: str) -> bool:
        ok, _ = _inside(_source_root(self), config_path)
        return ok and bool(originals["is_group"](self, config_path))

    replaced = {"load_config": load_config, "is_config": is_config, "is_group": is_group}
    for name, fn in replaced.items():
        setattr(file_source, name, fn)
    try:
        yield
    finally:
        for name, fn in originals.items():
            setattr(file_source, name, fn)


def _package_header(text: str) -> str | None:
    """The `# @package` header, read as Hydra reads it (from the first 512 characters)."""
    from hydra.plugins.config_source import ConfigSource

    package: str | None = ConfigSource._get_header_dict(text[:512]).get("package")
    return package


def file_source_class() -> Any:
    """The class Hydra reads `file://` configs with: the copy its plugin scan registered, which
    is not the one `import hydra._internal.core_plugins.file_config_source` gives."""
    from hydra._internal.sources_registry import SourcesRegistry
    from hydra.core.plugins import Plugins

    Plugins.instance()  # scans and registers the config sources once per process
    return SourcesRegistry.instance().resolve("file")


def hydra_arg_parser() -> Any:
    """Hydra's own command-line parser (flags such as -m, --config-dir, --cfg), to read a run's
    overrides before Hydra starts, exactly as Hydra will."""
    from hydra._internal.utils import get_args_parser

    return get_args_parser()
