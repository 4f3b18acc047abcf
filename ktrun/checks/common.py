"""Names and helpers more than one check group uses."""

from __future__ import annotations

import difflib

from ktrun import problems as pb
from ktrun.config.provenance import KeyPath
from ktrun.problems import Problem
from ktrun.spec.refs import Scalar


def preview(vals: tuple[Scalar, ...] | list[Scalar], n: int = 8) -> str:
    shown = ", ".join(repr(v) for v in list(vals)[:n])
    return f"[{shown}{', ...' if len(vals) > n else ''}]"


#: The section hyperparameters are declared in (the first key of their problems' paths).
HP = "hyperparameters"


def unknown_name(
    code: str, at: KeyPath, what: str, name: str, known: list[str], plural: str, custom: str = ""
) -> Problem:
    """`loss `binary_crosentropy` is not one ktrun knows` with a did-you-mean and the known names;
    `custom`: the `custom_objects` section where one of your own would be declared."""
    close = difflib.get_close_matches(name, known, n=1)
    return pb.error(
        code,
        at,
        f"{what} `{name}` is not one ktrun knows",
        (f"did you mean `{close[0]}`? " if close else "")
        + f"known {plural}: {', '.join(known)}"
        + (f"; or declare your own under custom_objects.{custom}" if custom else ""),
    )
