"""Stage 5: `Plan` → Keras objects. With the runtime, the only place that imports Keras.

`build_model(plan, point)` is what each trial runs: the layers one point of the space builds
(repeat blocks unrolled, `when` applied, references replaced by values), compiled with the
optimizer, loss and metrics of the spec. Hyperparameters are never registered here: the space is
declared once, up front, from the plan (`declare_hyperparameters`), so the YAML stays the single
source of truth and no dependent bound can freeze.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import keras
import keras_tuner as kt
import numpy as np

from ktrun.analysis.unroll import computed, output_nodes, unroll
from ktrun.analysis.values import on_grid
from ktrun.compiler.plan import HpDecl, Plan
from ktrun.data.columns import DTYPES, input_kinds
from ktrun.layers.applications import IMAGENET, imagenet_fetch, imagenet_file, keras_models_dir
from ktrun.layers.base import ConcreteLayer
from ktrun.layers.shape_math import Shape
from ktrun.spec import keras_names as kn
from ktrun.spec.domains import ACTIVATION
from ktrun.spec.experiment import CustomSection, LossSpec, MetricSpec, ScheduleSpec
from ktrun.spec.refs import HpExpr, HpRef, Scalar


def declare_hyperparameters(plan: Plan) -> kt.HyperParameters:
    """The whole space, registered once, parents before children (conditions as scopes)."""
    hp = kt.HyperParameters()
    decls = {d.name: d for d in plan.hyperparameters}
    for decl in plan.hyperparameters:
        _register(hp, decl, list(decl.conditions), decls)
    return hp


def _register(hp: kt.HyperParameters, decl: HpDecl, conditions: list[Any], decls: dict[str, HpDecl]) -> None:
    """`decl` inside its conditions' scopes. Keras Tuner opens a parent's scope only where the
    parent is registered under exactly the scopes already open: a parent whose own conditions
    differ (two independent parents) is declared there as well, which changes nothing else
    (the same name has one value; it is active where any of its declarations is)."""
    if conditions:
        cond = conditions[0]
        parent = decls[cond.parent]
        getattr(hp, parent.kind)(parent.name, **parent.kwargs)  # a no-op where it is registered
        with hp.conditional_scope(cond.parent, list(cond.values)):
            _register(hp, decl, conditions[1:], decls)
        return
    getattr(hp, decl.kind)(decl.name, **decl.kwargs)


def active_values(hp: kt.HyperParameters) -> dict[str, Scalar]:
    """The trial's point: active hyperparameters only (Hyperband's `tuner/*` keys included),
    stepped floats as the decimals they stand for (Keras Tuner's 0.30000000000000004 is 0.3):
    the model is built with, and the results record, the value the user typed."""
    stepped = {p.name: p for p in hp.space if isinstance(p, kt.engine.hyperparameters.Float) and p.step}
    out: dict[str, Scalar] = {}
    for k, v in hp.values.items():
        if k.startswith("tuner/") or hp.is_active(k):
            p = stepped.get(k)
            out[k] = v if p is None else on_grid(v, p.min_value, p.max_value, p.step, p.sampling)
    return out


def searched_values(hp: kt.HyperParameters) -> dict[str, Scalar]:
    """The trial's point as the journal and the results record it: its active hyperparameters,
    without Hyperband's `tuner/*` bookkeeping."""
    return {k: v for k, v in active_values(hp).items() if not k.startswith("tuner/")}


def build_graph(plan: Plan, point: Mapping[str, Scalar]) -> tuple[list[Any], list[Any]]:
    """The model's input and output tensors: each layer as its registered type says (a class and
    its keyword arguments), called on the nodes it reads."""
    model = plan.spec.model
    names = model.input_names
    kinds = input_kinds(plan.spec.data, model)  # a csv's categorical ids and text strings
    tensors: dict[str, Any] = {
        n: keras.Input(shape=plan.checked.input_shapes[n], name=n, dtype=DTYPES[kinds.get(n, "numeric")])
        for n in names
    }
    inputs = [tensors[n] for n in names]
    layers = unroll(model.layers, point, inputs=names)
    ends = output_nodes(layers, [o.layer for o in model.outputs])
    mixed = keras.config.dtype_policy().name.startswith("mixed")
    for c in layers:
        given = [tensors[i] for i in c.inputs]
        built = make_layer(plan, c, tuple(given[0].shape[1:]))
        if mixed and c.node in ends:  # a 16-bit softmax or loss input loses the small probabilities
            built.dtype_policy = "float32"
        tensors[c.node] = call_layer(c, built, given)
    outputs = [tensors[n] for n in ends]
    return inputs, outputs


def precision_policy(plan: Plan) -> str:
    """Keras' dtype policy for `fit.mixed_precision`: float16 (with loss scaling, which `compile`
    adds) where a GPU computes it fast, bfloat16 on CPUs, whose float16 matmuls are emulated."""
    import tensorflow as tf

    if not plan.spec.fit.mixed_precision:
        return "float32"
    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"


def call_layer(layer: ConcreteLayer, built: Any, given: list[Any]) -> Any:
    """Call a Keras layer on what it reads, the way its class takes it; one input to a layer that
    takes a query and a value is attention over itself."""
    style = layer.kind.call
    if style == "one":
        return built(given[0])
    if style == "list":
        return built(given if len(given) > 1 else [given[0], given[0]])
    query, value, *key = given if len(given) > 1 else [given[0], given[0]]
    return built(query, value, *key)


def make_layer(plan: Plan | None, layer: ConcreteLayer, input_shape: Shape | None) -> keras.layers.Layer:
    """One layer of the model; `input_shape` (per sample) is read only by a backbone."""
    if layer.kind.keras_application is not None:
        assert input_shape is not None  # checked plans have a shape at every layer
        return build_backbone(layer, input_shape)
    return build_layer(layer, plan)


def build_backbone(layer: ConcreteLayer, input_shape: Shape) -> keras.Model:
    """A `keras.applications` network for this input, frozen as the layer says: whole
    (`trainable: false`) or its layers before `fine_tune_from`."""
    kind = layer.kind
    assert kind.keras_application is not None
    name = kind.keras_application(layer)
    kwargs = kind.kwargs(layer)
    if kwargs["weights"] == IMAGENET:
        model = imagenet_application(name, kwargs, input_shape)
    else:
        model = getattr(keras.applications, name)(input_shape=tuple(input_shape), **kwargs)
    if not layer.args["trainable"]:
        model.trainable = False
    elif layer.args.get("fine_tune_from"):
        for frozen in model.layers[: int(layer.args["fine_tune_from"])]:
            frozen.trainable = False
    return model


class PretrainedWeightsError(kt.errors.FatalError):
    """ImageNet weights that are not in Keras' cache, or do not load: the run's pre-flight
    (`ktrun.compiler.pretrained`) finds these before any trial; this stops a search that still
    meets one (the same file fails every trial alike)."""


def imagenet_application(name: str, kwargs: Mapping[str, Any], input_shape: Shape) -> keras.Model:
    """`keras.applications.<name>(**kwargs)` with ImageNet weights, loaded by path from Keras'
    cache: Keras' `get_file` is never called (it downloads on a miss and on a hash mismatch).
    Built for `input_shape` unless `kwargs` give an `input_tensor` (of that shape)."""
    alpha = kwargs.get("alpha")
    file = imagenet_file(name, alpha, input_shape)
    path = keras_models_dir() / file if file is not None else None
    fetch = imagenet_fetch(name, alpha, input_shape)
    if path is None or not path.is_file():
        raise PretrainedWeightsError(
            f"{name}'s ImageNet weights are not in Keras' cache ({path or 'no such variant'}); "
            f"fetch them once on a machine with network: {fetch}"
        )
    shape = {} if "input_tensor" in kwargs else {"input_shape": tuple(input_shape)}
    try:
        model: keras.Model = getattr(keras.applications, name)(**{**kwargs, **shape, "weights": str(path)})
    except (ValueError, OSError, KeyError) as e:
        raise PretrainedWeightsError(
            f"{name}'s cached ImageNet weights {path} do not load ({e}); delete the file and fetch "
            f"it again: {fetch}"
        ) from e
    if name in _EFFICIENTNET_RESCALED:
        _fold_imagenet_rescaling(model)
    return model


#: `EfficientNetB0`-`B7` built with `weights="imagenet"` put a `Rescaling` by 1 / sqrt(stddev)
#: after their input `Normalization` (keras/src/applications/efficientnet.py, matching the
#: original network's normalisation); built with a weights path they do not.
_EFFICIENTNET_RESCALED = frozenset(f"EfficientNetB{i}" for i in range(8))
#: `IMAGENET_STDDEV_RGB` of keras/src/applications/efficientnet.py (pinned by a contract test).
IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)


def _fold_imagenet_rescaling(model: keras.Model) -> None:
    """The same function as Keras' ImageNet EfficientNet: (x - m) / sqrt(v) / sqrt(s) is
    (x - m) / sqrt(v * s), so the missing rescaling goes into the loaded variance."""
    norm = next(x for x in model.layers if isinstance(x, keras.layers.Normalization))
    norm.adapt_variance.assign(norm.adapt_variance.numpy() * np.asarray(IMAGENET_STDDEV_RGB, "float32"))
    norm.finalize_state()


def efficientnet_constructor(plan: Plan) -> Any:
    """HyperEfficientNet's constructor for each version, as `model.hypermodel.weights` says:
    random (`null`) or ImageNet's from Keras' cache, never downloaded."""
    spec = plan.spec.model.hypermodel
    imagenet = spec is not None and spec.weights == IMAGENET

    def swap(version: str, make: Any) -> Any:
        if not imagenet:
            return functools.partial(make, weights=None)
        name = f"EfficientNet{version}"
        return lambda **kw: imagenet_application(name, kw, _tensor_shape(kw.get("input_tensor")))

    return swap


def _tensor_shape(tensor: Any) -> Shape:
    return tuple(tensor.shape[1:]) if tensor is not None else (None, None, None)


def build_layer(layer: ConcreteLayer, plan: Plan | None = None) -> keras.layers.Layer:
    """One layer; a wrapper's layer (`layer:`, itself concrete) is built first and passed in.
    Without a plan, Keras' own layers only (no custom objects to import)."""
    kwargs = {
        k: build_layer(v, plan) if isinstance(v, ConcreteLayer) else v
        for k, v in layer.kind.kwargs(layer).items()
    }
    if plan is not None:
        _own_activations(plan, layer, kwargs)
    return _layer_class(plan, layer)(**kwargs)


def _own_activations(plan: Plan, layer: ConcreteLayer, kwargs: dict[str, Any]) -> None:
    """Activation arguments that name one of `custom_objects.activations` become the function."""
    own = plan.spec.custom_objects.activations
    for arg, domain in layer.kind.domains.items():
        if domain is ACTIVATION and isinstance(kwargs.get(arg), str) and kwargs[arg] in own:
            kwargs[arg] = custom_object(plan, kwargs[arg], "activations")


def _layer_class(plan: Plan | None, layer: ConcreteLayer) -> Any:
    kind = layer.kind
    if kind.keras_class is not None:
        return getattr(keras.layers, kind.keras_class)
    assert kind.custom_object is not None and plan is not None  # a LayerType has one or the other
    return custom_object(plan, kind.custom_object(layer.layer))


def custom_object(plan: Plan, name: str, section: CustomSection = "layers") -> Any:
    return plan.spec.custom_objects.resolve(section, name)


def _resolve(value: object, point: Mapping[str, Scalar]) -> Any:
    if isinstance(value, HpExpr):
        return computed(value, point)
    return point.get(value.name) if isinstance(value, HpRef) else value


def make_optimizer(plan: Plan, point: Mapping[str, Scalar]) -> keras.optimizers.Optimizer:
    """The optimizer the point names, with the common arguments it takes and, over them, its own
    `per_optimizer` ones; an argument whose hyperparameter is inactive is left out (an own one
    then falls back to the common one, a common one to Keras' default)."""
    spec = plan.spec.model.compile.optimizer
    name = str(_resolve(spec.name, point))
    allowed = kn.OPTIMIZER_ARGS[name] | kn.COMMON_OPTIMIZER_ARGS
    own = spec.per_optimizer[name].arguments() if name in spec.per_optimizer else {}
    kwargs: dict[str, Any] = {}
    for given in (spec.arguments(), own):
        for arg, value in given.items():
            if isinstance(value, ScheduleSpec):
                kwargs[arg] = make_schedule(value, point)
            elif arg in allowed and (resolved := _resolve(value, point)) is not None:
                kwargs[arg] = resolved
    return getattr(keras.optimizers, kn.OPTIMIZER_CLASSES[name])(**kwargs)


def make_schedule(
    spec: ScheduleSpec, point: Mapping[str, Scalar]
) -> keras.optimizers.schedules.LearningRateSchedule:
    """The schedule the point names, with the arguments set that it takes (under a chosen
    schedule, the others' arguments are left out); the rest keep Keras' defaults, as do those
    whose hyperparameter is inactive at the point (like the optimizer's)."""
    name = str(_resolve(spec.schedule, point))
    kwargs: dict[str, Any] = {}
    for arg, value in spec.arguments().items():
        resolved = [_resolve(x, point) for x in value] if isinstance(value, list) else _resolve(value, point)
        if arg in kn.SCHEDULE_ARGS[name] and resolved is not None:
            kwargs[arg] = resolved
    return getattr(keras.optimizers.schedules, kn.SCHEDULE_CLASSES[name])(**kwargs)


def make_loss(plan: Plan, loss: LossSpec, point: Mapping[str, Scalar]) -> keras.losses.Loss:
    """The loss's Keras class with the arguments set (references resolved); the rest keep
    Keras' defaults."""
    kwargs = {arg: _resolve(value, point) for arg, value in loss.arguments().items()}
    if loss.name in plan.spec.custom_objects.losses:
        return _own_loss(custom_object(plan, loss.name, "losses"), kwargs)
    return getattr(keras.losses, kn.LOSS_CLASSES[loss.name])(**kwargs)


def _own_loss(obj: Any, kwargs: dict[str, Any]) -> Any:
    """A loss of your own: a class gets the arguments set; a function is used as it is, with
    them bound."""
    if isinstance(obj, type):
        return obj(**kwargs)
    return functools.update_wrapper(functools.partial(obj, **kwargs), obj) if kwargs else obj


def make_metric(
    metric: MetricSpec,
    point: Mapping[str, Scalar],
    output_units: int,
    sparse_labels: bool,
    multi_hot: bool = False,
    own: Any = None,
) -> Any:
    """The metric's Keras class with the arguments set, named as it is logged. `accuracy` alone
    stays a name Keras resolves by the output and the labels; with an alias it is the class Keras
    would pick. On multi-hot rows it is binary accuracy (Keras would take categorical accuracy,
    arg-max against arg-max, but each label is its own yes/no), still logged as `accuracy`.
    `own`: the imported `custom_objects.metrics` entry, a class or a function."""
    kwargs = {arg: _resolve(value, point) for arg, value in metric.arguments().items()}
    if own is not None:
        if isinstance(own, type):
            return own(name=metric.logged_name(), **kwargs)
        return keras.metrics.MeanMetricWrapper(own, name=metric.logged_name(), **kwargs)
    if metric.name == "accuracy" and metric.alias is None and not multi_hot:
        return metric.name
    cls = kn.METRIC_CLASSES.get(metric.name) or (
        "BinaryAccuracy"
        if output_units == 1 or multi_hot
        else "SparseCategoricalAccuracy"
        if sparse_labels
        else "CategoricalAccuracy"
    )
    return getattr(keras.metrics, cls)(name=metric.logged_name(), **kwargs)


def _own_metric(plan: Plan, metric: MetricSpec) -> Any:
    own = plan.spec.custom_objects.metrics
    return custom_object(plan, metric.name, "metrics") if metric.name in own else None


def _metrics(plan: Plan, metrics: list[MetricSpec], point: Mapping[str, Scalar], output: Any) -> list[Any]:
    """One output's metrics, made for its width and labels."""
    data = plan.spec.data
    sparse = data.labels == "sparse"
    multi_hot = data.task == "classification" and data.labels == "multi_hot"
    units = output.shape[-1]
    return [make_metric(m, point, units, sparse, multi_hot, _own_metric(plan, m)) for m in metrics]


def build_model(plan: Plan, point: Mapping[str, Scalar]) -> keras.Model:
    """The compiled model of one point of the space."""
    inputs, outputs = build_graph(plan, point)
    model = keras.Model(
        inputs=inputs[0] if len(inputs) == 1 else inputs,
        outputs=outputs[0] if len(outputs) == 1 else outputs,
        name=plan.spec.experiment.name.replace(".", "_").replace("-", "_"),
    )
    spec = plan.spec.model
    if len(spec.outputs) > 1:  # by output name: each output's own loss, weight and metrics
        names = model.output_names
        model.compile(
            optimizer=make_optimizer(plan, point),
            loss={
                n: make_loss(plan, o.loss or spec.compile.loss, point)
                for n, o in zip(names, spec.outputs, strict=True)
            },
            loss_weights={n: o.loss_weight for n, o in zip(names, spec.outputs, strict=True)},
            metrics={
                n: _metrics(plan, o.metrics if o.metrics is not None else spec.compile.metrics, point, t)
                for n, o, t in zip(names, spec.outputs, model.outputs, strict=True)
            },
        )
        return model
    only = spec.outputs[0] if spec.outputs else None
    model.compile(
        optimizer=make_optimizer(plan, point),
        loss=make_loss(plan, (only.loss if only else None) or spec.compile.loss, point),
        metrics=_metrics(
            plan,
            only.metrics if only and only.metrics is not None else spec.compile.metrics,
            point,
            model.outputs[0],
        ),
    )
    return model


def adapt_layers(model: keras.Model, x_train: Any) -> None:
    """Adapt every Normalization and TextVectorization layer of a built model to the trial's
    training x (never the validation data), each on the values that reach it: x through the
    layers before it, or, for one that reads a model input, that input's rows. A Normalization
    given its mean and variance (or `adapt: false`, mean 0 and variance 1) is left as it is."""
    for layer in model.layers:
        text = isinstance(layer, keras.layers.TextVectorization)
        if text or (isinstance(layer, keras.layers.Normalization) and layer.input_mean is None):
            _adapt(model, layer, x_train)


def _adapt(model: keras.Model, layer: Any, x_train: Any) -> None:
    """`layer.adapt` on what reaches it: a model input's rows, or x through the layers before."""
    fed = [t for t in model.inputs if t is layer.input]
    if fed and isinstance(x_train, Mapping):
        layer.adapt(x_train[fed[0].name])
    else:
        layer.adapt(keras.Model(model.inputs, layer.input).predict(x_train, verbose=0))


def adapt_vocabularies(model: keras.Model, x_train: Any) -> None:
    """A model rebuilt from a checkpoint (the best trial's) has its weights, Normalization's
    statistics among them, but not TextVectorization's vocabulary, which is no weight: learn it
    again from the same training split, which gives the same vocabulary."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.TextVectorization):
            _adapt(model, layer, x_train)


def feedable(x: Any) -> Any:
    """Arrays as `fit` takes them: numpy strings (a csv's text column) become string tensors,
    which Keras' array adapter does not make itself."""
    import tensorflow as tf

    if isinstance(x, Mapping):
        return {k: feedable(v) for k, v in x.items()}
    if isinstance(x, np.ndarray) and x.dtype.kind in "US":
        return tf.constant(x)
    return x


def build_hypermodel(plan: Plan, hp: kt.HyperParameters) -> keras.Model:
    """A Keras Tuner HyperModel's own `build` on the trial's hyperparameters: they are declared up
    front from ktrun's table of its space, so it reads them and registers nothing new. It
    compiles the model itself."""
    spec = plan.spec.model.hypermodel
    assert spec is not None
    classes = spec.classes or plan.checked.num_classes
    hypermodel = getattr(kt.applications, spec.kind.keras_tuner_class)
    model: keras.Model = hypermodel(input_shape=tuple(plan.checked.input_shape), classes=classes).build(hp)
    return model


def fit_setting(plan: Plan, name: str, point: Mapping[str, Scalar]) -> Any:
    """A `fit` setting (epochs, batch_size, shuffle, class_weight) for this point, literal or tuned."""
    return _resolve(getattr(plan.spec.fit, name), point)
