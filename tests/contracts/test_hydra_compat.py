"""Contracts for the Hydra internals `ktrun.config.hydra_compat` relies on: one test per symbol.

An upgrade of hydra-core that moves or changes one of them fails here, by name, instead of
silently disabling the trust boundary or the provenance of errors.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from ktrun.config import hydra_compat
from ktrun.config.compose import default_config_dir, file_rules
from ktrun.problems import ConfigError


def test_config_loader_calls_create_defaults_list_once_per_composition() -> None:
    """`capture_defaults_list` records the list Hydra computes; the fallback is a second pass."""
    from hydra import compose, initialize_config_dir

    with (
        initialize_config_dir(str(default_config_dir()), version_base="1.3"),
        hydra_compat.capture_defaults_list() as got,
    ):
        compose("config", overrides=["+experiment=mnist_cnn"])
    assert len(got) == 1
    paths = [d.config_path for d in got[0].defaults]
    assert "experiment/mnist_cnn" in paths and "config" in paths


def test_the_registered_file_source_has_the_methods_ktrun_wraps() -> None:
    """Hydra reads `file://` configs through the class its plugin scan registered."""
    source = hydra_compat.file_source_class()
    assert source.scheme() == "file"
    for name in ("load_config", "is_config", "is_group", "_normalize_file_name"):
        assert callable(getattr(source, name, None)), name
    params = list(inspect.signature(source.load_config).parameters)
    assert params[:2] == ["self", "config_path"]


def test_the_guard_is_applied_and_restored(tmp_path: Path) -> None:
    source = hydra_compat.file_source_class()
    before = source.load_config
    (tmp_path / "x.yaml").write_text("hydra:\n  callbacks: {}\n", encoding="utf-8")
    with hydra_compat.guarded_file_sources(default_config_dir(), file_rules):
        assert source.load_config is not before
        inst = source(provider="test", path=str(tmp_path))
        with pytest.raises(ConfigError) as refused:
            inst.load_config("x")
        assert refused.value.problems[0].code == "config-hydra-refused"
    assert source.load_config is before


def test_config_source_reads_package_headers() -> None:
    from hydra.plugins.config_source import ConfigSource

    header = ConfigSource._get_header_dict("# @package _global_\nfoo: 1\n")
    assert header.get("package") == "_global_"


def test_hydra_arg_parser_knows_the_flags_the_preflight_reads() -> None:
    args = hydra_compat.hydra_arg_parser().parse_args(["-m", "--config-dir", "x", "a=1"])
    for name in ("help", "hydra_help", "info", "shell_completion", "cfg", "config_name", "config_path"):
        assert hasattr(args, name), name
    assert args.multirun and args.config_dir == "x" and args.overrides == ["a=1"]
