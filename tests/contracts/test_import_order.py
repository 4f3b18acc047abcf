"""Data flows one way: a stage imports only the stages before it (lazy and type-only imports too).

compose → spec → checks → plan → build → search → results. Each module of `ktrun` belongs to one
rank below; a module may import its own rank and lower ranks, never a higher one. A new module
must be given a rank here, which is the moment to ask where it belongs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

#: Lowest first. A prefix names a package (every module in it) or one module.
RANKS: list[tuple[str, ...]] = [
    ("ktrun.config.provenance", "ktrun.problems", "ktrun.problem_codes", "ktrun.render.fmt"),  # problems
    ("ktrun.spec", "ktrun.layers", "ktrun.algorithms"),  # the schema and the vocabulary it validates against
    ("ktrun.config",),  # compose, Hydra errors, trust, spec loading, schema export
    ("ktrun.analysis",),  # the search space, expressions, shapes, feasibility
    ("ktrun.data",),  # data described for the checks, loaded for a run
    ("ktrun.checks",),  # every static check → CheckedSpec
    ("ktrun.render",),  # what check and plan print
    ("ktrun.compiler",),  # plan, then the Keras builder
    ("ktrun.runtime",),  # the search
    ("ktrun.results",),  # the search's files, report, plots, table; sweeps
    ("ktrun.pipeline",),  # the stages in order
    ("ktrun.cli", "ktrun.__init__", "ktrun.__main__"),  # arguments
]


def _module(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 2:
        parts.pop()
    return ".".join(parts)


def rank(module: str) -> int:
    """The rank of the longest prefix that names `module` (a package or the module itself)."""
    best, found = -1, -1
    for i, prefixes in enumerate(RANKS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, found = len(p), i
    return found


def _ktrun_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("ktrun"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "ktrun":  # `from ktrun import problems as pb`
                out.update(f"ktrun.{a.name}" for a in node.names)
            elif node.module.startswith("ktrun."):
                out.add(node.module)
    return out


MODULES = sorted((REPO / "ktrun").rglob("*.py"))


def test_every_module_has_a_rank() -> None:
    unranked = [_module(p) for p in MODULES if rank(_module(p)) < 0]
    assert unranked == [], "give these modules a rank in RANKS (where do they belong?)"


@pytest.mark.parametrize("path", MODULES, ids=_module)
def test_no_module_imports_a_later_stage(path: Path) -> None:
    me = _module(path)
    later = sorted(m for m in _ktrun_imports(path) if rank(m) > rank(me))
    assert later == [], f"{me} (rank {rank(me)}) imports a later stage: {later}"


def test_the_contract_can_fail() -> None:
    """The rank function orders what the stages say it should."""
    assert rank("ktrun.config.provenance") < rank("ktrun.spec.experiment") < rank("ktrun.config.compose")
    assert rank("ktrun.checks.context") < rank("ktrun.compiler.plan") < rank("ktrun.runtime.search")
    assert rank("ktrun.runtime.outcome") < rank("ktrun.results.files") < rank("ktrun.cli")
