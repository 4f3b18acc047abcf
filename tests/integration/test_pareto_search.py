"""A search for accuracy against size: `objective: [val_accuracy, params]` end to end."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.integration.test_search import search

pytestmark = [pytest.mark.slow, pytest.mark.keras]


def test_digits_mlp_for_accuracy_and_size_gives_its_pareto_front(tmp_path: Path) -> None:
    """Each trial's weights are counted from its point (2 hidden Dense layers on 64 features, 10
    classes), the front is non-dominated, and `knee` picks one of it as `best`."""
    rc, summary, run_dir = search(
        tmp_path,
        "+experiment=digits_mlp",
        "tuner.max_trials=4",
        "objective=[{name: val_accuracy}, {name: params, direction: min}]",
        "+objective_best=knee",
    )
    assert rc == 0, summary
    pareto = summary["pareto"]
    assert pareto["objectives"] == [
        {"name": "val_accuracy", "direction": "max"},
        {"name": "params", "direction": "min"},
    ]
    text = (run_dir / "trials.csv").read_text(encoding="utf-8")
    rows = {r["trial_id"]: r for r in csv.DictReader(io.StringIO(text))}
    for trial in pareto["trials"]:
        u1, u2 = int(rows[trial["trial_id"]]["units_1"]), int(rows[trial["trial_id"]]["units_2"])
        assert trial["values"]["params"] == 65 * u1 + (u1 + 1) * u2 + (u2 + 1) * 10
        assert int(rows[trial["trial_id"]]["params"]) == trial["values"]["params"]
        assert trial["values"]["val_accuracy"] == pytest.approx(float(rows[trial["trial_id"]]["score"]))
    values = {t["trial_id"]: (t["values"]["val_accuracy"], t["values"]["params"]) for t in pareto["trials"]}
    front = {t["trial_id"] for t in pareto["front"]}
    assert front and front <= set(values)
    for tid, (acc, size) in values.items():
        beaten = any(a >= acc and s <= size and (a, s) != (acc, size) for a, s in values.values())
        assert (tid in front) == (not beaten), (tid, values)
    assert pareto["best_rule"] == "knee" and pareto["best"] in front
    assert summary["best"]["trial_id"] == pareto["best"]
    assert (run_dir / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    assert "## Pareto front" in (run_dir / "report.md").read_text(encoding="utf-8")
