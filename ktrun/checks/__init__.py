"""Stage 3: `LoadedSpec` → `CheckReport` (and a `CheckedSpec` when nothing is wrong).

No TensorFlow, Keras or keras_tuner here: every check is plain Python over the spec, so a broken
search space is reported in well under a second, all problems at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ktrun import problems as pb
from ktrun.analysis.feasibility import Checker, Feasibility
from ktrun.analysis.space import Space
from ktrun.checks import (
    arguments,
    backbones,
    constraints,
    custom_objects,
    data_model,
    graph,
    hypermodels,
    hyperparameters,
    normalization,
    objective,
    references,
    runtime,
    shapes,
    size,
    tracking,
    tuner,
    warm_start,
)
from ktrun.checks.context import Ctx
from ktrun.config.load import LoadedSpec
from ktrun.config.provenance import SourceMap, format_path
from ktrun.problems import Problem, Severity
from ktrun.spec.experiment import STATIC_OBJECTIVES, ExperimentSpec


@dataclass(frozen=True)
class CheckedSpec:
    """A spec that passed every check: the only input the compiler accepts."""

    spec: ExperimentSpec
    space: Space
    checker: Checker
    feasibility: Feasibility
    input_shape: tuple[int, ...]
    num_classes: int | None
    direction: str
    #: Where each value was set, for problems found later (the data, at run time).
    sources: SourceMap = field(default_factory=SourceMap.empty)
    #: Every model input's shape by name (the one input's, `input`, without `model.inputs`).
    input_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: `objective: [...]`: each objective's direction, in order (empty for a single objective).
    directions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.input_shapes:
            object.__setattr__(self, "input_shapes", {self.spec.model.input_names[0]: self.input_shape})

    def locate(self, problems: Sequence[Problem]) -> list[Problem]:
        return [p.located(p.location or self.sources.lookup(p.path)) for p in problems]


@dataclass
class CheckReport:
    label: str
    problems: list[Problem]
    ctx: Ctx | None = None
    checked: CheckedSpec | None = None
    seconds: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == Severity.WARNING]

    def failed(self, strict: bool = False) -> bool:
        return bool(self.errors or (strict and self.warnings))


Check = Callable[[Ctx], Iterable[Problem]]

#: Order matters only for reading: every check runs, whatever the others found.
CHECKS: tuple[Check, ...] = (
    hyperparameters.check_declarations,
    arguments.check_arguments,
    references.check_references,
    constraints.check_constraints,
    graph.check_graph,
    data_model.check_data_model,
    objective.check_objective,
    tuner.check_tuner,
    warm_start.check_warm_start,
    runtime.check_runtime,
    custom_objects.check_custom,
    backbones.check_backbones,
    normalization.check_normalization,
    hypermodels.check_hypermodel,
    size.check_size,
    tracking.check_tracking,
)


def _guarded(check: Check, ctx: Ctx) -> Iterator[Problem]:
    """A check that crashes is a ktrun bug; report it as one instead of hiding the others."""
    try:
        yield from check(ctx)
    except Exception as e:  # pragma: no cover - a bug in a check, surfaced, not swallowed
        yield pb.error(
            "internal-check-error",
            (),
            f"check {check.__name__} crashed: {type(e).__name__}: {e}",
            "this is a ktrun bug; please report it with this config",
        )


def run_checks(
    loaded: LoadedSpec, strict: bool = False, data_roots: tuple[Path, ...] | None = None
) -> CheckReport:
    """Every check, all problems at once. `data_roots`: where data files may be read (a check of
    an untrusted config reads only the project's own files); None for a run."""
    ctx = Ctx(loaded.spec, loaded.dropped_hyperparameters, data_roots)
    found: list[Problem] = [*loaded.schema_problems, *_composition(loaded)]
    for check in CHECKS:
        found.extend(_guarded(check, ctx))
    found.extend(_guarded(lambda c: shapes.check_shapes(c, strict), ctx))
    found = [p for p in found if not _echo(p, loaded)]
    # A name that resolves nowhere is reported once, by the graph check, not again per point.
    unknown = {p.path[:-1] for p in found if p.code == "layer-input-unknown"}
    found = [p for p in found if not (p.code == "layer-input-missing" and p.path in unknown)]
    sources = loaded.composed.sources
    located = [p.located(p.location or sources.lookup(p.path)) for p in _dedupe(found)]
    located.sort(key=lambda p: (0 if p.severity == Severity.ERROR else 1, str(p.location), p.code))
    report = CheckReport(loaded.composed.label, located, ctx)
    if not report.errors and not loaded.schema_problems and ctx.input_shapes is not None:
        obj = loaded.spec.objective
        direction = obj.direction or ctx.logged.get(obj.name) or "max"
        report.checked = CheckedSpec(
            loaded.spec,
            ctx.space,
            ctx.checker,
            ctx.feasibility,
            next(iter(ctx.input_shapes.values())),
            ctx.data.num_classes,
            direction,
            sources,
            dict(ctx.input_shapes),
            tuple(
                o.direction or STATIC_OBJECTIVES.get(o.name) or ctx.logged.get(o.name) or "max"
                for o in loaded.spec.objectives
            ),
        )
    return report


def _echo(p: Problem, loaded: LoadedSpec) -> bool:
    """A problem caused by repair itself: a dropped hyperparameter's references, or a check
    on a key that was set aside (its default stands in and is not what the user wrote)."""
    if p in loaded.schema_problems:
        return False
    if p.code == "unknown-reference" and any(
        f"`${n}`" in p.message or f"`{n}`" in p.message for n in loaded.dropped_hyperparameters
    ):
        return True
    return any(p.path[: len(d)] == d or format_path(d) in p.message for d in loaded.dropped)


def _dedupe(found: list[Problem]) -> list[Problem]:
    return list({(p.code, p.path, p.message): p for p in found}.values())


def _composition(loaded: LoadedSpec) -> Iterator[Problem]:
    """An experiment whose layers replaced a `model/` group's, while that group's
    hyperparameters were merged in: Hydra merges mappings, so nobody asked for this space."""
    files = loaded.composed.files
    layer_files = [f for f in files if ("model", "layers") in f.lines.lines]
    group = next((f for f in layer_files if f.group == "model"), None)
    later = [f for f in layer_files if group is not None and files.index(f) > files.index(group)]
    if group is None or not later:
        return
    inherited = sorted(str(p[1]) for p in group.lines.lines if len(p) == 2 and p[0] == "hyperparameters")
    owner = later[-1]
    yield pb.error(
        "model-group-merged",
        ("model", "layers"),
        f"{owner.config_path} declares its own layers, but the default model group "
        f"`{group.config_path}` is still selected, so its hyperparameters "
        f"({', '.join(inherited) or 'none'}) and compile settings were merged into this space",
        f"add `- override /model: none` to the defaults of {owner.path.name} (or select the "
        "model group you mean to extend and drop the layers)",
    ).located(owner.lines.lines[("model", "layers")])
