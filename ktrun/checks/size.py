"""The model's size: weights counted from shapes alone, over sampled points of the search."""

from __future__ import annotations

from collections.abc import Iterator

from ktrun import problems as pb
from ktrun.analysis.size import LARGE, weights
from ktrun.checks.context import Ctx
from ktrun.config.provenance import format_path
from ktrun.problems import Problem


def check_size(ctx: Ctx) -> Iterator[Problem]:
    """A search whose largest model holds more than `LARGE` weights: usually a Dense after the
    Flatten of a wide map, found before a trial runs out of memory."""
    found = ctx.size
    if found is None or found.largest.total <= LARGE or found.largest.largest is None:
        return
    path, kind, most = found.largest.largest
    share = most / found.largest.total
    megabytes = found.largest.total * 4 / 1e6
    yield pb.warning(
        "model-params-large",
        path,
        f"the largest model of this search holds {weights(found.largest.total, found.largest.exact)} "
        f"weights ({megabytes:,.0f} MB as float32, about 4 times that to train with Adam); "
        f"{share:.0%} of them in the {kind} at {format_path(path)}",
        "pool or stride more before a Flatten (or use a global pooling layer), or narrow the "
        "ranges of the sizes this layer reads",
    )
