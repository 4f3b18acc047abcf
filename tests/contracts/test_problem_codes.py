"""Problem codes are one table (`ktrun/problem_codes.py`), documented, and all of them in use.

The fourth half of the contract, that the suite makes ktrun emit every code, is checked when a
whole run of the suite ends (`tests/conftest.py`), from the codes every process recorded.
"""

from __future__ import annotations

import ast
from pathlib import Path

from ktrun.problem_codes import CODES, markdown
from tests.conftest import REPO

EMITTERS = {"error", "warning", "info", "Problem"}


def _literal_codes() -> dict[str, str]:
    """Codes passed as a literal to `pb.error/warning/info` or `Problem`: code → where."""
    found: dict[str, str] = {}
    for path in sorted((REPO / "ktrun").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            arg = node.args[0]
            options = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
            for a in options:
                if name in EMITTERS and isinstance(a, ast.Constant) and isinstance(a.value, str):
                    found.setdefault(a.value, f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_every_code_the_source_emits_is_in_the_table() -> None:
    unlisted = {c: where for c, where in _literal_codes().items() if c not in CODES}
    assert unlisted == {}, "add these to ktrun/problem_codes.py with a one-line meaning"


def test_every_code_in_the_table_is_in_the_source() -> None:
    source = "\n".join(
        p.read_text(encoding="utf-8") for p in (REPO / "ktrun").rglob("*.py") if p.name != "problem_codes.py"
    )
    stale = sorted(c for c in CODES if f'"{c}"' not in source)
    assert stale == [], "no module emits these any more: remove them from the table"


def test_the_documentation_is_generated_from_the_table() -> None:
    doc = Path(REPO / "docs" / "problem-codes.md").read_text(encoding="utf-8")
    assert doc == markdown(), "run `python -m ktrun.problem_codes > docs/problem-codes.md`"


def test_meanings_are_one_line() -> None:
    assert all(m and "\n" not in m and len(m) < 120 for m in CODES.values())
