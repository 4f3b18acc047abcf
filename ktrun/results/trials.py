"""What a trial shows wherever results are written: its values, score, time and message, as cells."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ktrun.runtime.outcome import SearchOutcome, TrialRecord
from ktrun.spec.refs import Scalar

if TYPE_CHECKING:
    pass


#: Keras Tuner's Hyperband adds bookkeeping values under this prefix; they are not search choices.
TUNER_PREFIX = "tuner/"


MESSAGE_CHARS = 200


TOP_TRIALS = 10


def ranked(outcome: SearchOutcome) -> list[TrialRecord]:
    """Completed trials with a finite score, best first (ties keep trial order)."""
    sign = -1.0 if outcome.direction == "max" else 1.0
    return sorted((t for t in outcome.trials if t.scored), key=lambda t: sign * (t.score or 0.0))


def search_hparams(outcome: SearchOutcome, trial: TrialRecord) -> dict[str, Scalar]:
    """The trial's own choices (no `tuner/` bookkeeping), in declaration order."""
    order = {n: i for i, n in enumerate(outcome.hyperparameter_names)}
    keys = [k for k in trial.hyperparameters if not k.startswith(TUNER_PREFIX)]
    keys.sort(key=lambda k: order.get(k, len(order)))
    return {k: trial.hyperparameters[k] for k in keys}


def hp_columns(outcome: SearchOutcome, trials: Sequence[TrialRecord]) -> list[str]:
    """Declared hyperparameters that at least one of `trials` has a value for."""
    present = {k for t in trials for k in t.hyperparameters}
    return [n for n in outcome.hyperparameter_names if n in present and not n.startswith(TUNER_PREFIX)]


def cell(value: Scalar | None) -> str:
    """A csv/markdown cell: empty when missing; floats at full precision; booleans as YAML spells them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def short(value: Scalar | None) -> str:
    """A compact value for tables people read."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return cell(value)


def score_text(score: float | None) -> str:
    return "" if score is None else f"{score:.6g}"


def secs(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.1f} s"


def one_line(text: str) -> str:
    """Text on one line (runs of whitespace, line breaks included, become one space)."""
    return " ".join(text.split())


def flatten(message: str | None, limit: int) -> str:
    text = one_line(message or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rule_text(outcome: SearchOutcome) -> str:
    """`knee`, or `within params <= 100000`: how `best` was chosen among several objectives."""
    rule = outcome.best_rule
    if isinstance(rule, str):
        return {"first": f"best {outcome.objective_name}", "knee": "knee of the front"}[rule]
    limits = [f"{n} <= {v:g}" for n, v in rule.max.items()] + [f"{n} >= {v:g}" for n, v in rule.min.items()]
    return f"best {outcome.objective_name} within {' and '.join(limits)}"


def pareto_sentence(outcome: SearchOutcome) -> str | None:
    """`Pareto front over val_accuracy (max), params (min): trials 3, 7; best (knee of the
    front): trial 7.` None for a single objective."""
    if not outcome.objectives:
        return None
    over = ", ".join(f"{o.name} ({o.direction})" for o in outcome.objectives)
    front = [t.trial_id for t in outcome.pareto_front()]
    if not front:
        return f"Pareto front over {over}: no completed trial has a value for every objective."
    best = outcome.best()
    chosen = f"trial {best.trial_id}" if best is not None else "no trial is within the limits"
    return f"Pareto front over {over}: trial(s) {', '.join(front)}; best ({rule_text(outcome)}): {chosen}."


def status_sentence(outcome: SearchOutcome) -> str:
    done = sum(t.status == "completed" for t in outcome.trials)
    pruned = sum(t.status == "pruned" for t in outcome.trials)
    failed = len(outcome.trials) - done - pruned
    head = f"Search {outcome.status}"
    if outcome.status == "aborted" and outcome.abort_reason:
        head += f" ({one_line(outcome.abort_reason)})"
    if outcome.status == "stopped" and outcome.stop_reason:
        head += f" ({one_line(outcome.stop_reason)})"
    if outcome.status == "exhausted":
        head += " (every feasible point was tried before tuner.max_trials was reached)"
    cut = f", {pruned} pruned" if pruned else ""
    text = f"{head}: {done} trial(s) completed{cut}, {failed} failed in {secs(outcome.seconds)}."
    best = outcome.best()
    if best is not None:
        text += f" Best: trial {best.trial_id}, {outcome.objective_name} = {score_text(best.score)}."
    return text
