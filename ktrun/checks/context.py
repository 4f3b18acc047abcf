"""What every check reads: the spec, its expanded space, the data's shape, parsed constraints."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ktrun.analysis.expressions import EvalError, parse_cached
from ktrun.analysis.feasibility import Checker, Feasibility, ParsedConstraints, parse_constraints
from ktrun.analysis.size import SizeRange, size_range
from ktrun.analysis.space import Param, Space, build_space
from ktrun.data.describe import DataInfo, describe
from ktrun.data.named import arrays_of
from ktrun.data.target import Expect
from ktrun.spec import keras_names as kn
from ktrun.spec.experiment import DEFAULT_INPUT, ExperimentSpec, MetricSpec
from ktrun.spec.refs import HpExpr, HpRef, Scalar

#: Combinations an expression argument is evaluated on by check (beyond: not checked statically).
MAX_OUTCOMES = 4096


@dataclass
class Ctx:
    spec: ExperimentSpec
    #: Hyperparameters dropped by repair-and-continue validation (already reported).
    dropped_hyperparameters: frozenset[str] = frozenset()
    #: Where `ktrun check` may read data files (None: anywhere, as a run does).
    data_roots: tuple[Path, ...] | None = None

    @cached_property
    def space(self) -> Space:
        return build_space(self.spec)

    @cached_property
    def data(self) -> DataInfo:
        return describe(
            self.spec.data, self.spec.experiment.seed, self.data_roots, arrays_of(self.spec.model)
        )

    @cached_property
    def input_shape(self) -> tuple[int, ...] | None:
        """The first input's per-sample shape (the one input of a model without `model.inputs`)."""
        shapes = self.input_shapes
        return next(iter(shapes.values())) if shapes else None

    @cached_property
    def input_shapes(self) -> dict[str, tuple[int, ...]] | None:
        """Every model input's per-sample shape, declared or read from the data (None: one unknown)."""
        model = self.spec.model
        if not model.inputs:
            declared = model.input_shape
            shape = tuple(declared) if declared else self.data.input_shape
            return {DEFAULT_INPUT: shape} if shape else None
        shapes = {}
        for name, given in model.inputs.items():
            found = tuple(given.shape) if given.shape else self.data.arrays.get(given.array or name)
            if found is None:
                return None
            shapes[name] = found
        return shapes

    @cached_property
    def expect(self) -> Expect:
        """What the output is trained against (one output today)."""
        return Expect.of(self.spec.data, self.data.num_classes)

    @cached_property
    def target_shape(self) -> tuple[int, ...] | None:
        """Per-sample shape of the target (`ktrun.data.target`); the input's for autoencoders."""
        return self.data.target_shape if self.expect.reads_y else self.input_shape

    @cached_property
    def constraints(self) -> ParsedConstraints:
        return parse_constraints(self.spec.constraints, self.space, self.spec.hyperparameters)

    @cached_property
    def checker(self) -> Checker:
        return Checker(self.spec, self.space, self.constraints.instances, self.input_shapes)

    @cached_property
    def size(self) -> SizeRange | None:
        """The smallest and largest model over sampled feasible points (weights counted statically)."""
        return size_range(self.checker)

    @cached_property
    def feasibility(self) -> Feasibility:
        return self.checker.analyze(self.spec.experiment.seed)

    @property
    def has_validation(self) -> bool:
        return self.spec.data.validation_split > 0

    @cached_property
    def logged(self) -> dict[str, kn.Direction | None]:
        """Every key a fit writes to its logs, with its direction (None: a metric of your own).
        With several outputs, Keras prefixes each output's loss and metrics with its name
        (`price_loss`, `val_department_accuracy`) besides the total `loss`."""
        model = self.spec.model
        custom = self.spec.custom_objects.metrics

        def named(metrics: list[MetricSpec]) -> list[tuple[str, kn.Direction | None]]:
            return [
                (m.logged_name(), m.direction()) for m in metrics if m.name in kn.METRICS or m.name in custom
            ]

        if len(model.outputs) <= 1:
            only = model.outputs[0].metrics if model.outputs else None
            return kn.logged_metrics(
                named(only if only is not None else model.compile.metrics), self.has_validation
            )
        out: dict[str, kn.Direction | None] = {"loss": "min"}
        for o in model.outputs:
            own = kn.logged_metrics(
                named(o.metrics if o.metrics is not None else model.compile.metrics), False
            )
            out.update({f"{o.layer}_{k}": d for k, d in own.items()})
        if self.has_validation:
            out.update({f"val_{k}": v for k, v in list(out.items())})
        return out

    def params_for(self, ref: HpRef) -> list[Param]:
        """The instances a reference can resolve to (one, or one per repetition)."""
        if ref.name in self.space.params:
            return [self.space.params[ref.name]]
        return self.space.instances_of(ref.name)

    def possible(self, value: object) -> list[Scalar] | None:
        """Every value an argument can take (None: continuous or unknown reference)."""
        if isinstance(value, HpRef):
            decl = self.space.declared.get(value.name, self.spec.hyperparameters.get(value.name))
            if decl is None:
                return None
            from ktrun.analysis.values import values

            vals = values(decl)
            return list(vals) if vals is not None else None
        if isinstance(value, HpExpr):
            found = self.outcomes(value)
            if found is None:
                return None
            return list(dict.fromkeys(v for _, v in found if isinstance(v, int | float | str | bool)))
        if isinstance(value, list):
            return None
        return [value]  # type: ignore[list-item]

    def outcomes(self, value: HpExpr) -> list[tuple[dict[str, Scalar], object]] | None:
        """An expression's value for every combination of what it reads (None: it does not
        parse, reads a continuous or unknown name, or has more than `MAX_OUTCOMES` combinations).
        A combination it cannot evaluate gives its `EvalError`."""
        expr = parse_cached(value.text)
        if expr is None:
            return None
        names = sorted(expr.names)
        domains = [self.possible(HpRef(n)) for n in names]
        if any(d is None for d in domains) or math.prod(len(d or ()) for d in domains) > MAX_OUTCOMES:
            return None
        out: list[tuple[dict[str, Scalar], object]] = []
        for combo in itertools.product(*(d or () for d in domains)):
            env = dict(zip(names, combo, strict=True))
            try:
                out.append((env, expr.value(env)))
            except EvalError as e:
                out.append((env, e))
        return out
