"""What one model output is trained against, and the output shape that takes it.

Labels and targets come in kinds: one class per sample (sparse ids or one-hot rows), several
labels per sample (multi-hot rows), one class per time step (sequence labelling), real targets of
any shape (regression), and the input itself (autoencoders). The config says which (`Expect`);
the data says the per-sample shape. Both the data's validation (`ktrun.data.validate.check_y`,
once per array) and the static output checks read this one record, so they cannot disagree.
No numpy here: `ktrun check` reads it for built-in data sets without loading any.
"""

from __future__ import annotations

from dataclasses import dataclass

from ktrun.config.provenance import KeyPath
from ktrun.layers.shape_math import format_shape
from ktrun.spec.experiment import DataSpec

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Expect:
    """What the config says one output's target is (one per output; today one per experiment)."""

    task: str  # classification | regression | reconstruction
    labels: str  # sparse | one_hot | multi_hot (classification only)
    per_step: bool  # one label per time step
    num_classes: int | None  # the class count the run is given (None: from the labels)
    #: Where a problem with the class count points: the key that set it (None: the array).
    given: KeyPath | None = None

    @classmethod
    def of(cls, data: DataSpec, num_classes: int | None = None) -> Expect:
        """`num_classes`: what the model is built for, when known; else `data.num_classes`."""
        classes = num_classes if num_classes is not None else data.num_classes
        given: KeyPath | None = ("data", "num_classes") if data.num_classes is not None else None
        return cls(data.task, data.labels, data.per_step, classes, given)

    @property
    def classifies(self) -> bool:
        return self.task == "classification"

    @property
    def reads_y(self) -> bool:
        """Autoencoders train against the input: no y array is read or needed."""
        return self.task != "reconstruction"

    def label_rank(self) -> int:
        """Axes of one sample's labels as class ids: 0 per sample, 1 per time step."""
        return 1 if self.per_step else 0

    def target_of(self, stored: Shape) -> Shape:
        """The per-sample shape of the target as validated, from y's stored per-sample shape:
        one-hot rows are read back as class ids, so they lose their last axis."""
        one_hot = len(stored) == self.label_rank() + 1 and stored[-1] > 1
        if self.classifies and self.labels != "multi_hot" and one_hot:
            return stored[:-1]
        return stored


def output_shape(
    expect: Expect, target: Shape | None, classes: int | None, binary: bool = False
) -> tuple[int | None, ...] | None:
    """The per-sample output shape that fits the target (None axes: any size; None: unknown).

    `target` is the per-sample shape of the target as it is validated: class ids `()` or `(T,)`,
    multi-hot rows `(k,)`, regression targets as stored, the input for reconstruction. `binary`:
    the loss is a binary one, which takes one sigmoid unit per label.
    """
    if not expect.classifies:
        if target is None:
            return None
        return (1,) if target == () else target  # Dense(1) for one value: Keras matches (n,) to (n, 1)
    width = 1 if binary and expect.labels != "multi_hot" else classes
    if expect.labels == "multi_hot":
        width = target[-1] if target else classes
    if expect.per_step:
        steps = target[0] if target else None
        return (steps, width)
    return (width,)


def describe(expect: Expect, target: Shape | None, classes: int | None, binary: bool = False) -> str:
    """One line for `ktrun check`: what the labels are and the output they need."""
    out = output_shape(expect, target, classes, binary)
    needs = f" → output {format_shape(out)}" if out is not None else ""
    if expect.task == "reconstruction":
        return f"target: the input{needs}"
    if expect.task == "regression":
        if target is None:
            return f"targets: real values{needs}"
        each = "one value" if target == () else f"{format_shape(target)} values"
        return f"targets: {each} per sample{needs}"
    n = "?" if classes is None else str(classes)
    if expect.labels == "multi_hot":
        what = f"multi-hot rows of {n} labels"
    else:
        what = f"{'one-hot rows' if expect.labels == 'one_hot' else 'class ids'}, {n} classes"
    if expect.per_step:
        steps = "?" if not target else str(target[0])
        what = f"one label per time step ({steps} steps): {what}"
    return f"labels: {what}{needs}"
