"""Numbers as people read them, shared by the check report, `plan` and the run report."""

from __future__ import annotations

import math


def percent(frac: float) -> str:
    """Tiny feasible fractions keep their digits; "almost all" is not printed as 100%."""
    if 0 < frac < 0.001:
        return f"{frac * 100:.2g}%"
    if 0.999 < frac < 1:
        return ">99.9%"
    return f"{frac:.1%}"


def points(n: float) -> str:
    if not math.isfinite(n):
        return "a continuous space"
    return f"{n:,.0f} points" if n < 1e6 else f"{n:.2e} points"
