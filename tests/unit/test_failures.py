"""The failure class registry: one record per class, read by the spec, the checks, the runtime and results."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from ktrun.spec.experiment import FailurePolicySpec
from ktrun.spec.failures import FAILURE_CLASSES, FAILURE_KINDS, FALLBACK, classify
from tests.conftest import CONF


def test_every_class_is_a_policy_key_with_its_default_and_meaning() -> None:
    policy = FailurePolicySpec()
    assert [k for k in FailurePolicySpec.model_fields if k in FAILURE_CLASSES] == list(FAILURE_CLASSES)
    for kind in FAILURE_KINDS:
        assert policy.action(kind.name) == kind.default
        assert FailurePolicySpec.model_fields[kind.name].description == kind.meaning
    assert FAILURE_CLASSES[-1] == FALLBACK


@pytest.mark.parametrize("preset", sorted(p.stem for p in (CONF / "failure_policy").glob("*.yaml")))
def test_every_preset_decides_every_class(preset: str) -> None:
    """A preset is read by users as the whole policy: a class it leaves out would be a surprise."""
    data: dict[str, Any] = yaml.safe_load((CONF / "failure_policy" / f"{preset}.yaml").read_text())
    missing = [c for c in FAILURE_CLASSES if c not in data]
    assert not missing, f"conf/failure_policy/{preset}.yaml must say what {missing} do"
    if preset == "strict":
        assert {data[c] for c in FAILURE_CLASSES} == {"abort"}


def _error(name: str, base: type[BaseException] = Exception) -> BaseException:
    """An exception whose class is called `name` (classes are recognised by name: no TensorFlow)."""
    return type(name, (base,), {})("boom")


@pytest.mark.parametrize(
    ("error", "phase", "cls"),
    [
        (MemoryError(), "build", "oom"),  # the type decides before the phase
        (_error("ResourceExhaustedError"), "fit", "oom"),
        (_error("SubclassOfIt", type(_error("ResourceExhaustedError"))), "evaluate", "oom"),
        (_error("NanTrialError"), "fit", "nan"),
        (_error("TrialTimeoutError"), "fit", "timeout"),
        (ValueError("bad arg"), "build", "build_error"),
        (ValueError("bad data"), "fit", "other"),
        (KeyError("x"), "evaluate", "other"),
    ],
)
def test_a_trial_s_error_is_classified_by_its_type_then_its_phase(
    error: BaseException, phase: str, cls: str
) -> None:
    assert classify(error, phase) == cls
