"""What each argument accepts, as data: the tables check 2 reads, and the domains layers share.

Each layer type declares its own arguments' domains (`ktrun.layers`) from the shared ones here.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

from ktrun.spec import keras_names as kn
from ktrun.spec.refs import Scalar


@dataclass(frozen=True)
class Domain:
    kind: str  # "int" | "float" | "str" | "bool"
    text: str  # how the message says it: "an integer >= 1"
    lo: float | None = None
    lo_open: bool = False
    hi: float | None = None
    hi_open: bool = False
    names: tuple[str, ...] | None = None
    code: str = "arg-out-of-range"
    hint: str = ""

    def type_ok(self, v: Scalar) -> bool:
        if self.kind == "bool":
            return isinstance(v, bool)
        if isinstance(v, bool):
            return False
        if self.kind == "int":
            return isinstance(v, int)
        if self.kind == "float":
            return isinstance(v, int | float)
        return isinstance(v, str)

    def value_ok(self, v: Scalar) -> bool:
        if self.names is not None:
            return v in self.names
        if not isinstance(v, int | float) or isinstance(v, bool):
            return True
        if not math.isfinite(v):
            return False
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            return False
        return not (self.hi is not None and (v > self.hi or (self.hi_open and v == self.hi)))

    def suggestion(self, v: Scalar) -> str:
        if self.names is None:
            return ""
        close = difflib.get_close_matches(str(v), self.names, n=1, cutoff=0.6)
        return f"did you mean `{close[0]}`? " if close else ""


#: Keras keeps shapes in int32: a larger size can never build.
MAX_SIZE = 2**31 - 1
POSITIVE_INT = Domain("int", f"an integer from 1 to {MAX_SIZE:,}", lo=1, hi=MAX_SIZE)
FRACTION = Domain("float", "a number in [0, 1)", lo=0, hi=1, hi_open=True)
POSITIVE = Domain("float", "a number > 0", lo=0, lo_open=True)
BOOL = Domain("bool", "true or false")
NON_NEGATIVE = Domain("float", "a number >= 0", lo=0)
NON_NEGATIVE_INT = Domain("int", "an integer >= 0", lo=0)
ACTIVATION = Domain(
    "str",
    "an activation name",
    names=kn.ACTIVATIONS,
    code="unknown-activation",
    hint="give a Keras activation name, or declare your own under custom_objects.activations",
)
INITIALIZER = Domain("str", "an initializer name", names=kn.INITIALIZERS, code="unknown-initializer")
CONSTRAINT = Domain("str", "a constraint name", names=kn.CONSTRAINTS, code="unknown-constraint")
NUMBER = Domain("float", "a number")
PADDING = Domain("str", "'valid' or 'same'", names=kn.PADDINGS, code="invalid-padding")
CONV1D_PADDING = Domain(
    "str", "'valid', 'same' or 'causal'", names=kn.CONV1D_PADDINGS, code="invalid-padding"
)

LEARNING_RATE = Domain(
    "float",
    "a number in (0, 1]",
    lo=0,
    lo_open=True,
    hi=1,
    code="learning-rate-out-of-range",
    hint="useful learning rates are about 1e-5 to 1e-1; sample them on a log scale, e.g. "
    "`{type: float, min: 1e-4, max: 1e-2, sampling: log}`",
)
#: The optimizer's arguments (layer arguments are declared with their layer type, `ktrun.layers`).
OPTIMIZER_ARGS: dict[str, Domain] = {
    "name": Domain("str", "an optimizer name", names=kn.OPTIMIZERS, code="unknown-optimizer"),
    "learning_rate": LEARNING_RATE,
    **dict.fromkeys(("beta_1", "beta_2", "rho", "momentum"), FRACTION),
    **dict.fromkeys(
        ("epsilon", "clipnorm", "clipvalue", "epsilon_1", "epsilon_2", "clip_threshold"), POSITIVE
    ),
    **dict.fromkeys(
        (
            "weight_decay",
            "initial_accumulator_value",
            "beta",
            *(f"{k}_regularization_strength" for k in ("l1", "l2", "l2_shrinkage")),
        ),
        NON_NEGATIVE,
    ),
    **dict.fromkeys(("learning_rate_power", "beta_2_decay"), Domain("float", "a number <= 0", hi=0)),
    **dict.fromkeys(("amsgrad", "nesterov", "centered", "relative_step"), BOOL),
}
#: A learning-rate schedule's arguments (which schedule takes which: `keras_names.SCHEDULE_ARGS`);
#: `boundaries` and `values` are lists, each item checked.
SCHEDULE_ARGS: dict[str, Domain] = {
    "schedule": Domain("str", "a schedule name", names=kn.SCHEDULES, code="unknown-schedule"),
    **dict.fromkeys(("initial_learning_rate", "warmup_target", "values"), LEARNING_RATE),
    **dict.fromkeys(("decay_steps", "first_decay_steps"), POSITIVE_INT),
    **dict.fromkeys(("warmup_steps", "boundaries"), NON_NEGATIVE_INT),
    **dict.fromkeys(("decay_rate", "power", "t_mul", "m_mul"), POSITIVE),
    "end_learning_rate": Domain("float", "a number in [0, 1]", lo=0, hi=1),
    "alpha": Domain("float", "a number in [0, 1]", lo=0, hi=1),
    **dict.fromkeys(("staircase", "cycle"), BOOL),
}
#: The loss's arguments (which loss takes which: `keras_names.LOSS_ARGS`).
LOSS_ARGS: dict[str, Domain] = {
    **dict.fromkeys(("from_logits", "apply_class_balancing"), BOOL),
    "label_smoothing": FRACTION,
    **dict.fromkeys(("axis", "ignore_class"), Domain("int", "an integer")),
    **dict.fromkeys(("alpha", "beta", "gamma"), NON_NEGATIVE),
    "delta": POSITIVE,
    "q": Domain("float", "a number in (0, 1)", lo=0, lo_open=True, hi=1, hi_open=True),
}
_UNIT = Domain("float", "a number in [0, 1]", lo=0, hi=1)
#: The metrics' arguments (which metric takes which: `keras_names.METRIC_ARGS`).
METRIC_ARGS: dict[str, Domain] = {
    **dict.fromkeys(("thresholds", "threshold"), _UNIT),
    **dict.fromkeys(("top_k", "k", "num_labels"), POSITIVE_INT),
    **dict.fromkeys(("class_id", "num_regressors"), NON_NEGATIVE_INT),
    "curve": Domain("str", "'ROC' or 'PR'", names=("ROC", "PR")),
    "num_thresholds": Domain("int", "an integer > 1", lo=2),
    "summation_method": Domain(
        "str", "'interpolation', 'minoring' or 'majoring'", names=("interpolation", "minoring", "majoring")
    ),
    **dict.fromkeys(("multi_label", "from_logits"), BOOL),
    "average": Domain("str", "'micro', 'macro' or 'weighted'", names=("micro", "macro", "weighted")),
    "beta": POSITIVE,
    "class_aggregation": Domain(
        "str",
        "'uniform_average' or 'variance_weighted_average'",
        names=("uniform_average", "variance_weighted_average"),
    ),
    "label_smoothing": FRACTION,
    **dict.fromkeys(("axis", "ignore_class"), Domain("int", "an integer")),
}
CLASS_WEIGHTS = ("balanced", "none")
FIT_ARGS: dict[str, Domain] = {
    **dict.fromkeys(("epochs", "batch_size"), POSITIVE_INT),
    "shuffle": BOOL,
    "class_weight": Domain("str", "'balanced' or 'none'", names=CLASS_WEIGHTS),
}
