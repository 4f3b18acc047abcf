"""Config: careless configs and overrides, on the run path as much as in `ktrun check`.

A run checks every job before Hydra starts, so what `check` reports, a run reports identically:
the same codes, locations and hints, all sections at once, exit code 2, no Hydra traceback. The
run path is called in-process (`ktrun.cli.main`): a config error returns before anything trains.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ktrun.cli import main
from ktrun.render.check_output import render
from tests.configs.test_bad_configs import EXPERIMENTS, FIXTURES_DIR, NAMES, check, expectations
from tests.hostile.expect import FORBIDDEN

ERROR_FIXTURES = [n for n in NAMES if any(e.severity.value == "error" for e in expectations(n))]
TIMING = re.compile(r" in \d+\.\d+ s$")


def run(capsys: pytest.CaptureFixture[str], *argv: str, cwd: Path | None = None) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    text = out.out + out.err
    for bad in FORBIDDEN:
        assert bad not in text, text
    return code, text


def _untimed(text: str) -> list[str]:
    return [TIMING.sub("", line) for line in text.strip().splitlines()]


@pytest.mark.parametrize("name", ERROR_FIXTURES)
def test_a_run_reports_what_check_reports(capsys: pytest.CaptureFixture[str], name: str) -> None:
    expected = render("text", [check(name)])  # the corpus' own check, shared with its tests
    code, out = run(capsys, "--config-dir", str(FIXTURES_DIR), f"+experiment={name}")
    assert code == 2
    assert _untimed(out) == _untimed(expected)


# (argv, code, where: the override or file it must name, a piece of the hint)
CARELESS: list[tuple[list[str], str, str, str]] = [
    (["fit.epoch=3"], "compose-error", "override `fit.epoch=3`", "did you mean `fit.epochs=3`"),
    (["experiment=mnist_cnn"], "compose-error", "override `experiment=mnist_cnn`", "+experiment=mnist_cnn"),
    (
        ["+experiment=mnsit_cnn"],
        "config-not-found",
        "override `+experiment=mnsit_cnn`",
        "+experiment=mnist_cnn",
    ),
    (
        ["tuner=null"],
        "compose-error",
        "override `tuner=null`",
        "bayesian, cmaes, grid, hyperband, nsga2, random, tpe",
    ),
    (["tuner=annealing"], "config-not-found", "override `tuner=annealing`", "available options"),
    (["=3"], "override-syntax", "override `=3`", "key=value"),
    (["fit.epochs=[3"], "override-syntax", "override `fit.epochs=[3`", "key=value"),
    (["fit=3"], "wrong-type", "override `fit=3`", "expected type"),
    (["fit.epochs=0"], "arg-out-of-range", "override `fit.epochs=0`", ""),
    (["fit.epochs=three"], "wrong-type", "override `fit.epochs=three`", "without quotes"),
    (["+fit.epoch=3"], "unknown-key", "override `+fit.epoch=3`", "epochs"),
    (["tuner.algorithm=annealing"], "invalid-value", "override `tuner.algorithm=annealing`", ""),
    (["objective.name=val_acuracy"], "objective-not-logged", "override `objective.name=val_acuracy`", ""),
    (["fit.epochs=${oops}"], "interpolation-error", "override `fit.epochs=${oops}`", "interpolation"),
    (
        ["+experiment=mnist_cnn", "model.layers.0.kernel_size=40"],
        "kernel-too-large",
        "override `model.layers.0.kernel_size=40`",
        "",
    ),
    (["fit.cross_validation.folds=1"], "value-out-of-range", "override `fit.cross_validation.folds=1`", ""),
    (
        ["fit.cross_validation.folds=1000000000"],
        "cross-validation-folds",
        "override `fit.cross_validation.folds=1000000000`",
        "at most 174",
    ),
    (["fit.cross_validation.folds=-3"], "value-out-of-range", "override `fit.cross_validation.folds=-3`", ""),
    (["-m", "fit.epoch=1,2"], "compose-error", "override `fit.epoch=1`", "did you mean"),
    (
        ["-m", "fit.epochs=1,${oc.env:HOME}"],
        "config-resolver-refused",
        "override `fit.epochs=",
        "section.key",
    ),
    (["-m", "tuner=random,annealing"], "config-not-found", "override `tuner=annealing`", "available"),
    (
        ["-m", "fit.batch_size=16,32", "+experiment=mnsit_cnn"],
        "config-not-found",
        "override `+experiment=mnsit_cnn`",
        "",
    ),
]


@pytest.mark.parametrize(("argv", "code", "where", "hint"), CARELESS, ids=[" ".join(c[0]) for c in CARELESS])
def test_careless_overrides_on_the_run_path(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: str, where: str, hint: str
) -> None:
    status, out = run(capsys, *argv)
    assert status == 2, out
    assert f"[{code}]" in out, out
    assert where in out, out
    assert "    hint: " in out and hint in out, out


@pytest.mark.parametrize(
    ("body", "codes"),
    [
        ("- a\n- b\n", ["wrong-type"]),
        ("42\n", ["wrong-type"]),
        (
            "experiment: 3\ndata: [1, 2]\nhyperparameters: 7\nconstraints: {a: 1}\nmodel: x\n"
            "fit: [1]\nobjective: 5\ntuner: 9\nfailure_policy: [x]\n",
            ["wrong-type"] * 9,
        ),
        ("fit:\n  epochs: 2\n\tbatch: 3\n", ["yaml-syntax"]),
        (
            "fit:\n  epochs: 0\n  batch_size: -1\n  bogus: 1\ntuner:\n  max_trials: 0\n",
            ["arg-out-of-range", "arg-out-of-range", "unknown-key", "value-out-of-range"],
        ),
    ],
    ids=["root-list", "root-scalar", "every-section", "tab", "four-in-one"],
)
def test_whole_file_mistakes_come_all_at_once(
    capsys: pytest.CaptureFixture[str], tmp_conf: Path, body: str, codes: list[str]
) -> None:
    (tmp_conf / "experiment" / "case.yaml").write_text("# @package _global_\n" + body, encoding="utf-8")
    status, out = run(capsys, "--config-dir", str(tmp_conf), "+experiment=case")
    assert status == 2
    found = re.findall(r"experiment/case\.yaml:(\d+): error \[([\w-]+)\]", out)
    assert [c for _, c in found][: len(codes)] == codes, out
    assert len({line for line, _ in found}) == len(found), "each problem on its own line"
    assert out.count("    hint: ") >= len(codes)


def test_every_section_at_once_names_each_line(capsys: pytest.CaptureFixture[str], tmp_conf: Path) -> None:
    body = "fit: {epochs: 0}\ntuner: {max_trials: 0}\nobjective: {name: val_acuracy}\n"
    (tmp_conf / "experiment" / "case.yaml").write_text("# @package _global_\n" + body, encoding="utf-8")
    status, out = run(capsys, "--config-dir", str(tmp_conf), "+experiment=case")
    assert status == 2
    lines = {int(n) for n in re.findall(r"experiment/case\.yaml:(\d+): error", out)}
    assert lines == {2, 3, 4}, out


def test_fixture_paths_exist() -> None:
    assert ERROR_FIXTURES and all((EXPERIMENTS / f"{n}.yaml").is_file() for n in ERROR_FIXTURES)


# (weights, code, key): what a Backbone's `weights` may be made to say, on 32x32 grey images
# mapped to RGB first, or left grey where the case is about channels
HOSTILE_WEIGHTS: list[tuple[str, bool, str, str]] = [
    ('"../../etc/passwd"', True, "backbone-weights-file", "model.layers.2.weights"),
    ('"../../etc/x.weights.h5"', True, "weights-file-not-read", "model.layers.2.weights"),
    ('"https://evil.example/x.h5"', True, "backbone-weights-download", "model.layers.2.weights"),
    ("ImageNet", True, "backbone-weights-file", "model.layers.2.weights"),
    ("imagenet", False, "backbone-channels", "model.layers.1.weights"),
    ("a" * 100_000, True, "backbone-weights-file", "model.layers.2.weights"),
]


@pytest.mark.parametrize(
    ("weights", "rgb", "code", "key"),
    HOSTILE_WEIGHTS,
    ids=["dotdot", "outside", "url", "case", "grey", "huge"],
)
def test_hostile_backbone_weights_are_named_and_clipped(
    tmp_conf: Path, weights: str, rgb: bool, code: str, key: str
) -> None:
    from ktrun.pipeline import check_one
    from tests.hostile.expect import problem

    to_rgb = "    - {type: Conv2D, filters: 3, kernel_size: 1}\n" if rgb else ""
    (tmp_conf / "experiment" / "case.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /data: digits\n  - override /model: none\n"
        "model:\n  layers:\n    - {type: Resizing, height: 32, width: 32}\n"
        f"{to_rgb}    - {{type: Backbone, application: MobileNetV2, weights: {weights}, pooling: avg}}\n"
        "    - {type: Dense, units: 10, activation: softmax}\n",
        encoding="utf-8",
    )
    report = check_one(["+experiment=case"], extra=[tmp_conf], data_roots=(tmp_conf,))
    found = problem(report.problems, code, key=key)
    assert len(found.message) < 600, "a hostile value is clipped in the message"
    assert not [p for p in report.problems if p.code == "imagenet-weights-needed"]
