"""`type: Backbone`: a `keras.applications` network without its classifier, used as one layer.

Transfer learning without a download: the weights are random (`weights: null`), a local weights
file, or `imagenet`, loaded from the file Keras caches under `<keras home>/models/` (fetched once
on a machine with network; the run loads it by path and never calls Keras' `get_file`). What
each application accepts and gives is a table here, checked against real Keras by
`tests/contracts/test_keras_tables.py`: the smallest image side it takes (Keras'
`obtain_input_shape`), how it shrinks each side (its strided convolutions and poolings, in
Keras' output-size formula), the channels of its last feature map, how many layers it has
(what `fine_tune_from` counts), and the name of its ImageNet weights file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from ktrun.layers.base import LayerSpec, LayerType, keras_kwargs
from ktrun.layers.shape_math import Dim, ShapeFailure, format_shape, spatial_rank_failure
from ktrun.spec.domains import BOOL, NON_NEGATIVE_INT, POSITIVE, Domain
from ktrun.spec.refs import SERIALIZER, BoolArg, FloatArg, HpRef, IntArg, json_schema, validator

if TYPE_CHECKING:
    from ktrun.layers.base import ConcreteLayer
    from ktrun.layers.shape_math import Shape

#: One strided step of a network, per image side: (zero padding each side, kernel, stride),
#: Keras' `floor((n + 2 * pad - kernel) / stride) + 1`. "same" padding with stride 2 is (0, 1, 2).
Step = tuple[int, int, int]

_HALVE_SAME: Step = (0, 1, 2)  # ceil(n / 2): "same" padding, or Keras' `correct_pad` + valid
_HALVE_VALID: Step = (0, 2, 2)  # floor(n / 2): a 2x2 pooling or convolution, valid
_VALID_3S2: Step = (0, 3, 2)  # a 3x3 stride-2 convolution or pooling, valid
_VALID_3: Step = (0, 3, 1)

_SAME_32 = (_HALVE_SAME,) * 5
_VALID_32 = (_HALVE_VALID,) * 5
_DENSENET = (_HALVE_SAME, _HALVE_SAME, _HALVE_VALID, _HALVE_VALID, _HALVE_VALID)
_CONVNEXT = ((0, 4, 4), _HALVE_VALID, _HALVE_VALID, _HALVE_VALID)
_INCEPTION = (_VALID_3S2, _VALID_3, _VALID_3S2, _VALID_3, _VALID_3S2, _VALID_3S2, _VALID_3S2)
_XCEPTION = (_VALID_3S2, _VALID_3, *(_HALVE_SAME,) * 4)


def _depth(v: float, divisor: int = 8) -> int:
    """Keras' MobileNetV3 rounding of a channel count to a multiple of 8 (never 10% down)."""
    out = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * v else out


def _mobilenet_v2(alpha: float) -> int:
    return _depth(1280 * alpha) if alpha > 1.0 else 1280


def _mobilenet_v3(last_block: int) -> Callable[[float], int]:
    return lambda alpha: _depth(_depth(last_block * alpha) * 6)


@dataclass(frozen=True)
class Application:
    """A `keras.applications` constructor, as the static checks need to know it."""

    #: The smallest height and width it accepts (Keras' `obtain_input_shape(min_size=...)`).
    min_size: int
    #: Channels of its last feature map: a number, or a function of the width multiplier `alpha`.
    channels: int | Callable[[float], int]
    #: How it shrinks each image side, step by step.
    steps: tuple[Step, ...]
    #: Layers of the model it builds (`fine_tune_from` counts them).
    layers: int
    #: Takes the width multiplier `alpha` (the MobileNets).
    alpha: bool = False

    def out_channels(self, alpha: float | None) -> int:
        if callable(self.channels):
            return self.channels(1.0 if alpha is None else alpha)
        return self.channels

    def side(self, n: int | None) -> int | None:
        for pad, kernel, stride in self.steps:
            if n is None:
                return None
            n = math.floor((n + 2 * pad - kernel) / stride) + 1
        return n


#: The applications a Backbone can be, by their name under `keras.applications`.
APPLICATIONS: Mapping[str, Application] = {
    "VGG16": Application(32, 512, _VALID_32, 19),
    "VGG19": Application(32, 512, _VALID_32, 22),
    "ResNet50": Application(32, 2048, _SAME_32, 175),
    "ResNet101": Application(32, 2048, _SAME_32, 345),
    "ResNet152": Application(32, 2048, _SAME_32, 515),
    "ResNet50V2": Application(32, 2048, _SAME_32, 190),
    "ResNet101V2": Application(32, 2048, _SAME_32, 377),
    "ResNet152V2": Application(32, 2048, _SAME_32, 564),
    "MobileNet": Application(32, lambda a: int(1024 * a), _VALID_32, 86, alpha=True),
    "MobileNetV2": Application(32, _mobilenet_v2, _SAME_32, 154, alpha=True),
    "MobileNetV3Small": Application(32, _mobilenet_v3(96), _SAME_32, 157, alpha=True),
    "MobileNetV3Large": Application(32, _mobilenet_v3(160), _SAME_32, 187, alpha=True),
    "DenseNet121": Application(32, 1024, _DENSENET, 427),
    "DenseNet169": Application(32, 1664, _DENSENET, 595),
    "DenseNet201": Application(32, 1920, _DENSENET, 707),
    "EfficientNetB0": Application(32, 1280, _SAME_32, 237),
    "EfficientNetB1": Application(32, 1280, _SAME_32, 339),
    "EfficientNetB2": Application(32, 1408, _SAME_32, 339),
    "EfficientNetB3": Application(32, 1536, _SAME_32, 384),
    "EfficientNetB4": Application(32, 1792, _SAME_32, 474),
    "EfficientNetB5": Application(32, 2048, _SAME_32, 576),
    "EfficientNetB6": Application(32, 2304, _SAME_32, 666),
    "EfficientNetB7": Application(32, 2560, _SAME_32, 813),
    "EfficientNetV2B0": Application(32, 1280, _SAME_32, 270),
    "EfficientNetV2B1": Application(32, 1280, _SAME_32, 334),
    "EfficientNetV2B2": Application(32, 1408, _SAME_32, 349),
    "EfficientNetV2B3": Application(32, 1536, _SAME_32, 409),
    "EfficientNetV2S": Application(32, 1280, _SAME_32, 513),
    "EfficientNetV2M": Application(32, 1280, _SAME_32, 740),
    "EfficientNetV2L": Application(32, 1280, _SAME_32, 1028),
    "ConvNeXtTiny": Application(32, 768, _CONVNEXT, 133),
    "ConvNeXtSmall": Application(32, 768, _CONVNEXT, 259),
    "ConvNeXtBase": Application(32, 1024, _CONVNEXT, 259),
    "ConvNeXtLarge": Application(32, 1536, _CONVNEXT, 259),
    "ConvNeXtXLarge": Application(32, 2048, _CONVNEXT, 259),
    "Xception": Application(71, 2048, _XCEPTION, 132),
    "InceptionV3": Application(75, 2048, _INCEPTION, 311),
    "InceptionResNetV2": Application(75, 1536, _INCEPTION, 780),
}

#: Pretrained weights are for RGB images.
PRETRAINED_CHANNELS = 3
#: Suffixes Keras' `load_weights` reads.
WEIGHTS_SUFFIXES = (".weights.h5", ".h5")
#: `weights: imagenet`: Keras' ImageNet weights, from its cache (never downloaded by a run).
IMAGENET = "imagenet"


@dataclass(frozen=True)
class ImagenetFile:
    """The file Keras' `get_file` caches for an application's ImageNet weights, include_top=False.

    `pattern` takes `{alpha}` and `{side}` (the MobileNets); `alphas` are the width multipliers
    ImageNet weights exist for (empty: the application has none); `sides` the square input
    sides with a file of their own: Keras loads the 224 file for any other input."""

    pattern: str
    alphas: tuple[float, ...] = ()
    sides: tuple[int, ...] = ()
    #: How the file name spells alpha (MobileNet writes 0.75 as `7_5`).
    alpha_text: Callable[[float], str] = str

    def name(self, alpha: float | None, rows: Dim, cols: Dim) -> str | None:
        """The file for this variant, or None when Keras has no ImageNet weights for its alpha."""
        a = 1.0 if alpha is None else float(alpha)
        if self.alphas and a not in self.alphas:
            return None
        side = rows if rows == cols and rows in self.sides else 224
        return self.pattern.format(alpha=self.alpha_text(a), side=side)


def _keras_tf(stem: str) -> ImagenetFile:
    return ImagenetFile(f"{stem}_weights_tf_dim_ordering_tf_kernels_notop.h5")


def _named(stem: str) -> ImagenetFile:
    """EfficientNet, EfficientNetV2 and ConvNeXt: the model's default `name` + `_notop.h5`."""
    return ImagenetFile(f"{stem}_notop.h5")


_V2 = ("B0", "B1", "B2", "B3", "S", "M", "L")  # EfficientNetV2's sizes
_MOBILENET_ALPHA = {0.25: "2_5", 0.5: "5_0", 0.75: "7_5", 1.0: "1_0"}
_V3 = (0.75, 1.0)  # MobileNetV3's widths with ImageNet weights
_V3_TAIL = "float_no_top_v2.h5"

#: By application, read from keras/src/applications/*.py (`file_utils.get_file(...)` with
#: include_top=False, `cache_subdir="models"`); pinned by `tests/contracts/test_keras_tables.py`.
IMAGENET_FILES: Mapping[str, ImagenetFile] = {
    "VGG16": _keras_tf("vgg16"),
    "VGG19": _keras_tf("vgg19"),
    **{n: _keras_tf(n.lower()) for n in ("ResNet50", "ResNet101", "ResNet152")},
    **{n: _keras_tf(n.lower()) for n in ("ResNet50V2", "ResNet101V2", "ResNet152V2")},
    "MobileNet": ImagenetFile(
        "mobilenet_{alpha}_{side}_tf_no_top.h5",
        tuple(_MOBILENET_ALPHA),
        (128, 160, 192, 224),
        lambda a: _MOBILENET_ALPHA[a],
    ),
    "MobileNetV2": ImagenetFile(
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{side}_no_top.h5",
        (0.35, 0.5, 0.75, 1.0, 1.3, 1.4),
        (96, 128, 160, 192, 224),
    ),
    **{
        f"MobileNetV3{v.title()}": ImagenetFile(f"weights_mobilenet_v3_{v}_224_{{alpha}}_{_V3_TAIL}", _V3)
        for v in ("small", "large")
    },
    **{n: _keras_tf(n.lower()) for n in ("DenseNet121", "DenseNet169", "DenseNet201")},
    **{f"EfficientNetB{i}": _named(f"efficientnetb{i}") for i in range(8)},
    **{f"EfficientNetV2{v}": _named(f"efficientnetv2-{v.lower()}") for v in _V2},
    **{f"ConvNeXt{v}": _named(f"convnext_{v.lower()}") for v in ("Tiny", "Small", "Base", "Large", "XLarge")},
    "Xception": _keras_tf("xception"),
    "InceptionV3": _keras_tf("inception_v3"),
    "InceptionResNetV2": _keras_tf("inception_resnet_v2"),
}


def imagenet_file(application: str, alpha: float | None, shape: Shape) -> str | None:
    """The cached file `application` with ImageNet weights loads on images of `shape`."""
    return IMAGENET_FILES[application].name(alpha, shape[0], shape[1])


def imagenet_fetch(application: str, alpha: float | None, shape: Shape) -> str:
    """The one-line command that makes Keras download that file into its cache."""
    made = IMAGENET_FILES[application]
    args = ["include_top=False", "weights='imagenet'"]
    if alpha is not None and made.alphas:
        args.append(f"alpha={float(alpha)}")
    if made.sides:
        side = shape[0] if shape[0] == shape[1] and shape[0] in made.sides else 224
        args.append(f"input_shape=({side}, {side}, 3)")
    return f'python -c "import keras; keras.applications.{application}({", ".join(args)})"'


def keras_models_dir() -> Path:
    """Where Keras' `get_file(..., cache_subdir="models")` keeps a download: `$KERAS_HOME` (else
    `~/.keras`, or `/tmp/.keras` when the home directory is not writable), then `/tmp/.keras` when
    that is not writable either, as keras/src/backend/config.py and utils/file_utils.py decide.
    Read at call time (Keras reads `KERAS_HOME` once, at import, and creates the directory: one
    that does not exist yet is where the file belongs). Run time only: `check` never
    looks outside the project."""
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    cache = os.path.expanduser(home)
    if os.path.exists(cache) and not os.access(cache, os.W_OK):
        cache = os.path.join("/tmp", ".keras")
    return Path(cache) / "models"


ApplicationName = Annotated[
    str | HpRef, validator("str"), SERIALIZER, json_schema("str", enum=list(APPLICATIONS))
]
PoolingName = Annotated[str | HpRef, validator("str"), SERIALIZER, json_schema("str", enum=["avg", "max"])]


class Backbone(LayerSpec):
    """A `keras.applications` network without its classifier (`include_top=False`), built for the
    shape this layer receives. Weights: random (`null`), a local weights file, or `imagenet` from
    Keras' cache; never a download."""

    type: Literal["Backbone"]
    application: ApplicationName = Field(
        description="Its constructor under keras.applications, e.g. MobileNetV2; tunable."
    )
    weights: str | None = Field(
        None,
        description=(
            "null: random initialisation; `imagenet`: Keras' ImageNet weights, loaded from the file "
            "Keras caches under $KERAS_HOME/models (~/.keras/models), never downloaded by a run; or "
            "a local weights file (`.weights.h5`) saved from the same application with include_top=False."
        ),
    )
    trainable: BoolArg = Field(True, description="false: the whole backbone is frozen; tunable.")
    fine_tune_from: IntArg | None = Field(
        None, description="Freeze the backbone's layers before this index, train the rest; tunable."
    )
    pooling: PoolingName | None = Field(
        None,
        description="avg or max: one vector of channels per image; unset: the last feature map. Tunable.",
    )
    alpha: FloatArg | None = Field(
        None, description="MobileNets only: the width multiplier (1.0 unset); tunable."
    )


def backbone_shape(layer: ConcreteLayer, shape: Shape) -> Shape | ShapeFailure:
    """The application's output on this image, or why it cannot take it."""
    wrong_rank = spatial_rank_failure(layer, shape, 2)
    if wrong_rank is not None:
        return wrong_rank
    a = layer.args
    app = APPLICATIONS.get(a["application"]) if isinstance(a["application"], str) else None
    if app is None:
        return (None,) if a["pooling"] is not None else (None, None, None)
    name = a["application"]
    small = [d for d in shape[:2] if d is not None and d < app.min_size]
    if small:
        return ShapeFailure(
            "input-too-small",
            layer,
            f"{name} takes images of at least {app.min_size}x{app.min_size}, but receives "
            f"{format_shape(shape)}",
            f"add `{{type: Resizing, height: {app.min_size}, width: {app.min_size}}}` before it, "
            "or use an application with a smaller minimum (most take 32x32)",
        )
    if a["weights"] is not None and shape[2] not in (None, PRETRAINED_CHANNELS):
        return ShapeFailure(
            "backbone-channels",
            layer,
            f"{name} with pretrained weights takes RGB images ({PRETRAINED_CHANNELS} channels), but "
            f"receives {format_shape(shape)}",
            "add `{type: Conv2D, filters: 3, kernel_size: 1}` before it to map the channels to 3, "
            "or use `weights: null`",
            "weights",
        )
    if a["alpha"] is not None and not app.alpha:
        return ShapeFailure(
            "backbone-alpha",
            layer,
            f"{name} has no width multiplier `alpha` (only MobileNet, MobileNetV2, "
            "MobileNetV3Small and MobileNetV3Large do)",
            "remove `alpha`, or use a MobileNet",
            "alpha",
        )
    alpha = a["alpha"] if isinstance(a["alpha"], int | float) else None
    known_alpha = alpha is not None or a["alpha"] is None
    if a["weights"] == IMAGENET and known_alpha and imagenet_file(name, alpha, shape) is None:
        return ShapeFailure(
            "imagenet-weights-alpha",
            layer,
            f"{name} has ImageNet weights only for alpha "
            f"{', '.join(map(str, IMAGENET_FILES[name].alphas))}, not {alpha}",
            "use one of those widths, or `weights: null`",
            "alpha",
        )
    channels = app.out_channels(alpha) if known_alpha else None
    if a["pooling"] is not None:
        return (channels,)
    return (app.side(shape[0]), app.side(shape[1]), channels)


def backbone_kwargs(layer: ConcreteLayer) -> dict[str, Any]:
    """The application's keyword arguments; the builder adds the input shape it receives."""
    a = layer.args
    kwargs: dict[str, Any] = {"include_top": False, "weights": a["weights"], "pooling": a["pooling"]}
    if a["alpha"] is not None:
        kwargs["alpha"] = a["alpha"]
    name = keras_kwargs(layer).get("name")  # one per repetition of a repeat block
    if name is not None:
        kwargs["name"] = name
    return kwargs


def _application(layer: ConcreteLayer) -> str:
    return str(layer.args["application"])


TYPES = (
    LayerType(
        spec=Backbone,
        shape=backbone_shape,
        keras_application=_application,
        params=lambda layer, given, out: None,  # a whole network: not counted statically (yet)
        flops=lambda layer, given, out: None,  # nor its operations
        kwargs=backbone_kwargs,
        domains={
            "application": Domain(
                "str",
                "an application ktrun knows",
                names=tuple(APPLICATIONS),
                code="unknown-application",
                hint=f"known applications: {', '.join(APPLICATIONS)}",
            ),
            "pooling": Domain("str", "avg or max", names=("avg", "max")),
            "trainable": BOOL,
            "fine_tune_from": NON_NEGATIVE_INT,
            "alpha": POSITIVE,
        },
        shape_args=("application", "pooling", "alpha", "weights"),
    ),
)
