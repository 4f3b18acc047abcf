"""The malformed-config corpus: every fixture in tests/fixtures/bad/experiment fails `ktrun check`.

Each fixture names what it must produce on its second line, `# expect: CODE[, CODE...]` (an
error), or `warning:CODE` (a warning; such fixtures fail only with `--strict`). Per fixture the
check runs in-process (`check_one`, ~0.2 s); a few subprocess tests pin the CLI contract (exit
code 2, parseable JSON, no traceback). Known ktrun bugs are `xfail(strict=True)`, so a fix shows
up as XPASS and the marker must then be removed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ktrun.checks import CheckReport
from ktrun.pipeline import check_one
from ktrun.problems import Problem, Severity
from tests.conftest import REPO, run_cli

FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "bad"
EXPERIMENTS = FIXTURES_DIR / "experiment"
NAMES = sorted(p.stem for p in EXPERIMENTS.glob("*.yaml"))
#: One check takes well under a second; a hang (e.g. unrolling a huge repeat) fails, not stalls.
DEADLINE_SECONDS = 30


# ---------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Expect:
    code: str
    severity: Severity


def expectations(name: str) -> list[Expect]:
    lines = (EXPERIMENTS / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# @package _global_", f"{name}: the Hydra header must be the first line"
    m = re.fullmatch(r"# expect: (.+)", lines[1])
    assert m, f"{name}: line 2 must be `# expect: CODE[, CODE...]`"
    out = []
    for item in m.group(1).split(","):
        sev, _, code = item.strip().rpartition(":")
        out.append(Expect(code, Severity(sev) if sev else Severity.ERROR))
    return out


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"ktrun check took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@functools.cache
def check(name: str) -> CheckReport:
    """One in-process check per fixture, shared by the tests that read it."""
    with deadline(DEADLINE_SECONDS):
        return check_one([f"+experiment={name}"], extra=[FIXTURES_DIR])


def show(report: CheckReport) -> str:
    return "\n".join(
        f"{p.severity.value} [{p.code}] {p.key} @ {p.location}: {p.message}" for p in report.problems
    )


def located(p: Problem) -> bool:
    loc = p.location
    return loc is not None and (bool(loc.file and loc.line) or bool(loc.override))


# ---------------------------------------------------------------- the corpus itself


def test_corpus_is_large_and_well_formed() -> None:
    assert len(NAMES) >= 40
    for name in NAMES:
        assert expectations(name), name


def test_expected_codes_exist_in_ktrun() -> None:
    """A typo in `# expect:` would make a fixture fail for the wrong reason."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "ktrun").rglob("*.py"))
    unknown = {(name, e.code) for name in NAMES for e in expectations(name) if f'"{e.code}"' not in source}
    assert not unknown


# ---------------------------------------------------------------- one check per fixture


@pytest.mark.parametrize("name", NAMES)
def test_fixture_reports_its_problem(name: str) -> None:
    expected = expectations(name)
    report = check(name)
    only_warnings = all(e.severity == Severity.WARNING for e in expected)
    assert report.failed(strict=only_warnings), show(report)
    assert not [p for p in report.problems if p.code.startswith("internal")], show(report)
    for e in expected:
        found = [p for p in report.problems if p.code == e.code and p.severity == e.severity]
        assert found, f"no {e.severity.value} [{e.code}] in:\n{show(report)}"
        for p in found:
            assert p.message.strip() and p.hint.strip(), p
            assert located(p), f"[{p.code}] {p.key} has no file:line or override"


@pytest.mark.parametrize("name", NAMES)
def test_no_cascading_errors(name: str) -> None:
    """One mistake, one report: repairing a schema error must not invent further errors."""
    report = check(name)
    problems = report.problems
    try:
        data = yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        data = {}
    declared = set((data.get("hyperparameters") or {}) if isinstance(data, dict) else ())
    cascades = []
    for p in problems:
        if p.code in ("missing-key", "missing-type"):
            n = len(p.path)
            cascades += [
                (p.code, q.code)
                for q in problems
                if q is not p
                and q.code != p.code
                and (q.path[:n] == p.path or p.path[: len(q.path)] == q.path)
            ]
        if p.code == "unknown-reference":
            m = re.search(r"`\$(\w+)` names no declared|on `(\w+)`, which|uses `(\w+)`, which", p.message)
            ref = m and next(g for g in m.groups() if g)
            if ref in declared:
                cascades.append((p.code, ref))
    assert not cascades, show(report)


# ---------------------------------------------------------------- command-line overrides


OVERRIDE_CASES: list[Any] = [
    # (overrides, expected code, override the location must name, or None: any location)
    (["fit.epochs=0"], "arg-out-of-range", "fit.epochs=0"),
    (["tuner.algorithm=annealing"], "invalid-value", "tuner.algorithm=annealing"),
    (["fit.epoch=3"], "compose-error", "fit.epoch=3"),
    (["+fit.epoch=3"], "unknown-key", "+fit.epoch=3"),
    (["fit.epochs=three"], "wrong-type", "fit.epochs=three"),
    (["objective.name=val_acuracy"], "objective-not-logged", "objective.name=val_acuracy"),
    (["objective.direction=min"], "objective-direction-contradiction", "objective.direction=min"),
    (
        ["objective=[{name: val_accuracy}, {name: val_acuracy}]"],
        "objective-not-logged",
        "objective=[{name: val_accuracy}, {name: val_acuracy}]",
    ),
    (["tuner=annealing"], "config-not-found", "tuner=annealing"),
    (["failure_policy=lenient"], "config-not-found", "failure_policy=lenient"),
    (["hyperparameters.units_1.min=512"], "hp-min-gt-max", "hyperparameters.units_1.min=512"),
    (
        ["model.compile.optimizer.learning_rate=100"],
        "learning-rate-out-of-range",
        "model.compile.optimizer.learning_rate=100",
    ),
    (
        ["model.compile.loss=binary_crossentropy"],
        "loss-label-mismatch",
        "model.compile.loss=binary_crossentropy",
    ),
    (["model.layers.7.units=1"], "output-units-mismatch", "model.layers.7.units=1"),
    (
        ["hyperparameters.kernel_1.values=[3,1,glorot_uniform]"],
        "choice-mixed-types",
        "hyperparameters.kernel_1.values=[3,1,glorot_uniform]",
    ),
    (["data.validation_split=0"], "objective-needs-validation", None),
    (["tuner=grid"], "grid-infinite-space", None),
    (["model.layers.0.kernel_size=40"], "kernel-too-large", "model.layers.0.kernel_size=40"),
    (["fit.epochs=[3"], "override-syntax", "fit.epochs=[3"),
    (["fit.epochs=${oops}"], "interpolation-error", "fit.epochs=${oops}"),
]


def _override_id(case: Any) -> str:
    return " ".join(case) if isinstance(case, list) else ""


@pytest.mark.parametrize(("overrides", "code", "override"), OVERRIDE_CASES, ids=_override_id)
def test_override_reports_its_problem(overrides: list[str], code: str, override: str | None) -> None:
    with deadline(DEADLINE_SECONDS):
        report = check_one(["+experiment=mnist_cnn", *overrides])
    assert report.failed(), show(report)
    found = [p for p in report.errors if p.code == code]
    assert found, show(report)
    for p in found:
        assert p.message.strip() and p.hint.strip(), p
        assert located(p), show(report)
        if override is not None:
            assert p.location is not None and p.location.override == override, show(report)


def test_unknown_experiment_names_the_override() -> None:
    report = check_one(["+experiment=mnsit_cnn"])
    [p] = report.errors
    assert p.code == "config-not-found" and "mnist_cnn" in p.message
    assert p.location is not None and p.location.override == "+experiment=mnsit_cnn"


# ---------------------------------------------------------------- the real command line


def _json(proc: Any) -> dict[str, Any]:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, proc.stdout + proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    assert data["ok"] is False and len(data["configs"]) == 1
    return data


@pytest.mark.parametrize(
    ("name", "flags"), [("kernel_too_large_mnist_repeat", []), ("monitor_differs", ["--strict"])]
)
def test_cli_json_contract(name: str, flags: list[str]) -> None:
    proc = run_cli(
        "check", *flags, "--config-dir", str(FIXTURES_DIR), f"+experiment={name}", "--format", "json"
    )
    problems = _json(proc)["configs"][0]["problems"]
    for e in expectations(name):
        [p] = [p for p in problems if p["code"] == e.code]
        assert p["severity"] == e.severity.value
        assert p["message"] and p["hint"] and p["file"].endswith(f"experiment/{name}.yaml")
        assert isinstance(p["line"], int) and p["line"] > 0


def test_cli_accepts_a_fixture_path_and_an_override() -> None:
    """`ktrun check path/to/experiment/NAME.yaml KEY=VALUE`: both problems, both located."""
    path = EXPERIMENTS / "objective_typo.yaml"
    proc = run_cli("check", str(path.relative_to(REPO)), "fit.epochs=0", "--format", "json")
    problems = {p["code"]: p for p in _json(proc)["configs"][0]["problems"]}
    assert problems["objective-not-logged"]["file"] == "tests/fixtures/bad/experiment/objective_typo.yaml"
    assert problems["objective-not-logged"]["line"] == 18
    assert problems["arg-out-of-range"]["override"] == "fit.epochs=0"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("yaml_syntax_error", "tests/fixtures/bad/experiment/yaml_syntax_error.yaml:14: error [yaml-syntax]"),
        ("unknown_key_layer_arg", "error [unknown-key] model.layers.1.unit"),
        ("kernel_too_large_mnist_repeat", "error [kernel-too-large] model.layers.0.layers.0"),
        ("objective_needs_validation", "error [objective-needs-validation] objective.name"),
    ],
)
def test_cli_text_format(name: str, expected: str) -> None:
    proc = run_cli("check", "--config-dir", str(FIXTURES_DIR), f"+experiment={name}")
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert expected in proc.stdout, proc.stdout
    assert f"── +experiment={name}  FAIL" in proc.stdout


def test_the_output_layer_is_found_behind_layers_that_keep_its_width() -> None:
    """keras-io's "tailor the search space" model has no output layer: the check names the Dense
    that decides the width (not the Dropout after it) and offers the output layer to add."""
    report = check_one(["+experiment=output_hidden_by_dropout"], extra=[FIXTURES_DIR])
    (problem,) = [p for p in report.errors if p.code == "output-units-mismatch"]
    assert problem.path == ("model", "layers", 1, "units")
    assert "32 units but the data has 10 classes" in problem.message and "Dropout" in problem.message
    assert problem.hint == "add an output layer `{type: Dense, units: 10, activation: softmax}` at the end"
    linear = check_one(["+experiment=output_after_linear_activation"], extra=[FIXTURES_DIR])
    (logits,) = [p for p in linear.problems if p.code == "logits-mismatch"]
    assert logits.path == ("model", "layers", 3, "activation")  # the Activation layer, not the Dense


def test_shape_hints_name_the_fix_the_language_offers(tmp_conf: Path) -> None:
    """The kernel hint names this repetition's instance (`kernel_2`), not `kernel_1` whatever the
    hyperparameter is called; a flat LSTM output feeding an LSTM asks for `return_sequences`."""
    from tests.integration.test_search import write_experiment

    write_experiment(
        tmp_conf,
        "blocks",
        """
hyperparameters:
  kernel: {type: choice, values: [3, 5]}
model:
  input_shape: [8, 8, 1]
  layers:
    - type: repeat
      times: 2
      layers:
        - {type: Conv2D, filters: 4, kernel_size: $kernel}
        - {type: MaxPooling2D, pool_size: 2}
    - {type: Flatten}
    - {type: Dense, units: 10, activation: softmax}
""",
    )
    report = check_one(["+experiment=blocks"], extra=[tmp_conf])
    (kernel,) = [p for p in report.problems if p.code == "kernel-too-large"]
    assert kernel.hint.startswith("constrain the kernel (e.g. `kernel_2 <= "), kernel.hint
    write_experiment(
        tmp_conf,
        "lstms",
        """
model:
  layers:
    - {type: Reshape, target_shape: [8, 8]}
    - {type: LSTM, units: 8}
    - {type: LSTM, units: 8}
    - {type: Dense, units: 10, activation: softmax}
""",
    )
    report = check_one(["+experiment=lstms"], extra=[tmp_conf])
    (rank,) = [p for p in report.errors if p.code == "rank-mismatch"]
    assert rank.hint == "set `return_sequences: true` on the LSTM at model.layers.1"


def test_a_list_under_objective_in_a_file_is_pointed_to_objectives() -> None:
    """`objective=[...]` works on the command line; the same list in a file must be `objectives:`."""
    report = check_one(["+experiment=objective_list_in_a_file"], extra=[FIXTURES_DIR])
    (problem,) = [p for p in report.errors if p.code == "wrong-type"]
    assert problem.path == ("objective",) and problem.location is not None and problem.location.line == 12
    assert "write `objectives:` instead of `objective:`" in problem.hint


def test_runtime_isolation_under_distributed_workers_is_said_to_be_ignored() -> None:
    override = "runtime.isolation=process"
    report = check_one(["+experiment=digits_mlp", "distributed.workers=2", override])
    (p,) = [p for p in report.warnings if p.code == "runtime-ignored"]
    assert p.location is not None and p.location.override == override and "distributed.workers=0" in p.hint
    assert not report.failed()
