"""`ktrun` command line: `check`, `plan` and `schema` are subcommands; anything else is the Hydra app.

This module parses arguments and hands them to `ktrun.pipeline`, which holds the stages.

Heavy modules are imported inside the functions that need them: `ktrun check` must stay free of
TensorFlow and fast, and `ktrun --help` should not wait for Pydantic models to build.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ktrun.checks import CheckReport
    from ktrun.config.compose import Composed
    from ktrun.problems import Problem

from ktrun.pipeline import (
    EXIT_OK,
    EXIT_USER_ERROR,
    check_composed,
    check_one,
    compose_timed,
    project_roots,
    run_experiment,
)


def _check_parser() -> argparse.ArgumentParser:
    from ktrun.render.check_output import FORMATS

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
    p.add_argument(
        "--format", choices=FORMATS, default="text", help="how the report is written (default: text)"
    )
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


def _composed_in_child(
    runs: list[list[str]], config_dir: Path, extra: list[Path]
) -> Iterator[tuple[Composed | list[Problem], float]]:
    """Compose in a forked child while this process imports Pydantic and the checks.

    Hydra's import and composition and the spec's import each take about a third of a second
    of pure Python; on two cores, overlapping them is what keeps `ktrun check` well under a
    second. Results come back pickled through a pipe, in order.
    """
    import pickle

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: compose every run, stream the results, exit without cleanup
        os.close(read_fd)
        code = 0
        with os.fdopen(write_fd, "wb") as out:
            try:
                for run in runs:
                    pickle.dump(("ok", compose_timed(run, config_dir, extra)), out)
                    out.flush()
            except BaseException as e:  # reported by the parent as an internal error
                pickle.dump(("crash", f"{type(e).__name__}: {e}"), out)
                code = 1
        os._exit(code)
    os.close(write_fd)
    import ktrun.checks
    import ktrun.config.load  # noqa: F401

    try:
        with os.fdopen(read_fd, "rb") as inp:
            for _ in runs:
                kind, payload = pickle.load(inp)
                if kind == "crash":
                    raise RuntimeError(f"composing failed: {payload}")
                yield payload
    finally:
        os.waitpid(pid, 0)


def _parallel_ok() -> bool:
    return hasattr(os, "fork") and not os.environ.get("KTRUN_NO_FORK")


def check_main(argv: list[str]) -> int:
    from ktrun.config.compose import default_config_dir, experiment_names
    from ktrun.render.check_output import render

    args = _check_parser().parse_args(argv)
    config_dir = default_config_dir()
    extra: list[Path] = [args.config_dir.resolve()] if args.config_dir else []
    overrides: list[str] = []
    files: list[str] = []  # experiment files (pre-commit passes several): one check each
    for a in args.overrides:
        selected = _experiment_file(a, config_dir, extra)
        if selected:
            files.append(selected)
        else:
            overrides.append(a)
    runs: list[list[str]]
    if args.all:
        names = sorted({n for d in [config_dir, *extra] for n in experiment_names(d)})
        runs = [overrides] + [[f"+experiment={n}", *overrides] for n in names]
    elif files:
        runs = [[f, *overrides] for f in files]
    else:
        runs = [overrides]
    if _parallel_ok():
        stream = _composed_in_child(runs, config_dir, extra)
    else:
        stream = (compose_timed(r, config_dir, extra) for r in runs)
    roots = project_roots(extra)
    reports = [
        check_composed(" ".join(run) or "(defaults)", composed, seconds, args.strict, roots)
        for run, (composed, seconds) in zip(runs, stream, strict=True)
    ]
    print(render(args.format, reports, args.strict))
    return EXIT_USER_ERROR if any(r.failed(args.strict) for r in reports) else EXIT_OK


def _plan_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ktrun plan",
        description=(
            "The checked search as Markdown, for a pull-request comment: the space, its size, "
            "the problems; with --base, what changed. Exit 0 when clean, 2 on problems."
        ),
    )
    p.add_argument("overrides", nargs="*", help="Hydra overrides or an experiment .yaml file, as for check")
    p.add_argument(
        "--config-dir",
        type=Path,
        default=None,
        help="extra config directory searched before ktrun's own (your experiments)",
    )
    p.add_argument(
        "--base",
        default=None,
        help="a git ref (the config tree at that commit) or an experiment .yaml file to compare with",
    )
    return p


def plan_main(argv: list[str]) -> int:
    """`ktrun plan [OVERRIDES]`: the checked search as Markdown for a pull-request comment."""
    from ktrun.config.compose import default_config_dir
    from ktrun.config.git_base import BaseError

    args = _plan_parser().parse_args(argv)
    config_dir = default_config_dir()
    extra: list[Path] = [args.config_dir.resolve()] if args.config_dir else []
    overrides = [_experiment_file(a, config_dir, extra) or a for a in args.overrides]
    try:
        if args.base and not _is_file_base(args.base):
            return _plan_against_ref(args.base, overrides, config_dir, extra)
    except BaseError as e:
        print(f"ktrun plan: error: {e}\n  hint: {e.hint}", file=sys.stderr)
        return EXIT_USER_ERROR
    report = check_one(overrides, config_dir, extra, data_roots=project_roots(extra))
    from ktrun.render.plan_markdown import diff_markdown, plan_markdown

    text = plan_markdown(report)
    if args.base and report.ctx is not None:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            base_dir, base_extra, base_overrides = _base_file(
                args.base, config_dir, extra, overrides, Path(tmp)
            )
            base = check_one(base_overrides, base_dir, base_extra, data_roots=project_roots(extra))
        text += "\n" + diff_markdown(base, report, args.base)
    print(text, end="")
    return EXIT_USER_ERROR if report.failed() else EXIT_OK


def _is_file_base(base: str) -> bool:
    """`--base old.yaml` names a file; anything else is a git ref. A missing .yaml is an error."""
    from ktrun.config.git_base import EXTENSIONS, BaseError

    if Path(base).is_file():
        return True
    if base.endswith(EXTENSIONS):
        raise BaseError(
            f"--base {base}: no such file (from {Path.cwd()})",
            "give an existing experiment .yaml file to compare with, or a git ref such as `origin/main`",
        )
    return False


def _experiment_name(overrides: list[str]) -> str | None:
    for o in overrides:
        key, _, value = o.partition("=")
        if key in ("+experiment", "experiment", "++experiment"):
            return value
    return None


def _plan_against_ref(ref: str, overrides: list[str], config_dir: Path, extra: list[Path]) -> int:
    """The plan, and what the change did against the config tree at git ref `ref`: an
    experiment new since then is all plan, a deleted one has none, a renamed one is compared
    with its old file."""
    import tempfile

    from ktrun.config import git_base
    from ktrun.render.plan_markdown import deleted_markdown, diff_markdown, new_markdown, plan_markdown

    name = _experiment_name(overrides)
    tree = extra[0] if extra else config_dir
    with tempfile.TemporaryDirectory() as tmp:
        base_tree = git_base.extract(ref, tree, Path(tmp))
        fate = git_base.Fate("same", name)
        if name is not None:
            present = any(git_base.find_experiment(d / "experiment", name) for d in [*extra, config_dir])
            fate = git_base.fate(base_tree, name, present)
        if fate.kind == "deleted" and fate.base_path is not None:
            print(deleted_markdown(" ".join(overrides), ref, fate.base_path), end="")
            return EXIT_OK
        report = check_one(overrides, config_dir, extra, data_roots=project_roots(extra))
        text = plan_markdown(report)
        if fate.kind == "new":
            text += "\n" + new_markdown(ref)
        elif report.ctx is not None and fate.kind in ("same", "renamed"):
            base_overrides = [
                f"+experiment={fate.base_name}" if o.partition("=")[0].lstrip("+") == "experiment" else o
                for o in overrides
            ]
            base_dir, base_extra = (
                (config_dir, [base_tree.root, *extra[1:]]) if extra else (base_tree.root, extra)
            )
            base = check_one(base_overrides, base_dir, base_extra, data_roots=project_roots(extra))
            renamed = fate.base_path if fate.kind == "renamed" else None
            text += "\n" + diff_markdown(base, report, ref, renamed_from=renamed)
    print(text, end="")
    return EXIT_USER_ERROR if report.failed() else EXIT_OK


def _base_file(
    base: str, config_dir: Path, extra: list[Path], overrides: list[str], tmp: Path
) -> tuple[Path, list[Path], list[str]]:
    """An experiment file to compare with, standing in for the experiment."""
    import shutil

    (tmp / "experiment").mkdir(parents=True)
    shutil.copy(base, tmp / "experiment" / "__base__.yaml")
    rest = [o for o in overrides if not o.startswith(("+experiment=", "experiment="))]
    return config_dir, [tmp, *extra], ["+experiment=__base__", *rest]


def _schema_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ktrun schema",
        description="Write the JSON schemas editors validate experiments with, or verify them.",
    )
    p.add_argument("--check", action="store_true", help="fail (exit 2) if the schemas are out of date")
    p.add_argument("--out", type=Path, default=None, help="the directory (default: ktrun's schemas/)")
    return p


def schema_main(argv: list[str]) -> int:
    from ktrun.config import schema_export as schema_gen

    args = _schema_parser().parse_args(argv)
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


def run_main(argv: list[str]) -> int:
    """The Hydra app: `ktrun [OVERRIDES]` runs a search; `ktrun -m ...` sweeps.

    Before Hydra starts, every job's config is composed and checked exactly as `ktrun check`
    would: a config mistake is reported the same way (exit 2, codes, locations, hints) and
    all at once, instead of as Hydra's traceback or a job that fails later.
    """
    import hydra
    from omegaconf import DictConfig

    from ktrun.config.compose import default_config_dir, file_rules, one_or_list
    from ktrun.config.hydra_compat import guarded_file_sources

    config_dir = default_config_dir()
    argv = one_or_list(argv)
    sys.argv = [sys.argv[0], *argv]  # what Hydra reads
    completion = _completion_request(argv)
    if isinstance(completion, int):
        return completion
    code = _preflight(argv, config_dir)
    if code is not None:
        return code
    status: list[int] = []

    @hydra.main(config_path=str(config_dir), config_name="config", version_base="1.3")
    def app(cfg: DictConfig) -> None:
        from hydra.core.hydra_config import HydraConfig

        hc = HydraConfig.get()
        extra = [  # `--config-dir` and `hydra.searchpath` directories, for ktrun's own composition
            Path(s.path)
            for s in hc.runtime.config_sources
            if s.schema == "file" and Path(s.path).resolve() != config_dir.resolve()
        ]
        job = list(hc.overrides.task)
        cached = _CHECKED.pop(_job_key(job), None)
        out = Path(hc.runtime.output_dir)
        if not _parallel_job(hc):
            status.append(run_experiment(job, config_dir, extra, out, cached))
            return
        from ktrun.render.console import prefixed_output

        with prefixed_output(f"[job {hc.job.num}] "):  # jobs in parallel share the terminal
            print(" ".join(_job_key(job)) or "(defaults)")
            status.append(run_experiment(job, config_dir, extra, out, cached))

    if completion is not None:  # `-sc query=SHELL`: Hydra's answer (groups, keys), then ktrun's
        import contextlib
        import io

        line = os.environ.get("COMP_LINE", "")
        words, current = _completion_words(line)
        hydra_words: list[str] = []
        if _hydra_completes(words, current):
            os.environ["COMP_LINE"] = _comp_line(["ktrun", *_run_words(words), current], current)
            answer = io.StringIO()
            with (  # a line Hydra cannot parse has no candidates, and no message mid-typing
                contextlib.redirect_stdout(answer),
                contextlib.redirect_stderr(io.StringIO()),
                contextlib.suppress(SystemExit, Exception),
                guarded_file_sources(config_dir, file_rules),
            ):
                app()
            hydra_words = answer.getvalue().split()
        print(("\n" if completion == "fish" else " ").join(complete(words, current, hydra_words, config_dir)))
        return EXIT_OK
    with guarded_file_sources(config_dir, file_rules):
        app()
    from ktrun.results.sweep import SweepSummary

    if SweepSummary.last_failed:  # jobs may have run in other processes (joblib launcher)
        status.append(EXIT_USER_ERROR)
    return max(status, default=EXIT_OK)  # a sweep fails if any of its jobs did


#: The shells Hydra writes completion scripts for.
SHELLS = ("bash", "zsh", "fish")
_COMPLETION_USAGE = """\
ktrun --shell-completion (-sc) takes one of install=SHELL, uninstall=SHELL or query=SHELL ({shells}).
To turn completion on in this shell:  eval "$(ktrun -sc install=bash)"
(put that line in ~/.bashrc to keep it)"""


def _completion_request(argv: list[str]) -> int | str | None:
    """`-sc ...`: the shell that asks for candidates (`query=SHELL`, answered by ktrun); None when
    not asked for, or for install/uninstall (Hydra prints the script); else exit code 2, with a
    usage message for a missing or unknown subcommand or shell."""
    if not any(a in ("-sc", "--shell-completion") for a in argv):
        return None
    requests: dict[str, str] = {}
    for a in argv:
        key, eq, value = a.partition("=")
        if eq and key in ("install", "uninstall", "query"):
            requests[key] = value
    if len(requests) != 1 or next(iter(requests.values())) not in SHELLS:
        print(_COMPLETION_USAGE.format(shells=", ".join(SHELLS)), file=sys.stderr)
        return EXIT_USER_ERROR
    ((action, shell),) = requests.items()
    return shell if action == "query" else None  # Hydra writes the install/uninstall script


def _completion_words(line: str) -> tuple[list[str], str]:
    """The words after the program (`ktrun`, or `python -m ktrun.cli`), and the one being typed."""
    words = line.split()
    for i, w in enumerate(words):
        if Path(w).name in ("ktrun", "ktrun.cli", "cli.py"):
            words = words[i + 1 :]
            break
    else:
        words = words[1:]
    if line and not line.endswith(" ") and words:
        return words[:-1], words[-1]
    return words, ""


def _run_words(words: list[str]) -> list[str]:
    """The overrides of a `check`/`plan` line, as a run's line for Hydra's completion."""
    return words[1:] if words[:1] and words[0] in ("check", "plan") else words


def _hydra_completes(words: list[str], current: str) -> bool:
    """Hydra knows groups and keys; it has nothing for flags, `help` or `schema`."""
    return not current.startswith("-") and not (words[:1] and words[0] in ("help", "schema"))


def _comp_line(words: list[str], current: str) -> str:
    """A COMP_LINE for Hydra: a trailing space when a new word starts."""
    return " ".join(w for w in words if w) + ("" if current else " ")


def complete(words: list[str], current: str, hydra_words: list[str], config_dir: Path) -> list[str]:
    """What may follow: a subcommand first, a command's flags, then Hydra's groups and keys,
    where a bare `experiment=` (no such default) is offered as `+experiment=`."""
    from ktrun.render.help_page import SUBCOMMANDS

    sub = words[0] if words[:1] and words[0] in SUBCOMMANDS else None
    if sub == "help":
        return [] if len(words) > 1 else [c for c in SUBCOMMANDS if c.startswith(current)]
    if current.startswith("-") or sub == "schema":
        parser = _subcommand_parser(sub) if sub else None
        if parser is None:
            from ktrun.config.hydra_compat import hydra_arg_parser

            parser = hydra_arg_parser()
            flags = [*_HELP_FLAGS, "--verbose"]
        else:
            flags = []
        flags += [f for action in parser._actions for f in action.option_strings]
        return sorted({f for f in flags if f.startswith(current)})
    out = [("+" + w if w == "experiment=" else w) for w in hydra_words]
    if current.startswith("+experiment="):  # Hydra sees only ktrun's own tree, not --config-dir's
        import itertools

        from ktrun.config.compose import experiment_names

        dirs = [Path(d) for flag, d in itertools.pairwise(words) if flag in ("--config-dir", "-cd")]
        mine = [f"+experiment={n}" for d in dirs if d.is_dir() for n in experiment_names(d)]
        out += [w for w in mine if w.startswith(current) and w not in out]
    if not words:
        out = [c for c in SUBCOMMANDS if c.startswith(current)] + out
    return out


#: Checks the pre-flight already ran, by the job's overrides: a run does not check twice.
_CHECKED: dict[tuple[str, ...], CheckReport] = {}
#: A sweep's pre-flight checks each swept value once (not every combination), up to this many.
MAX_PREFLIGHT_JOBS = 50


def _preflight(argv: list[str], config_dir: Path) -> int | None:
    """Exit code 2 with the problems, or None when Hydra may start.

    A run is checked in full. A sweep's jobs are composed (each swept value once): a job that
    cannot be composed would crash Hydra's launcher for the whole sweep, so that stops it here;
    a job that composes but fails a check runs as itself, fails with exit 2 and keeps its row.
    """
    from ktrun.config.hydra_compat import hydra_arg_parser
    from ktrun.render.check_output import render

    args = hydra_arg_parser().parse_args(argv)
    if args.help or args.hydra_help or args.info or args.shell_completion or args.cfg:
        return None  # Hydra's own pages; they run nothing
    if args.config_name or args.config_path:
        return None  # another primary config: Hydra composes it (through the same trust rules)
    extra = [Path(args.config_dir).resolve()] if args.config_dir else []
    jobs = _preflight_jobs(list(args.overrides), bool(args.multirun))
    if args.multirun:
        from ktrun.checks import CheckReport

        composed = [(job, compose_timed(job, config_dir, extra)[0]) for job in jobs]
        reports = [CheckReport(" ".join(job), c) for job, c in composed if isinstance(c, list)]
    else:
        reports = [check_one(job, config_dir, extra) for job in jobs]
    failed = [r for r in reports if r.failed()]
    if failed:  # a mistake every job shares is shown once
        shown: dict[tuple[tuple[str, str], ...], CheckReport] = {}
        for r in failed:
            shown.setdefault(tuple((p.code, p.key) for p in r.problems), r)
        print(render("text", list(shown.values())))
        return EXIT_USER_ERROR
    if not args.multirun:
        _CHECKED[_job_key(jobs[0])] = reports[0]
    return None


def _parallel_job(hc: Any) -> bool:
    """A sweep's job whose launcher may run others beside it (joblib's, or any but Hydra's basic
    one, which runs them one after another)."""
    from hydra.types import RunMode

    target = str((hc.launcher or {}).get("_target_", ""))
    return bool(hc.mode == RunMode.MULTIRUN and not target.endswith("BasicLauncher"))


def _job_key(overrides: list[str]) -> tuple[str, ...]:
    """A job's own overrides, as Hydra hands them to the app (`hydra.*` ones are Hydra's)."""
    return tuple(o for o in overrides if not o.lstrip("+~").startswith(("hydra.", "hydra/")))


def _preflight_jobs(overrides: list[str], multirun: bool) -> list[list[str]]:
    """One job for a run; for a sweep, the first combination and each other swept value once."""
    if not multirun:
        return [overrides]
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
        choices = [
            [f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()]
            if o.is_sweep_override()
            else [text]
            for o, text in zip(parsed, overrides, strict=True)
        ]
    except Exception:  # a syntax error, or a sweep Hydra expands itself (glob): check as written
        return [overrides]
    if any(not c for c in choices):
        return [overrides]
    first = [c[0] for c in choices]
    jobs = [first]
    for i, values in enumerate(choices):
        jobs += [[*first[:i], v, *first[i + 1 :]] for v in values[1:]]
    return jobs[:MAX_PREFLIGHT_JOBS]


def _subcommand_parser(name: str) -> argparse.ArgumentParser | None:
    parsers = {"check": _check_parser, "plan": _plan_parser, "schema": _schema_parser}
    return parsers[name]() if name in parsers else None


def help_main(argv: list[str]) -> int:
    """`ktrun help [COMMAND]`: ktrun's page, or a command's own options."""
    from ktrun.config.compose import default_config_dir
    from ktrun.render.help_page import SUBCOMMANDS, help_page

    topic = argv[0] if argv else None
    if topic is None or topic in ("run", "help", "-h", "--help"):
        print(help_page(default_config_dir()), end="")
        return EXIT_OK
    parser = _subcommand_parser(topic)
    if parser is None:
        print(f"ktrun help: no command {topic!r}; pick one of: {', '.join(SUBCOMMANDS)}", file=sys.stderr)
        return EXIT_USER_ERROR
    parser.print_help()
    return EXIT_OK


#: A run's flags that ktrun answers itself, before Hydra sees the command line.
_HELP_FLAGS = ("-h", "--help")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # Pydantic scans every installed distribution for plugins at import; ktrun uses none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        if args[:1] == ["check"]:
            return check_main(args[1:])
        if args[:1] == ["schema"]:
            return schema_main(args[1:])
        if args[:1] == ["plan"]:
            return plan_main(args[1:])
        if args[:1] == ["help"]:
            return help_main(args[1:])
        if any(a in _HELP_FLAGS for a in args):
            return help_main([])
        if "--version" in args:
            from ktrun.render.help_page import version

            print(f"ktrun {version()}")
            return EXIT_OK
        if "--verbose" in args:  # for this process and every one it starts (workers, chiefs)
            os.environ["KTRUN_VERBOSE"] = "1"
            args = [a for a in args if a != "--verbose"]
        if argv is not None or "--verbose" in sys.argv:
            sys.argv = [sys.argv[0], *args]
        return run_main(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `ktrun check | head`: the reader left; nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
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
