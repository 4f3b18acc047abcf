"""Tight constraint sets: tiny feasible fractions are estimated, not mistaken for empty spaces.

Random sampling alone reported "no point satisfies all constraints" for the 10^12-point benchmark
space, whose constraints keep about 1 point in 20,000; the search-tree estimator and solver must
find its feasible points, prove small contradictory spaces empty, and stay undecided (a warning,
never a false error) when neither is possible within budget.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from ktrun.checks import CheckReport
from ktrun.pipeline import check_one
from tests.bench import scale


def check_text(conf: Path, name: str, body: str) -> CheckReport:
    (conf / "experiment" / f"{name}.yaml").write_text(
        f"# @package _global_\ndefaults:\n  - override /data: digits\nexperiment: {{name: {name}}}\n{body}"
    )
    return check_one([f"+experiment={name}"], extra=[conf])


def codes(report: CheckReport) -> dict[str, str]:
    return {p.code: p.severity.value for p in report.problems}


def test_the_1e12_space_with_20_constraints_is_feasible(tmp_conf: Path) -> None:
    scale.write(tmp_conf)
    report = check_one([f"+experiment={scale.NAME}"], extra=[tmp_conf])
    assert report.checked is not None and not report.problems, [p.message for p in report.problems]
    feas = report.checked.feasibility
    assert feas.total_points == scale.POINTS
    assert len(report.checked.spec.constraints) == 20
    assert feas.satisfiable is True
    assert 1e-6 < feas.fraction < 1e-3
    checker = report.checked.checker
    point, _ = checker.solve(checker.tree(), random.Random(3))
    assert point is not None and checker.violations(point) == []


def test_tree_estimate_matches_the_exact_count(tmp_conf: Path) -> None:
    """Six non-increasing widths of ten values: C(15, 6) = 5005 of 10^6 points, 0.5005%."""
    hps = "".join(f"  w{i}: {{type: int, min: 1, max: 10}}\n" for i in range(1, 7))
    cons = "".join(f"  - w{i + 1} <= w{i}\n" for i in range(1, 6))
    report = check_text(tmp_conf, "chain", f"hyperparameters:\n{hps}constraints:\n{cons}")
    assert report.checked is not None
    checker = report.checked.checker
    tree = checker.tree()
    rng = random.Random(0)
    weights = [checker.probe(tree, rng)[0] for _ in range(2000)]
    estimate = sum(weights) / len(weights)
    assert math.isclose(estimate, 5005 / 10**6, rel_tol=0.15)


def test_a_contradiction_too_big_to_enumerate_is_proven(tmp_conf: Path) -> None:
    body = (
        "hyperparameters:\n"
        + "".join(f"  {n}: {{type: int, min: 1, max: 30}}\n" for n in "abc")
        + "constraints: ['a < b', 'b < c', 'c < a']\n"
    )
    report = check_text(tmp_conf, "cycle", body)
    assert codes(report).get("constraints-unsatisfiable") == "error"
    problem = next(p for p in report.problems if p.code == "constraints-unsatisfiable")
    assert "exhaustive search" in problem.message


@pytest.mark.parametrize(
    ("body", "name"),
    [
        (  # four wide ranges contradicting only at the last level: too big to prove empty
            "hyperparameters:\n"
            + "".join(f"  {n}: {{type: int, min: 1, max: 60}}\n" for n in "abcd")
            + "constraints: ['a < b', 'b < c', 'c < d', 'd < a']\n",
            "deep",
        ),
        (  # x == y over a million values each: feasible, but no random subset pairs them up
            "hyperparameters:\n  x: {type: int, min: 0, max: 1000000}\n"
            "  y: {type: int, min: 0, max: 1000000}\nconstraints: ['x == y']\n",
            "needle",
        ),
    ],
)
def test_undecided_spaces_warn_and_never_claim_emptiness(tmp_conf: Path, body: str, name: str) -> None:
    report = check_text(tmp_conf, name, body)
    found = codes(report)
    assert "constraints-unsatisfiable" not in found and "constraint-unsatisfiable" not in found
    assert found.get("constraints-undecided") == "warning"
