"""A search's fingerprint (its state directory's name) is what the user set apart from defaults:
a key a later ktrun adds, left at its default, resumes every earlier search where it was."""

from __future__ import annotations

from ktrun.compiler.plan import compile_plan
from ktrun.pipeline import check_one


def fingerprint(*overrides: str) -> str:
    report = check_one(["+experiment=mnist_cnn", *overrides])
    assert report.checked is not None, [p.message for p in report.problems]
    return compile_plan(report.checked).fingerprint


def test_a_key_at_its_default_is_not_part_of_the_fingerprint() -> None:
    base = fingerprint()
    assert fingerprint("fit.cross_validation.folds=null") == base  # written out, at its default
    assert fingerprint("experiment.description=another") == base  # not part of the search at all
    assert fingerprint("fit.epochs=7") != base
    report = check_one(["+experiment=mnist_cnn"])
    assert report.checked is not None
    dumped = report.checked.spec.model_dump(mode="json", exclude_defaults=True)
    assert "cross_validation" not in dumped.get("fit", {})  # what a newer key at its default adds: nothing
