"""A run, stage by stage: compose → spec → checks → plan → build → search → results.

`ktrun check` stops after the checks; a run goes on to compile the plan, load the data once,
search (the builder makes each trial's model inside the search) and write the results. The CLI
parses arguments and calls these functions; tests call them the same way. Heavy modules are
imported where they are first needed: the checks must stay free of TensorFlow.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from ktrun.checks import CheckedSpec, CheckReport
    from ktrun.compiler.plan import Plan
    from ktrun.config.compose import Composed
    from ktrun.data.load import Data
    from ktrun.problems import Problem
    from ktrun.render.space_summary import SpaceSummary
    from ktrun.runtime.outcome import SearchOutcome

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USER_ERROR = 2


# ---------------------------------------------------------------- stages 1–3: compose, spec, checks


def compose_timed(
    overrides: list[str], config_dir: Path | None, extra: list[Path] | None
) -> tuple[Composed | list[Problem], float]:
    from ktrun.config.compose import compose
    from ktrun.problems import ConfigError

    t0 = time.perf_counter()
    try:
        return compose(overrides, config_dir, extra), time.perf_counter() - t0
    except ConfigError as e:
        return e.problems, time.perf_counter() - t0


def check_composed(
    label: str,
    composed: Composed | list[Problem],
    seconds: float,
    strict: bool,
    data_roots: tuple[Path, ...] | None = None,
) -> CheckReport:
    from ktrun.checks import CheckReport, run_checks
    from ktrun.config.load import load_spec
    from ktrun.problems import ConfigError

    t0 = time.perf_counter()
    if isinstance(composed, list):
        return CheckReport(label, composed, seconds=seconds)
    try:
        loaded = load_spec(composed, repair=True)
    except ConfigError as e:
        return CheckReport(label, e.problems, seconds=seconds + time.perf_counter() - t0)
    report = run_checks(loaded, strict, data_roots)
    report.seconds = seconds + time.perf_counter() - t0
    return report


def check_one(
    overrides: list[str],
    config_dir: Path | None = None,
    extra: list[Path] | None = None,
    strict: bool = False,
    data_roots: tuple[Path, ...] | None = None,
) -> CheckReport:
    """Compose, validate and check one config, in this process. `data_roots`: see `run_checks`."""
    composed, seconds = compose_timed(overrides, config_dir, extra)
    return check_composed(" ".join(overrides) or "(defaults)", composed, seconds, strict, data_roots)


def project_roots(extra: list[Path]) -> tuple[Path, ...]:
    """Where `ktrun check` and `plan` may read data files: the project (working directory) and
    the user's config trees. Configs under review are not trusted to name anything else."""
    return (Path.cwd(), *extra)


# ---------------------------------------------------------------- stages 4–7: plan, build, search, results


@dataclass(frozen=True)
class RunResult:
    code: int  # the process's exit code
    status: str  # for the sweep summary: completed, aborted, config error, data error, ...


def run_experiment(
    overrides: list[str],
    config_dir: Path,
    extra: list[Path],
    run_dir: Path,
    report: CheckReport | None = None,
) -> int:
    """One job, start to finish; its status is written beside its results for the sweep summary.
    `report`: the checks already run for these overrides (the CLI's pre-flight), if any."""
    from ktrun.results.sweep import write_job_file

    result = run(overrides, config_dir, extra, run_dir, report)
    write_job_file(run_dir, overrides, result.code, result.status)
    return result.code


def run(
    overrides: list[str],
    config_dir: Path,
    extra: list[Path],
    run_dir: Path,
    report: CheckReport | None = None,
) -> RunResult:
    """The stages in order; each returns early with its exit code when it cannot go on."""
    from ktrun.compiler.plan import compile_plan
    from ktrun.render.check_output import problems_text, render
    from ktrun.render.console import make_console

    console = make_console()
    report = report or check_one(overrides, config_dir, extra)  # 1–3: compose, spec, checks
    checked = report.checked
    if report.failed() or checked is None:
        print(render("text", [report]) + ("" if report.failed() else _NO_INPUT_SHAPE))
        return RunResult(EXIT_USER_ERROR, "config error")
    if report.problems:  # warnings, exactly as `ktrun check` shows them
        print(problems_text(report.problems))
    plan = compile_plan(checked)  # 4: the plan (TF-free)
    no_backend = _backend(report.label)
    if no_backend is not None:
        return no_backend
    missing = _pretrained_weights(checked, report.label)  # before TensorFlow's seconds of import
    if missing is not None:
        return missing
    from ktrun.runtime.quiet import import_tensorflow, verbose_requested

    import_tensorflow(verbose_requested(plan.spec.fit.verbose))
    from ktrun.runtime.distributed import in_cluster

    if not in_cluster():  # this process may launch a chief and workers, which run the stages
        if plan.spec.distributed.workers > 0:
            return _launch(plan, overrides, extra, run_dir, console)
        if plan.spec.runtime.isolation == "process":
            return _isolate(plan, report, overrides, extra, run_dir, console)
    return _run_here(plan, report, overrides, extra, run_dir, console)


def _run_here(
    plan: Plan,
    report: CheckReport,
    overrides: list[str],
    extra: list[Path],
    run_dir: Path,
    console: Console,
) -> RunResult:
    """Stages 5–8 in this process: load the data, search, write the results, the final score."""
    checked = report.checked
    assert checked is not None
    data = _load_data(checked, report.label)
    if isinstance(data, RunResult):
        return data
    space = _announce(plan, data, report, console)
    outcome = _search(plan, data, run_dir, report.label, console)  # 5–6: build and search
    if isinstance(outcome, RunResult):
        return outcome
    result = _results(outcome, overrides, extra, run_dir, space, console)  # 7: results
    if plan.spec.final.retrain and result.status not in ("worker", "failed"):
        result = _final(plan, data, outcome, run_dir, space, console, result)  # 8: the final score
    if plan.spec.report.mlflow is not None and result.status != "worker":
        _track(plan, outcome, run_dir, console)
    return result


_NO_INPUT_SHAPE = (
    "\nerror: the model's input shape could not be worked out from the data"
    "\n    hint: set model.input_shape (per sample, e.g. [28, 28, 1])"
)


def _launch(
    plan: Plan, overrides: list[str], extra: list[Path], run_dir: Path, console: Console
) -> RunResult:
    from ktrun.config.compose import searchpath_override
    from ktrun.runtime.distributed import launch
    from ktrun.runtime.search import clear_abort

    clear_abort(plan.state_dir)
    child = [*overrides, *searchpath_override(extra)]  # children find the same experiments
    d = plan.spec.distributed
    return RunResult(*launch(child, run_dir, d.workers, d.restarts, _say(console)))


def _isolate(
    plan: Plan,
    report: CheckReport,
    overrides: list[str],
    extra: list[Path],
    run_dir: Path,
    console: Console,
) -> RunResult:
    """`runtime.isolation: process`: the stages run in a forked chief, the trials in forked,
    recycled workers (`ktrun.runtime.isolation`)."""
    from ktrun.runtime.isolation import launch
    from ktrun.runtime.search import clear_abort

    clear_abort(plan.state_dir)

    def child(where: Path) -> int:
        return _run_here(plan, report, overrides, extra, where, console).code

    return RunResult(
        *launch(
            child, run_dir=run_dir, state_dir=plan.state_dir, runtime=plan.spec.runtime, say=_say(console)
        )
    )


def _say(console: Console) -> Callable[[str], None]:
    """How the runtime's notes are printed: as plain text, since they carry paths, config
    values and problem codes (`[nan]`, `[relu, tanh]`) that rich would take for markup."""
    from rich.text import Text

    def say(message: str) -> None:
        console.print(Text(message))

    return say


def _backend(label: str) -> RunResult | None:
    """The core install checks but cannot train: say how to add TensorFlow (exit code 2)."""
    from ktrun.checks import CheckReport
    from ktrun.compiler.backend import backend_problems
    from ktrun.render.check_output import render

    problems = backend_problems()
    if not problems:
        return None
    print(render("text", [CheckReport(label, problems)]))
    return RunResult(EXIT_USER_ERROR, "no backend")


def _pretrained_weights(checked: CheckedSpec, label: str) -> RunResult | None:
    """ImageNet weights come from Keras' cache, never a download: each file the search can load
    is there and readable before anything trains (exit code 2 otherwise)."""
    from ktrun.checks import CheckReport
    from ktrun.compiler.pretrained import weights_problems
    from ktrun.render.check_output import render

    problems = weights_problems(checked)
    if not problems:
        return None
    print(render("text", [CheckReport(label, checked.locate(problems))]))
    return RunResult(EXIT_USER_ERROR, "config error")


def _load_data(checked: CheckedSpec, label: str) -> Data | RunResult:
    """Once per search, before the first trial: every data problem is exit code 2 here."""
    from ktrun.checks import CheckReport
    from ktrun.data.load import DataError, load_dataset
    from ktrun.data.named import arrays_of
    from ktrun.render.check_output import problems_text, render
    from ktrun.runtime.datasets import TfDatasets, keras_dataset, user_loader
    from ktrun.runtime.streams import image_decoder

    spec = checked.spec
    try:
        data = load_dataset(
            spec.data,
            checked.input_shape,
            checked.num_classes,
            spec.experiment.seed,
            keras_loader=keras_dataset,
            arrays=arrays_of(spec.model),
            user_loader=user_loader(spec),
            final=spec.final.retrain,
            folds=spec.fit.folds,
            images=image_decoder,
            datasets=TfDatasets(),
            balanced=spec.fit.class_weight not in (None, "none"),
        )
    except DataError as e:
        print(render("text", [CheckReport(label, checked.locate(e.problems))]))
        return RunResult(EXIT_USER_ERROR, "data error")
    if data.warnings:
        print(problems_text(checked.locate(data.warnings)))
    return data


def _announce(plan: Plan, data: Data, report: CheckReport, console: Console) -> SpaceSummary | None:
    from rich.markup import escape

    from ktrun.config.trust import safe
    from ktrun.render.fmt import percent
    from ktrun.render.space_summary import summarize

    spec = plan.spec
    space = summarize(report)
    train, val, _ = data.counts()
    console.print(
        f"[bold]{escape(spec.experiment.name)}[/]: {spec.tuner.algorithm} search, "
        f"{spec.tuner.max_trials} trials, "
        f"{len(plan.hyperparameters)} hyperparameters"
        + (f", {percent(space.feasible_fraction)} of the space feasible" if space else "")
        + f"; data {escape(safe(data.source))}: {train} train / {val} validation rows",
        highlight=False,
    )
    return space


def _search(plan: Plan, data: Data, run_dir: Path, label: str, console: Console) -> SearchOutcome | RunResult:
    from ktrun.checks import CheckReport
    from ktrun.render.check_output import render
    from ktrun.results.progress import SearchProgress
    from ktrun.runtime.search import run_search
    from ktrun.runtime.state import SearchRefused, describe

    spec = plan.spec
    try:
        with SearchProgress(
            console, spec.tuner.max_trials, spec.objective.name, plan.checked.direction
        ) as view:
            return run_search(plan, data, run_dir, progress=view, say=_say(console))
    except SearchRefused as e:  # busy or unusable state or run dir: nothing was trained
        print(render("text", [CheckReport(label, e.problems)]))
        return RunResult(EXIT_USER_ERROR, "state error")
    except OSError as e:  # a disk failed under the search outside a trial (state files)
        from rich.markup import escape

        console.print(f"[red]error[/] the search stopped: {escape(describe(e))}", highlight=False)
        return RunResult(EXIT_FAILED, "failed")


def _final(
    plan: Plan,
    data: Data,
    outcome: SearchOutcome,
    run_dir: Path,
    space: SpaceSummary | None,
    console: Console,
    result: RunResult,
) -> RunResult:
    """`final.retrain`: after the search's results are written, the best configuration retrained
    on training + validation rows and scored once on the test split; the results are written again
    with it. Its failure keeps them and exits 1 (a failed stage), saying so."""
    from rich.markup import escape

    from ktrun.results.files import write_results
    from ktrun.runtime.outcome import FinalResult
    from ktrun.runtime.state import describe

    best = outcome.best()
    if outcome.status not in ("completed", "exhausted", "stopped") or best is None:
        why = "there is no best trial" if best is None else f"the search is {outcome.status}"
        console.print(f"final.retrain: skipped, {why}", highlight=False)
        return result
    epochs = best.best_epoch
    console.print(
        f"final: retraining trial {escape(best.trial_id)} for {epochs} epoch(s) on "
        f"{sum(data.counts()[:2])} rows, "
        f"then scoring it on the test split ({escape(data.test_source)})",
        highlight=False,
    )
    try:
        from ktrun.runtime.final import retrain_and_test

        if epochs is None:
            raise ValueError(f"Keras Tuner did not record the epoch at which trial {best.trial_id} was best")
        outcome.final = retrain_and_test(plan, data, best, run_dir)
    except Exception as e:  # the search's results stand; this stage failed, and says how
        message = describe(e) if isinstance(e, OSError) else f"{type(e).__name__}: {e}"
        outcome.final = FinalResult(best.trial_id, epochs or 0, {}, None, error=message)
        console.print(f"[red]error[/] the final stage failed: {escape(message)}", highlight=False)
    try:
        write_results(outcome, run_dir, space)
    except OSError as e:
        console.print(
            f"[red]error[/] the results could not be written: {escape(describe(e))}", highlight=False
        )
        return RunResult(EXIT_FAILED, "failed")
    from ktrun.results.table import print_final

    print_final(outcome, console)
    if outcome.final.error is not None:
        return RunResult(EXIT_FAILED, "final failed")
    return result


def _track(plan: Plan, outcome: SearchOutcome, run_dir: Path, console: Console) -> None:
    """`report.mlflow`: the search's run gets its figures, result files and best model, and any
    trial not logged as it ended (an earlier run's, or one MLflow missed) gets its run."""
    from ktrun.results.files import result_files
    from ktrun.runtime.tracking import open_tracker

    tracker = open_tracker(plan, _say(console), starting=False)
    if tracker is not None:
        tracker.finish(outcome, result_files(run_dir))


def _results(
    outcome: SearchOutcome,
    overrides: list[str],
    extra: list[Path],
    run_dir: Path,
    space: SpaceSummary | None,
    console: Console,
) -> RunResult:
    from ktrun.results.files import write_results
    from ktrun.results.table import print_results
    from ktrun.runtime.distributed import is_worker
    from ktrun.runtime.state import describe

    if is_worker():  # the chief holds the search and writes its results
        return RunResult(EXIT_OK, "worker")
    outcome.overrides = [o for o in overrides if not o.startswith(("+pin.", "pin."))]
    outcome.config_dirs = [str(d) for d in extra]
    try:
        write_results(outcome, run_dir, space)
    except OSError as e:  # the run dir filled up or went read-only after the probe
        from rich.markup import escape

        console.print(
            f"[red]error[/] the results could not be written: {escape(describe(e))}", highlight=False
        )
        return RunResult(EXIT_FAILED, "failed")
    print_results(outcome, console, run_dir)
    if outcome.status == "interrupted":
        import shlex

        from rich.text import Text

        command = shlex.join(["ktrun", *sys.argv[1:]])  # overrides such as `x=[a,b]` are no markup
        console.print(
            Text(f"Interrupted: the completed trials are kept. Resume with:\n  {command}"), soft_wrap=True
        )
        return RunResult(128 + (outcome.signal or 2), outcome.status)
    return RunResult(EXIT_FAILED if outcome.status == "aborted" else EXIT_OK, outcome.status)
