"""`ktrun` command line: `check` and `schema` are subcommands; anything else is the Hydra app.

Heavy modules are imported inside the functions that need them: `ktrun check` must stay free of
TensorFlow and fast, and `ktrun --help` should not wait for Pydantic models to build.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ktrun.checks import CheckReport

EXIT_OK = 0
EXIT_USER_ERROR = 2


def _check_parser() -> argparse.ArgumentParser:
    from ktrun.report import FORMATS

    p = argparse.ArgumentParser(
        prog="ktrun check",
        description=(
            "Compose the config exactly like a run (same overrides, same +experiment=), validate "
            "it and prove the search space sound, without importing TensorFlow. "
            "Exit 0 when clean, 2 on problems."
        ),
    )
    p.add_argument(
        "overrides",
        nargs="*",
        help="Hydra overrides, e.g. +experiment=mnist_cnn fit.epochs=3; or experiment .yaml files",
    )
    p.add_argument(
        "--all",
        action="store_true",
        help="check the default config and every experiment in the config tree",
    )
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--strict", action="store_true", help="warnings fail too (shape exclusions become errors)")
    p.add_argument(
        "--config-dir",
        type=Path,
        default=None,
        help="extra config directory searched before ktrun's own (your experiments)",
    )
    return p


def _experiment_file(arg: str, config_dir: Path, extra: list[Path]) -> str | None:
    """`conf/experiment/x.yaml` → `+experiment=x` (adding its config tree to the search path)."""
    if not arg.endswith((".yaml", ".yml")) or "=" in arg:
        return None
    path = Path(arg).resolve()
    for root in (config_dir.resolve(), *extra):
        exp = root / "experiment"
        if path.is_relative_to(exp):
            return f"+experiment={path.relative_to(exp).with_suffix('')}"
    for parent in path.parents:
        if parent.name == "experiment":
            extra.append(parent.parent)
            return f"+experiment={path.relative_to(parent).with_suffix('')}"
    return None


def check_one(
    overrides: list[str],
    config_dir: Path | None = None,
    extra: list[Path] | None = None,
    strict: bool = False,
) -> CheckReport:
    from ktrun.checks import CheckReport, run_checks
    from ktrun.compose import compose
    from ktrun.load import load_spec
    from ktrun.problems import ConfigError

    t0 = time.perf_counter()
    label = " ".join(overrides) or "(defaults)"
    try:
        composed = compose(overrides, config_dir, extra)
        loaded = load_spec(composed, repair=True)
    except ConfigError as e:
        return CheckReport(label, e.problems, seconds=time.perf_counter() - t0)
    report = run_checks(loaded, strict)
    report.seconds = time.perf_counter() - t0
    return report


def check_main(argv: list[str]) -> int:
    from ktrun.compose import default_config_dir, experiment_names
    from ktrun.report import render

    args = _check_parser().parse_args(argv)
    config_dir = default_config_dir()
    extra: list[Path] = [args.config_dir.resolve()] if args.config_dir else []
    overrides: list[str] = []
    for a in args.overrides:
        overrides.append(_experiment_file(a, config_dir, extra) or a)
    runs: list[list[str]]
    if args.all:
        names = sorted({n for d in [config_dir, *extra] for n in experiment_names(d)})
        runs = [overrides] + [[f"+experiment={n}", *overrides] for n in names]
    else:
        runs = [overrides]
    reports = [check_one(r, config_dir, extra, args.strict) for r in runs]
    print(render(args.format, reports, args.strict))
    return EXIT_USER_ERROR if any(r.failed(args.strict) for r in reports) else EXIT_OK


def schema_main(argv: list[str]) -> int:
    from ktrun import schema_gen

    p = argparse.ArgumentParser(prog="ktrun schema", description="Write or verify schemas/.")
    p.add_argument("--check", action="store_true", help="fail if schemas/ is out of date")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    out = args.out or schema_gen.default_dir()
    if args.check:
        stale = schema_gen.stale(out)
        if stale:
            print(
                f"JSON schema is out of date: {', '.join(stale)} in {out}. Run `make schemas` to update it.",
                file=sys.stderr,
            )
            return EXIT_USER_ERROR
        print(f"schemas in {out} are up to date")
        return EXIT_OK
    for path in schema_gen.write(out):
        print(f"wrote {path}")
    return EXIT_OK


def run_main() -> int:
    """The Hydra app: `ktrun [OVERRIDES]`, `ktrun -m ...` for sweeps."""
    import hydra
    from omegaconf import DictConfig

    from ktrun.compose import default_config_dir

    config_dir = default_config_dir()
    status: list[int] = []

    @hydra.main(config_path=str(config_dir), config_name="config", version_base="1.3")
    def app(cfg: DictConfig) -> None:
        from hydra.core.hydra_config import HydraConfig

        from ktrun.report import render

        hc = HydraConfig.get()
        overrides = list(hc.overrides.task)
        extra = [
            Path(s.path.removeprefix("file://"))
            for s in hc.runtime.config_sources
            if s.path.startswith("file://") and Path(s.path.removeprefix("file://")) != config_dir
        ]
        report = check_one(overrides, config_dir, extra)
        print(render("text", [report]))
        if report.failed():
            status.append(EXIT_USER_ERROR)
            return
        print("search: the checked plan is ready; training arrives with the runtime (issue 3).")

    app()
    return status[0] if status else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # Pydantic scans every installed distribution for plugins at import; ktrun uses none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        if args[:1] == ["check"]:
            return check_main(args[1:])
        if args[:1] == ["schema"]:
            return schema_main(args[1:])
        if argv is not None:
            sys.argv = [sys.argv[0], *args]
        return run_main()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if os.environ.get("KTRUN_DEBUG"):
            raise
        print(
            f"ktrun: internal error: {type(e).__name__}: {e}\n"
            "This is a bug in ktrun, not in your config; rerun with KTRUN_DEBUG=1 for the "
            "traceback and report it.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
