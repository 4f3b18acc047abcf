"""`model.compile`: losses and metrics with their arguments (tunable, checked against what each
takes), aliases deciding the logged names the objective check resolves. No TensorFlow here; the
names and arguments are tied to real Keras in tests/contracts/test_keras_tables.py."""

from __future__ import annotations

from pathlib import Path

from ktrun.checks import CheckReport
from ktrun.pipeline import check_one
from tests.integration.test_search import write_experiment

OUTPUT = "model:\n  layers: [{type: Flatten}, {type: Dense, units: 10, activation: softmax}]\n"


def _check(conf: Path, body: str, *overrides: str) -> CheckReport:
    write_experiment(conf, "exp", body)
    return check_one(["+experiment=exp", *overrides], extra=[conf])


def _codes(report: CheckReport) -> dict[str, str]:
    return {p.code: p.hint for p in report.problems}


METRICS = (
    "data: {labels: one_hot}\n"
    "hyperparameters:\n  k: {type: int, min: 2, max: 5}\n  gamma: {type: float, min: 0.5, max: 3.0}\n"
    + OUTPUT
    + "  compile:\n"
    "    loss: {name: categorical_focal_crossentropy, gamma: $gamma}\n"
    "    metrics:\n"
    "      - accuracy\n"
    "      - {name: auc, curve: PR, num_thresholds: 200, multi_label: true, alias: pr_auc}\n"
    "      - {name: precision, thresholds: 0.5, top_k: 2, class_id: 1}\n"
    "      - {name: f1_score, average: macro, threshold: 0.5}\n"
    "      - {name: top_k_categorical_accuracy, k: $k}\n"
)


def test_an_aliased_metric_is_an_objective_under_its_alias_with_its_direction(tmp_conf: Path) -> None:
    report = _check(tmp_conf, METRICS, "objective.name=val_pr_auc")
    assert not report.errors, report.problems
    assert report.checked is not None and report.checked.direction == "max"
    assert {"val_pr_auc", "val_precision", "val_f1_score", "val_top_k_categorical_accuracy"} <= set(
        report.ctx.logged
    )
    assert "val_auc" not in report.ctx.logged  # the alias replaces the name
    assert {"k", "gamma"} <= set(report.checked.space.params)  # tuned loss and metric arguments
    contradiction = _check(tmp_conf, METRICS, "objective.name=val_pr_auc", "objective.direction=min")
    assert "objective-direction-contradiction" in _codes(contradiction)
    missing = _check(tmp_conf, METRICS, "objective.name=val_auc")
    assert "did you mean `val_pr_auc`" in _codes(missing)["objective-not-logged"]


def test_a_metric_or_loss_argument_is_checked_against_what_it_takes(tmp_conf: Path) -> None:
    body = (
        OUTPUT + "  compile:\n    loss: {name: sparse_categorical_crossentropy, delta: 1.0}\n"
        "    metrics: [{name: auc, k: 5}]\n"
    )
    hints = _codes(_check(tmp_conf, body))
    assert "use a loss that takes it (huber)" in hints["loss-arg-unused"]
    assert "`auc` takes curve, from_logits, multi_label" in hints["metric-arg-unused"]
    assert "top_k_categorical_accuracy" in hints["metric-arg-unused"]


def test_tuned_metric_arguments_are_range_checked(tmp_conf: Path) -> None:
    body = METRICS.replace("k: {type: int, min: 2, max: 5}", "k: {type: int, min: 0, max: 5}")
    report = _check(tmp_conf, body)
    bad = [p for p in report.errors if p.code == "arg-out-of-range"]
    assert bad and bad[0].path == ("hyperparameters", "k", "min"), report.problems


def test_two_metrics_logged_under_one_name_are_an_error(tmp_conf: Path) -> None:
    body = OUTPUT + "  compile:\n    metrics: [accuracy, auc, {name: auc, curve: PR}]\n"
    report = _check(tmp_conf, body)
    (taken,) = [p for p in report.errors if p.code == "metric-name-taken"]
    assert taken.path == ("model", "compile", "metrics", 2) and "alias: auc_2" in taken.hint
    aliased = body.replace("curve: PR}", "curve: PR, alias: loss}")
    (taken,) = [p for p in _check(tmp_conf, aliased).errors if p.code == "metric-name-taken"]
    assert "like the loss" in taken.message and taken.path[-1] == "alias"


def test_names_alone_keep_working(tmp_conf: Path) -> None:
    body = OUTPUT + "  compile: {loss: sparse_categorical_crossentropy, metrics: [accuracy, auc]}\n"
    report = _check(tmp_conf, body, "objective.name=val_auc")
    assert not report.errors and report.checked is not None and report.checked.direction == "max"
    spec = report.checked.spec.model.compile
    assert [m.name for m in spec.metrics] == ["accuracy", "auc"] and spec.loss.arguments() == {}


SCHEDULED = (
    "hyperparameters:\n"
    "  schedule: {type: choice, values: [exponential_decay, polynomial_decay]}\n"
    "  lr: {type: float, min: 1.0e-4, max: 1.0e-2, sampling: log}\n"
    "  decay: {type: float, min: 0.5, max: 0.99}\n" + OUTPUT + "  compile:\n"
    "    optimizer:\n"
    "      name: adam\n"
    "      learning_rate: {schedule: $schedule, initial_learning_rate: $lr, decay_steps: 100,\n"
    "                      decay_rate: $decay, power: 2.0, cycle: true}\n"
)


def test_a_chosen_schedule_takes_each_argument_some_schedule_of_the_choice_takes(tmp_conf: Path) -> None:
    """decay_rate is exponential_decay's, power and cycle polynomial_decay's: with a choice of the
    two, all are fine, tuned ones are in the space at their own key paths."""
    report = _check(tmp_conf, SCHEDULED)
    assert not report.errors, report.problems
    assert report.checked is not None and {"schedule", "lr", "decay"} <= set(report.checked.space.params)
    paths = {u.path for u in report.checked.space.uses if u.ref == "decay"}
    assert paths == {("model", "compile", "optimizer", "learning_rate", "decay_rate")}
    spec = report.checked.spec.model.compile.optimizer
    again = type(spec).model_validate(spec.model_dump(mode="json"))
    assert again == spec  # `$name` references survive a round trip, in lists too
    only_one = _check(tmp_conf, SCHEDULED.replace("polynomial_decay]", "inverse_time_decay]"))
    unused = {p.path[-1]: p.hint for p in only_one.errors if p.code == "schedule-arg-unused"}
    assert set(unused) == {"power", "cycle"} and "polynomial_decay" in unused["cycle"]


def test_a_schedule_of_the_choice_missing_a_required_argument_is_named(tmp_conf: Path) -> None:
    body = SCHEDULED.replace("polynomial_decay]", "piecewise_constant_decay]").replace(
        "power: 2.0, cycle: true", "boundaries: [10, 10], values: [0.1, 0.01, 0.001]"
    )
    body = body.replace("decay_rate: $decay, ", "")
    errors = {p.code: p for p in _check(tmp_conf, body).errors}
    missing = errors["schedule-arg-missing"]
    assert "`exponential_decay` needs decay_rate" in missing.message and "$schedule" in missing.hint
    order = errors["schedule-piecewise-mismatch"]
    assert order.path[-1] == "boundaries" and "not increasing" in order.message
    assert "hp-unused" in _codes(_check(tmp_conf, body))  # $decay is no longer read


def test_schedule_arguments_are_type_and_range_checked(tmp_conf: Path) -> None:
    float_steps = SCHEDULED.replace("decay_steps: 100", "decay_steps: $decay")
    (mismatch,) = [p for p in _check(tmp_conf, float_steps).errors if p.code == "hp-type-mismatch"]
    assert mismatch.path == ("hyperparameters", "decay", "type") and "decay_steps" in mismatch.message
    big = SCHEDULED.replace("max: 1.0e-2", "max: 10")
    (rate,) = [p for p in _check(tmp_conf, big).errors if p.code == "learning-rate-out-of-range"]
    assert rate.path == ("hyperparameters", "lr", "max")


PER_OPTIMIZER = (
    "hyperparameters:\n"
    "  opt: {type: choice, values: [sgd, rmsprop, adam]}\n"
    "  momentum: {type: choice, values: [0.0, 0.9], when: {opt: [sgd, rmsprop]}}\n" + OUTPUT + "  compile:\n"
    "    optimizer:\n"
    "      name: $opt\n"
    "      learning_rate: 0.01\n"
    "      per_optimizer:\n"
    "        rmsprop: {momentum: $momentum}\n"
)


def test_a_per_optimizer_reference_is_a_use_at_its_own_path(tmp_conf: Path) -> None:
    """`$momentum` read only under `per_optimizer.rmsprop` is used (no hp-unused) and keeps the
    condition it is declared with (active for sgd too, as declared)."""
    report = _check(tmp_conf, PER_OPTIMIZER)
    assert not report.errors and "hp-unused" not in _codes(report), report.problems
    assert report.checked is not None
    paths = {u.path for u in report.checked.space.uses if u.ref == "momentum"}
    assert paths == {("model", "compile", "optimizer", "per_optimizer", "rmsprop", "momentum")}
    (cond,) = report.checked.space.params["momentum"].conditions
    assert cond.parent == "opt" and set(cond.values) == {"sgd", "rmsprop"}
    unused = _check(tmp_conf, PER_OPTIMIZER.replace("rmsprop: {momentum: $momentum}", "rmsprop: {}"))
    assert "hp-unused" in _codes(unused)


def test_per_optimizer_arguments_are_range_and_type_checked(tmp_conf: Path) -> None:
    big = PER_OPTIMIZER.replace("values: [0.0, 0.9]", "values: [0.0, 1.5]")
    (bad,) = [p for p in _check(tmp_conf, big).errors if p.code == "arg-out-of-range"]
    assert bad.path == ("hyperparameters", "momentum", "values") and "momentum" in bad.message
    literal = PER_OPTIMIZER.replace("{momentum: $momentum}", "{momentum: 2.0, rho: 0.9}")
    (bad,) = [p for p in _check(tmp_conf, literal).errors if p.code == "arg-out-of-range"]
    assert bad.path == ("model", "compile", "optimizer", "per_optimizer", "rmsprop", "momentum")


def test_per_optimizer_for_a_literal_name_it_is_not(tmp_conf: Path) -> None:
    body = PER_OPTIMIZER.replace("name: $opt", "name: adam")
    (never,) = [p for p in _check(tmp_conf, body).problems if p.code == "per-optimizer-never-chosen"]
    assert never.path[-1] == "rmsprop" and "the optimizer is adam" in never.message
    assert "set name: rmsprop" in never.hint
