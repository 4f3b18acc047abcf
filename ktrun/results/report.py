"""`report.md`: the search for people who read it later (best trial, top trials, failures, space)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ktrun.render.fmt import percent, points
from ktrun.results import BEST_YAML
from ktrun.results.plots import (
    CURVES_PNG,
    HPARAMS_PNG,
    IMPORTANCE_MIN_TRIALS,
    IMPORTANCE_PNG,
    OBJECTIVE_PNG,
    PARALLEL_PNG,
    PARETO_PNG,
)
from ktrun.results.retrain import retrain_command
from ktrun.results.trials import (
    TOP_TRIALS,
    cell,
    flatten,
    hp_columns,
    one_line,
    ranked,
    rule_text,
    score_text,
    search_hparams,
    secs,
    short,
    status_sentence,
)
from ktrun.runtime.outcome import SearchOutcome
from ktrun.spec.failures import FAILURE_CLASSES, FALLBACK

if TYPE_CHECKING:
    from ktrun.render.space_summary import SpaceSummary


def report_markdown(
    outcome: SearchOutcome,
    space: SpaceSummary | None = None,
    plots: Sequence[str] = (),
    plot_errors: Sequence[str] = (),
) -> str:
    """report.md: what a person wants after a search, most useful first."""
    best = outcome.best()
    obj = f"`{outcome.objective_name}` ({outcome.direction})"
    status: str = outcome.status
    if outcome.status == "aborted" and outcome.abort_reason:
        status += f": {one_line(outcome.abort_reason)}"
    if outcome.status == "stopped" and outcome.stop_reason:
        status += f": {one_line(outcome.stop_reason)}"
    out = [f"# {outcome.experiment}: {status}", ""]
    out += [status_sentence(outcome), ""]
    if outcome.resumed_trials:
        out += [f"{outcome.resumed_trials} trial(s) came from an earlier, interrupted run.", ""]
    if outcome.history_trials:
        out += [
            f"{outcome.history_trials} trial(s) of an earlier search (tuner.warm_start.search) were "
            "told to the algorithm as history; they are not among these trials.",
            "",
        ]

    out += ["## Best trial", ""]
    if best is None and outcome.objectives and any(t.scored for t in outcome.trials):
        out += [f"No completed trial is within the limits of `objective_best` ({rule_text(outcome)}).", ""]
    elif best is None:
        out += [f"No completed trial with a finite {obj}: there is no best trial.", ""]
    else:
        out += [f"Trial **{one_line(best.trial_id)}**: {obj} = **{score_text(best.score)}**", ""]
        if outcome.objectives:
            values = ", ".join(f"{n} = {_value(v)}" for n, v in best.objectives.items())
            out += [
                f"Chosen by `objective_best` ({rule_text(outcome)}) among the Pareto front: {values}.",
                "",
            ]
        hps = search_hparams(outcome, best)
        if hps:
            out += _md_table(["hyperparameter", "value"], [[k, cell(v)] for k, v in hps.items()])
        if best.epochs is not None:
            out += [
                f"Trained {best.epochs} epoch(s)" + (f" in {secs(best.seconds)}." if best.seconds else ".")
            ]
        if outcome.best_model_path:
            out += [f"Saved model: `{outcome.best_model_path}`."]
        out += [""]

    out += _pareto_md(outcome)
    out += _final_md(outcome)
    top = ranked(outcome)[:TOP_TRIALS]
    if top:
        names = hp_columns(outcome, top)
        out += [f"## Top trials by {obj}", ""]
        rows = [
            [str(i), t.trial_id, score_text(t.score)]
            + [short(t.hyperparameters.get(n)) for n in names]
            + [cell(t.epochs), secs(t.seconds)]
            for i, t in enumerate(top, 1)
        ]
        out += _md_table(["rank", "trial", "score", *names, "epochs", "seconds"], rows)
    unscored = sum(t.status == "completed" and not t.scored for t in outcome.trials)
    if unscored:
        out += [
            f"{unscored} completed trial(s) reported a missing or non-finite score and are not ranked.",
            "",
        ]

    out += _failures_md(outcome)
    out += _pruned_md(outcome)
    out += _rejected_md(outcome)
    if space is not None:
        out += _space_md(space)
    if plots or plot_errors:
        out += ["## Plots", ""]
        for p in plots:
            out += [f"![{p.removesuffix('.png')}]({p})", f"*{PLOT_CAPTIONS.get(p, '')}*", ""]
        completed = sum(t.scored for t in outcome.trials)
        if plots and IMPORTANCE_PNG not in plots and completed < IMPORTANCE_MIN_TRIALS:
            out += [
                f"No hyperparameter importance: it needs at least {IMPORTANCE_MIN_TRIALS} completed "
                f"trials, and this search has {completed}.",
                "",
            ]
        out += [f"- {one_line(e)}" for e in plot_errors]
        out += [""] if plot_errors else []
    out += ["## Retrain the best configuration", ""]
    command = retrain_command(outcome, best)
    if command is None:
        out += ["There is no best trial to retrain.", ""]
    else:
        out += ["```sh", command, "```", ""]
        out += [f"The same values are in `{BEST_YAML}` under `pin:`.", ""]
    if outcome.state_dir:
        out += [f"Keras Tuner state: `{outcome.state_dir}`.", ""]
    return "\n".join(out)


#: One line under each plot: what to read in it.
PLOT_CAPTIONS = {
    OBJECTIVE_PNG: "Each trial's score by trial id, in run order, and the best so far.",
    PARETO_PNG: "Every trial's objectives; the Pareto front ringed and labelled by trial id.",
    CURVES_PNG: "The objective at each epoch's end for the best trials: were the epochs enough?",
    HPARAMS_PNG: "The score against each hyperparameter (log-sampled ones on a log axis).",
    PARALLEL_PNG: "Each completed trial a line across the hyperparameters, coloured by its score.",
    IMPORTANCE_PNG: "Which hyperparameters matter: permutation importance of a random forest "
    "fitted to the completed trials (scikit-learn).",
}


def _value(v: float | None) -> str:
    """A count as a whole number (`12810`), a metric as a score."""
    if v is None:
        return ""
    return str(int(v)) if float(v).is_integer() and abs(v) >= 1 else score_text(v)


def _pareto_md(outcome: SearchOutcome) -> list[str]:
    """Several objectives: the trials no other beats in all of them, with their values."""
    if not outcome.objectives:
        return []
    over = ", ".join(f"`{o.name}` ({o.direction})" for o in outcome.objectives)
    out = ["## Pareto front", ""]
    front = outcome.pareto_front()
    if not front:
        return [*out, f"No completed trial has a value for every objective ({over}).", ""]
    out += [
        f"The {len(front)} trial(s) that no other trial matches or beats in every objective, over "
        f"{over}: improving one of them costs another. `best` is chosen among them by "
        f"`objective_best` ({rule_text(outcome)}).",
        "",
    ]
    best = outcome.best()
    names = [o.name for o in outcome.objectives]
    rows = [
        [t.trial_id + (" (best)" if best is not None and t.trial_id == best.trial_id else "")]
        + [_value(t.objectives.get(n)) for n in names]
        for t in front
    ]
    return out + _md_table(["trial", *names], rows)


def _final_md(outcome: SearchOutcome) -> list[str]:
    """The score to report: the best configuration retrained and scored once on the test split."""
    final = outcome.final
    if final is None:
        return []
    out = ["## Final score on the test split", ""]
    if final.error is not None:
        return [*out, f"The final stage failed: {one_line(final.error)}", ""]
    out += [
        f"Trial **{one_line(final.trial_id)}**'s configuration, retrained on {final.train_rows} training "
        f"and validation rows for {final.epochs} epoch(s), scored once on {final.rows} test rows "
        "the search never saw:",
        "",
    ]
    out += _md_table(["metric", "test"], [[k, score_text(v)] for k, v in final.test.items()])
    if final.model:
        out += [f"Retrained model: `{final.model}`.", ""]
    return out


def _pruned_md(outcome: SearchOutcome) -> list[str]:
    """`tuner.pruner`'s cuts, each with why (nothing when no trial was pruned)."""
    pruned = [t for t in outcome.trials if t.status == "pruned"]
    if not pruned:
        return []
    rows = [[t.trial_id, str(t.epochs or ""), flatten(t.message, 200)] for t in pruned]
    return ["## Pruned trials", "", *_md_table(["trial", "epochs", "why"], rows)]


def _failures_md(outcome: SearchOutcome) -> list[str]:
    out = ["## Failures", ""]
    failed = [t for t in outcome.trials if t.status == "failed"]
    if not failed:
        return [*out, "No failed trials.", ""]
    counts = outcome.failed_by_reason()
    order = [c for c in FAILURE_CLASSES if c in counts] + [c for c in counts if c not in FAILURE_CLASSES]
    rows = []
    for cls in order:
        example = next(t for t in failed if (t.failure_class or FALLBACK) == cls)
        what = example.exception_type or "no exception"
        if example.phase:
            what += f" during {example.phase}"
        first = (example.message or "").strip().splitlines()
        detail = f"trial {example.trial_id}: {what}" + (f": {flatten(first[0], 160)}" if first else "")
        rows.append([cls, str(counts[cls]), detail])
    return out + _md_table(["class", "trials", "example"], rows)


def _rejected_md(outcome: SearchOutcome) -> list[str]:
    out = ["## Rejected candidates", ""]
    total = sum(outcome.rejected.values())
    if total == 0:
        return [*out, "No candidates were rejected: every point the tuner proposed was trained.", ""]
    out += [
        f"{total} candidate point(s) were rejected before training because they were known to be "
        "invalid (a constraint or a shape check). They were never trained and did not count against "
        "`max_trials`.",
        "",
    ]
    rows = [[f"`{r}`", str(n)] for r, n in sorted(outcome.rejected.items(), key=lambda kv: -kv[1])]
    return out + _md_table(["reason", "candidates"], rows)


def _space_md(space: SpaceSummary) -> list[str]:
    out = ["## Search space", ""]
    rows = [
        [f"`{r.name}`", r.type, f"`{r.domain}`", r.cardinality, str(r.instances or ""), r.condition]
        for r in space.hyperparameters
    ]
    out += _md_table(["name", "type", "domain", "cardinality", "repetitions", "condition"], rows)
    if space.constraints or space.shape_excluded:
        rows = [
            [f"`{c.text}`", "not evaluated" if c.rejected is None else f"{percent(c.rejected)}"]
            for c in space.constraints
        ]
        rows += [[f"shapes: `{code}`", f"{percent(frac)}"] for code, frac in space.shape_excluded.items()]
        out += _md_table(["constraint", "rejects"], rows)
    how = "exact" if space.exact else "estimated"
    out += [f"Feasible: {percent(space.feasible_fraction)} of {points(space.total_points)} ({how}).", ""]
    return out


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _md(text: str) -> str:
    """A table cell: one line, pipes escaped."""
    return one_line(text).replace("|", "\\|")
