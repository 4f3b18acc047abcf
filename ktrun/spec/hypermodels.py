"""Keras Tuner's pre-built HyperModels (`keras_tuner.applications`), as `model.hypermodel`.

Their search spaces live in their `build` methods, which need TensorFlow. `check` and `plan`
must see them without it, so each one's hyperparameters are a table here (names, kinds, ranges,
defaults, as its source registers them), which `tests/contracts/test_keras_tables.py` compares
with what the real HyperModel registers. A user's `hyperparameters:` entry of the same name
replaces the table's, as in Keras Tuner: a hyperparameter registered first (the user's, passed as
`hyperparameters=`) is what a later `hp.Choice` of the same name in `build` returns. Its values
must be ones the build's code can use: any of `widens` (a learning rate, a depth), a subset of
the table's for the others (names the build branches on: `version`, `pooling`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, TypeAdapter

from ktrun.spec import keras_names as kn
from ktrun.spec.base import Strict
from ktrun.spec.domains import FRACTION, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, Domain
from ktrun.spec.hyperparameters import Hyperparameter


@dataclass(frozen=True)
class HyperModelKind:
    """One pre-built HyperModel, as the static checks need to know it."""

    #: Its class under `keras_tuner.applications`.
    keras_tuner_class: str
    #: What its `build` registers, in ktrun's declaration language.
    hyperparameters: Mapping[str, Hyperparameter]
    #: The smallest image side it builds on (they pad, use "same" padding or resize).
    min_size: int = 1
    #: Hyperparameters whose values its build uses as numbers or Keras names, so a user's entry
    #: may take any of the domain's; the others only a subset of the table's (the build has code
    #: for those values alone).
    widens: Mapping[str, Domain] = field(default_factory=dict)
    #: Builds a `keras.applications` network that has ImageNet weights (`weights: imagenet`).
    imagenet: bool = False


def _hps(table: Mapping[str, dict[str, Any]]) -> dict[str, Hyperparameter]:
    adapter: TypeAdapter[Hyperparameter] = TypeAdapter(Hyperparameter)
    return {name: adapter.validate_python(decl) for name, decl in table.items()}


def _choice(values: list[Any], default: Any = None) -> dict[str, Any]:
    return {"type": "choice", "values": values, **({"default": default} if default is not None else {})}


_LEARNING_RATE = {"learning_rate": POSITIVE}
#: `stack2` (v2) names its first and last block `..._block1` and `..._block{depth}`: depth 1 is
#: one name twice, which Keras refuses.
_RESNET_DEPTH = Domain("int", "an integer >= 2 (ResNet v2 names two blocks alike at depth 1)", lo=2)
#: `keras.optimizers.get` takes these names (not `lamb`, which has no short name there).
_GETTABLE_OPTIMIZERS = Domain(
    "str",
    "an optimizer name keras.optimizers.get knows",
    names=tuple(n for n in kn.OPTIMIZERS if n != "lamb"),
)

#: By `model.hypermodel.type`. Read from keras_tuner/src/applications/{resnet,xception,efficientnet}.py.
HYPERMODELS: Mapping[str, HyperModelKind] = {
    "resnet": HyperModelKind(
        "HyperResNet",
        _hps(
            {
                "version": _choice(["v1", "v2", "next"], "v2"),
                "conv3_depth": _choice([4, 8]),
                "conv4_depth": _choice([6, 23, 36]),
                "pooling": _choice(["avg", "max"], "avg"),
                "optimizer": _choice(["adam", "rmsprop", "sgd"], "adam"),
                "learning_rate": _choice([0.1, 0.01, 0.001], 0.01),
            }
        ),
        widens={
            **_LEARNING_RATE,
            **dict.fromkeys(("conv3_depth", "conv4_depth"), _RESNET_DEPTH),
            "optimizer": _GETTABLE_OPTIMIZERS,
        },
    ),
    "xception": HyperModelKind(
        "HyperXception",
        _hps(
            {
                "activation": _choice(["relu", "selu"]),
                "conv2d_num_filters": _choice([32, 64, 128], 64),
                "kernel_size": _choice([3, 5]),
                "initial_strides": _choice([2]),
                "sep_num_filters": {"type": "int", "min": 128, "max": 768, "step": 128, "default": 256},
                "num_residual_blocks": {"type": "int", "min": 2, "max": 8, "default": 4},
                "pooling": _choice(["avg", "flatten", "max"]),
                "num_dense_layers": {"type": "int", "min": 1, "max": 3},
                "dropout_rate": {"type": "float", "min": 0.0, "max": 0.6, "step": 0.1, "default": 0.5},
                "dense_use_bn": _choice([True, False]),
                "learning_rate": _choice([1e-3, 1e-4, 1e-5]),
            }
        ),
        widens={
            **_LEARNING_RATE,
            **dict.fromkeys(
                ("conv2d_num_filters", "kernel_size", "initial_strides", "sep_num_filters"), POSITIVE_INT
            ),
            **dict.fromkeys(("num_residual_blocks", "num_dense_layers"), NON_NEGATIVE_INT),
            "dropout_rate": FRACTION,
        },
    ),
    "efficientnet": HyperModelKind(
        "HyperEfficientNet",
        _hps(
            {
                "version": _choice([f"B{i}" for i in range(8)], "B0"),
                "pooling": _choice(["avg", "max"], "avg"),
                "top_dropout_rate": {"type": "float", "min": 0.2, "max": 0.8, "step": 0.2, "default": 0.2},
                "learning_rate": _choice([0.1, 0.01, 0.001], 0.01),
            }
        ),
        widens={**_LEARNING_RATE, "top_dropout_rate": FRACTION},
        imagenet=True,
    ),
}

if TYPE_CHECKING:
    HyperModelName = str
else:
    HyperModelName = Literal[tuple(HYPERMODELS)]


class HyperModelSpec(Strict):
    """A Keras Tuner HyperModel instead of `layers`: its own network, search space and compile
    (categorical cross-entropy, so `data.labels: one_hot`, and accuracy)."""

    type: HyperModelName = Field(
        description="resnet (HyperResNet), xception (HyperXception) or efficientnet (HyperEfficientNet)."
    )
    classes: int | None = Field(
        None, ge=1, description="Output classes; unset: the data's number of classes."
    )
    weights: Literal["imagenet"] | None = Field(
        None,
        description=(
            "efficientnet only. null: the EfficientNet is randomly initialised; imagenet (Keras "
            "Tuner's own default): its ImageNet weights, loaded from the file Keras caches under "
            "$KERAS_HOME/models (~/.keras/models), never downloaded by a run."
        ),
    )

    @property
    def kind(self) -> HyperModelKind:
        return HYPERMODELS[self.type]
