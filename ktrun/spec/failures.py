"""The failure classes: what can go wrong in a trial, how ktrun tells, and what it does by default.

One record per class, in the order reports list them. Everything else is derived from this table: the
`failure_policy.<class>` keys and their defaults (`ktrun.spec.experiment.FailurePolicySpec`),
the classification of a trial's exception at run time, the `failed` counts in `summary.json`,
the report's sections and the policy checks. Adding a class is one record here (plus the line
the shipped `conf/failure_policy/*.yaml` presets must give it, which a contract test asks for).

A class is recognised by the names of the exception's classes (its MRO), so that this table
needs no TensorFlow: `ResourceExhaustedError` is TensorFlow's out-of-memory error, the others are
raised by ktrun's runtime (`ktrun.runtime.tuner`).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Literal

FailureAction = Literal["skip", "retry", "abort"]


@dataclass(frozen=True)
class FailureKind:
    """One failure class: its `failure_policy` key, its default action and what it means; and how
    a trial's error is recognised as one of it, by the error's type or by the phase it came from."""

    name: str
    default: FailureAction
    meaning: str
    _: KW_ONLY
    #: Names of exception classes (anywhere in the error's MRO) that put a trial in this class.
    errors: tuple[str, ...] = ()
    #: The phase (build, fit, evaluate) in which any other error belongs to this class.
    phase: str | None = None
    #: The same hyperparameters fail the same way again: a `retry` only wastes time.
    deterministic: bool = False

    def raised(self, error: BaseException) -> bool:
        return not {c.__name__ for c in type(error).__mro__}.isdisjoint(self.errors)


FAILURE_KINDS: tuple[FailureKind, ...] = (
    FailureKind(
        "build_error", "skip", "The model could not be built or compiled.", phase="build", deterministic=True
    ),
    FailureKind("nan", "skip", "The loss or a metric became NaN or infinite.", errors=("NanTrialError",)),
    FailureKind(
        "oom", "retry", "Out of memory, host or device.", errors=("MemoryError", "ResourceExhaustedError")
    ),
    FailureKind("timeout", "skip", "The trial ran past its trial_timeout.", errors=("TrialTimeoutError",)),
    FailureKind(
        "crash",
        "skip",
        "The trial's worker process died (a segfault, the kernel's OOM killer, os._exit): "
        "runtime.isolation: process only; a fresh worker takes over.",
    ),
    FailureKind("other", "abort", "Anything else: a fault that suggests the whole search is broken."),
)
FAILURES: dict[str, FailureKind] = {k.name: k for k in FAILURE_KINDS}
#: Every class name, in the table's order (summary.json lists each, so scripts can index).
FAILURE_CLASSES: tuple[str, ...] = tuple(FAILURES)
#: The class that takes what no other recognises.
FALLBACK = "other"


def classify(error: BaseException, phase: str) -> str:
    """The failure class of `error`, raised in `phase` (build, fit or evaluate).

    The error's type decides first (an out-of-memory error while building is `oom`), then the
    phase (any other error while building is `build_error`), then `other`.
    """
    by_type = (k.name for k in FAILURE_KINDS if k.raised(error))
    by_phase = (k.name for k in FAILURE_KINDS if k.phase is not None and k.phase == phase)
    return next(by_type, None) or next(by_phase, FALLBACK)
