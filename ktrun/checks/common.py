"""Names and helpers more than one check group uses."""

from __future__ import annotations

from ktrun.spec.refs import Scalar


def preview(vals: tuple[Scalar, ...] | list[Scalar], n: int = 8) -> str:
    shown = ", ".join(repr(v) for v in list(vals)[:n])
    return f"[{shown}{', ...' if len(vals) > n else ''}]"


#: The section hyperparameters are declared in (the first key of their problems' paths).
HP = "hyperparameters"
