"""The Keras side of a plan: what the builder makes from a spec, without training."""

from __future__ import annotations

from pathlib import Path

import pytest

from ktrun.compiler.plan import Plan, compile_plan
from ktrun.pipeline import check_one
from ktrun.spec import keras_names as kn
from tests.integration.test_search import write_experiment

pytestmark = [pytest.mark.keras]


def _plan(conf: Path, optimizer: str) -> Plan:
    write_experiment(
        conf,
        "opt",
        f"model:\n  layers: [{{type: Flatten}}, {{type: Dense, units: 10, activation: softmax}}]\n"
        f"  compile: {{optimizer: {optimizer}}}\n",
    )
    report = check_one(["+experiment=opt"], extra=[conf])
    assert report.checked is not None and not report.errors, report.problems
    return compile_plan(report.checked, state_root=conf / "state")


@pytest.mark.parametrize("name", sorted(kn.OPTIMIZER_ARGS))
def test_an_optimizer_named_alone_keeps_every_keras_default(tmp_conf: Path, name: str) -> None:
    """`optimizer: sgd` is Keras' SGD: a learning rate of 0.01, not another optimizer's 0.001."""
    from ktrun.compiler.keras_model import make_optimizer

    made = make_optimizer(_plan(tmp_conf, f"{{name: {name}}}"), {})
    config = {k: v for k, v in made.get_config().items() if k != "name"}
    default = type(made)().get_config()
    assert config == {k: v for k, v in default.items() if k != "name"}
    if name == "sgd":
        assert config["learning_rate"] == pytest.approx(0.01)


def test_a_learning_rate_that_is_set_is_used(tmp_conf: Path) -> None:
    from ktrun.compiler.keras_model import make_optimizer

    made = make_optimizer(_plan(tmp_conf, "{name: sgd, learning_rate: 0.2}"), {})
    assert made.get_config()["learning_rate"] == pytest.approx(0.2)
