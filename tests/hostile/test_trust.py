"""Trust: configs that try to run code, read files or secrets, hang the parser, or inject output.

`ktrun check` runs on pull requests from strangers. Every case is an experiment file (or an
override) an attacker could write; each must be refused with its code, the key and the file:line
(or override) that holds it, and a hint, within a second, having run and read nothing.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ktrun.checks import CheckReport
from ktrun.cli import main
from ktrun.pipeline import check_one
from ktrun.render.check_output import render
from tests.conftest import run_cli
from tests.hostile.expect import clean_exit, problem

HEADER = "# @package _global_\n"
#: Each refusal is decided from the text alone: well under this, whatever the file holds.
FAST = 5.0


def check_file(conf: Path, body: str | bytes, name: str = "case", *overrides: str) -> CheckReport:
    path = conf / "experiment" / f"{name}.yaml"
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(HEADER + body, encoding="utf-8")
    started = time.perf_counter()
    report = check_one([f"+experiment={name}", *overrides], extra=[conf])
    assert time.perf_counter() - started < FAST
    return report


# ---------------------------------------------------------------- Hydra's settings and _target_

HYDRA_FILES = [
    # (id, body, code, key, line)
    (
        "callbacks-copyfile",
        "hydra:\n  callbacks:\n    evil:\n      _target_: shutil.copyfile\n      src: /etc/passwd\n"
        "      dst: /tmp/ktrun-stolen\n",
        "config-hydra-refused",
        "hydra.callbacks",
        3,
    ),
    (
        "callbacks-open",
        "hydra:\n  callbacks:\n    x:\n      _target_: builtins.open\n      file: /etc/shadow\n",
        "config-hydra-refused",
        "hydra.callbacks",
        3,
    ),
    (
        "job-logging-handler",
        "hydra:\n  job_logging:\n    handlers:\n      h:\n        class: logging.FileHandler\n"
        "        filename: /tmp/x\n",
        "config-hydra-refused",
        "hydra.job_logging",
        3,
    ),
    ("searchpath", "hydra:\n  searchpath: [file:///etc]\n", "config-hydra-refused", "hydra.searchpath", 3),
    ("sweeper", "hydra:\n  sweeper:\n    max_batch_size: 1\n", "config-hydra-refused", "hydra.sweeper", 3),
    (
        "env-set",
        "hydra:\n  job:\n    env_set:\n      LD_PRELOAD: /tmp/x.so\n",
        "config-hydra-refused",
        "hydra.job",
        3,
    ),
    (
        "launcher-target",
        "hydra:\n  launcher:\n    _target_: os.system\n",
        "config-target-refused",
        "hydra.launcher._target_",
        4,
    ),
    ("hydra-scalar", "hydra: 3\n", "config-hydra-refused", "hydra", 2),
    ("model-target", "model:\n  _target_: os.system\n", "config-target-refused", "model._target_", 3),
    (
        "layer-target",
        "model:\n  layers:\n    - {type: Dense, units: 3, _target_: os.system}\n",
        "config-target-refused",
        "model.layers.0._target_",
        4,
    ),
    (
        "deep-target",
        "data:\n  extra:\n    a:\n      b:\n        _target_: subprocess.run\n",
        "config-target-refused",
        "data.extra.a.b._target_",
        6,
    ),
    ("call-key", "experiment:\n  _call_: true\n", "config-target-refused", "experiment._call_", 3),
    ("partial-key", "fit:\n  _partial_: true\n", "config-target-refused", "fit._partial_", 3),
    ("args-key", "tuner:\n  _args_: [1]\n", "config-target-refused", "tuner._args_", 3),
    (
        "recursive-key",
        "objective:\n  _recursive_: false\n",
        "config-target-refused",
        "objective._recursive_",
        3,
    ),
    (
        "hydra-callbacks-in-list",
        "constraints:\n  - {_target_: os.system}\n",
        "config-target-refused",
        "constraints.0._target_",
        3,
    ),
]


@pytest.mark.parametrize(
    ("body", "code", "key", "line"), [c[1:] for c in HYDRA_FILES], ids=[c[0] for c in HYDRA_FILES]
)
def test_hydra_settings_and_targets_are_refused(
    tmp_conf: Path, body: str, code: str, key: str, line: int
) -> None:
    report = check_file(tmp_conf, body)
    problem(report.errors, code, key=key, file="experiment/case.yaml", line=line)


@pytest.mark.parametrize(
    ("header", "body", "key"),
    [
        ("# @package hydra\n", "callbacks:\n  x:\n    y: 1\n", "hydra.callbacks"),
        ("# @package _global_.hydra.job\n", "env_set:\n  A: b\n", "hydra.job"),
        ("# @package hydra.callbacks\n", "x:\n  _target_: os.system\n", "hydra.callbacks"),
    ],
    ids=["package-hydra", "package-global-hydra-job", "package-hydra-callbacks-target"],
)
def test_package_headers_cannot_reach_hydra(tmp_conf: Path, header: str, body: str, key: str) -> None:
    (tmp_conf / "experiment" / "pkg.yaml").write_text(header + body, encoding="utf-8")
    report = check_one(["+experiment=pkg"], extra=[tmp_conf])
    p = [p for p in report.errors if p.code.startswith("config-")]
    assert p and p[0].key == key, report.problems
    assert p[0].hint and p[0].location and p[0].location.file


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        ("override hydra/launcher: submitit_local", "config-hydra-refused"),
        ("hydra/callbacks: x", "config-hydra-refused"),
        ("override hydra/job_logging: disabled", "config-hydra-refused"),
        ("override hydra/sweeper: optuna", "config-hydra-refused"),
        ("override /data: ../../../../etc/hostname", "config-path-escape"),
        ("override /data: /etc/hostname", "config-path-escape"),
        ("override /data: ~/.ssh/id_rsa", "config-path-escape"),
    ],
    ids=["launcher-other", "callbacks-group", "job-logging", "sweeper", "dotdot", "absolute", "home"],
)
def test_defaults_entries_stay_in_bounds(tmp_conf: Path, entry: str, code: str) -> None:
    report = check_file(tmp_conf, f"defaults:\n  - {entry}\n")
    problem(report.errors, code, key="defaults.0", file="experiment/case.yaml", line=3)


def test_a_config_in_hydras_own_group_is_refused(tmp_conf: Path) -> None:
    (tmp_conf / "hydra" / "launcher").mkdir(parents=True)
    (tmp_conf / "hydra" / "launcher" / "evil.yaml").write_text("_target_: os.system\n", encoding="utf-8")
    report = check_one(["hydra/launcher=evil"], extra=[tmp_conf])
    problem(report.errors, "config-hydra-refused", override="hydra/launcher=evil")


@pytest.mark.parametrize(
    "body",
    [
        "hydra:\n  run:\n    dir: outputs/${experiment.name}/${now:%Y-%m-%d}\n",
        "hydra:\n  sweep:\n    dir: multirun/x\n    subdir: ${hydra.job.num}\n",
        "defaults:\n  - override /hydra/launcher: joblib\nhydra:\n  launcher:\n    n_jobs: 2\n",
        "defaults:\n  - override /hydra/launcher: joblib\n",
        "experiment:\n  description: 'made ${now:%Y}; literal \\${oc.env:HOME}'\n",
        "experiment:\n  description: ${experiment.name}\n",
    ],
    ids=["run-dir", "sweep-dir", "n-jobs", "joblib-launcher", "now-and-escaped", "plain-interpolation"],
)
def test_what_stays_allowed(tmp_conf: Path, body: str) -> None:
    report = check_file(tmp_conf, body)
    assert not report.errors, report.problems


# ---------------------------------------------------------------- resolvers: environment and files


@pytest.mark.parametrize(
    ("body", "key", "resolver"),
    [
        ("experiment:\n  name: ${oc.env:HOME}\n", "experiment.name", "oc.env"),
        ("experiment:\n  description: ${oc.env:KTRUN_SECRET,none}\n", "experiment.description", "oc.env"),
        ("experiment:\n  description: \"${oc.decode:'{a: 1}'}\"\n", "experiment.description", "oc.decode"),
        ("experiment:\n  description: \"${oc.create:'{a: 1}'}\"\n", "experiment.description", "oc.create"),
        ("experiment:\n  description: ${hydra:runtime.cwd}\n", "experiment.description", "hydra"),
        ("experiment:\n  description: x${oc.select:a,${oc.env:HOME}}\n", "experiment.description", "oc.env"),
        ("constraints:\n  - ${oc.env:HOME}\n", "constraints.0", "oc.env"),
        ("data:\n  path: ${oc.env:HOME}/.ssh/id_rsa\n", "data.path", "oc.env"),
        ("fit:\n  epochs: ${oc.deprecated:fit.batch_size}\n", "fit.epochs", "oc.deprecated"),
    ],
    ids=["env", "env-default", "decode", "create", "hydra", "nested", "in-list", "data-path", "deprecated"],
)
def test_resolvers_are_refused_and_leak_nothing(
    tmp_conf: Path, monkeypatch: pytest.MonkeyPatch, body: str, key: str, resolver: str
) -> None:
    monkeypatch.setenv("KTRUN_SECRET", "s3cr3t-value")
    report = check_file(tmp_conf, body)
    p = problem(report.errors, "config-resolver-refused", key=key, file="experiment/case.yaml")
    assert f"`{resolver}`" in p.message
    shown = render("text", [report]) + render("github", [report]) + render("json", [report])
    assert os.environ["HOME"] not in shown.replace("HOME", "") or os.environ["HOME"] in ("/", "")
    assert "s3cr3t-value" not in shown


@pytest.mark.parametrize(
    ("override", "code", "key"),
    [
        ("fit.epochs=${oc.env:HOME}", "config-resolver-refused", "fit.epochs"),
        (
            "+experiment.description=${oc.env:KTRUN_SECRET}",
            "config-resolver-refused",
            "experiment.description",
        ),
        ("+hydra.callbacks.x._target_=os.system", "config-target-refused", "hydra.callbacks.x._target_"),
        ("hydra.job_logging.root.level=DEBUG", "config-hydra-refused", "hydra.job_logging.root.level"),
        ("hydra/launcher=submitit_local", "config-hydra-refused", "hydra.launcher"),
        ("hydra.searchpath=[pkg://evil]", "config-hydra-refused", "hydra.searchpath"),
        ("+model._target_=os.system", "config-target-refused", "model._target_"),
        ("+model.extra={_target_: os.system}", "config-target-refused", "model.extra._target_"),
        ("+experiment=../../../etc/hostname", "config-path-escape", "<root>"),
    ],
    ids=[
        "env",
        "secret",
        "callback",
        "logging",
        "launcher",
        "searchpath-pkg",
        "model-target",
        "nested-target",
        "dotdot",
    ],
)
def test_overrides_follow_the_same_rules(
    monkeypatch: pytest.MonkeyPatch, override: str, code: str, key: str
) -> None:
    monkeypatch.setenv("KTRUN_SECRET", "s3cr3t-value")
    report = check_one([override])
    p = problem(report.errors, code, key=key)
    assert p.location is not None and (p.location.override == override or p.location.file)
    assert "s3cr3t-value" not in render("text", [report])


# ---------------------------------------------------------------- files that are not files, or huge


def _bomb() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


YAML_LIMITS: list[tuple[str, Callable[[], str], str]] = [
    ("alias-bomb", _bomb, "yaml-alias-bomb"),
    (
        "alias-bomb-mapping",
        lambda: (
            "a: &a {x: 1, y: 2, z: 3}\n"
            + "".join(
                f"b{i}: &b{i} {{p: *{prev}, q: *{prev}}}\n"
                for i, prev in enumerate(["a", *(f"b{j}" for j in range(39))])
            )
        ),
        "yaml-alias-bomb",
    ),
    ("deep-lists", lambda: "x: " + "[" * 200 + "]" * 200 + "\n", "yaml-too-deep"),
    (
        "deep-maps",
        lambda: "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "v: 1\n",
        "yaml-too-deep",
    ),
    ("two-megabytes", lambda: "experiment:\n  description: '" + "x" * (2 << 20) + "'\n", "yaml-too-large"),
]


@pytest.mark.parametrize(("make", "code"), [c[1:] for c in YAML_LIMITS], ids=[c[0] for c in YAML_LIMITS])
def test_yaml_is_bounded(tmp_conf: Path, make: Callable[[], str], code: str) -> None:
    started = time.perf_counter()
    report = check_file(tmp_conf, make())
    assert time.perf_counter() - started < 1.5, "a YAML limit must be decided within a second"
    problem(report.errors, code, file="experiment/case.yaml")


def test_a_fifo_does_not_hang(tmp_conf: Path) -> None:
    os.mkfifo(tmp_conf / "experiment" / "pipe.yaml")
    report = check_one(["+experiment=pipe"], extra=[tmp_conf])
    problem(report.errors, "config-file-unreadable", file="experiment/pipe.yaml")


def test_non_utf8_config(tmp_conf: Path) -> None:
    report = check_file(tmp_conf, b"# @package _global_\nexperiment:\n  name: caf\xe9\n")
    p = problem(report.errors, "config-file-unreadable", file="experiment/case.yaml", line=3)
    assert "UTF-8" in p.message


@pytest.mark.parametrize("target", ["/etc/hostname", "../outside.yaml"], ids=["absolute", "relative"])
def test_symlinks_out_of_the_tree_are_refused(tmp_conf: Path, target: str) -> None:
    (tmp_conf.parent / "outside.yaml").write_text("# @package _global_\nfit: {epochs: 1}\n", encoding="utf-8")
    link = tmp_conf / "experiment" / "link.yaml"
    link.symlink_to(target if target.startswith("/") else tmp_conf.parent / "outside.yaml")
    report = check_one(["+experiment=link"], extra=[tmp_conf])
    problem(report.errors, "config-path-escape")


def test_a_symlinked_directory_out_of_the_tree_is_refused(
    tmp_conf: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.yaml").write_text(
        "# @package _global_\nexperiment: {name: leaked}\n", encoding="utf-8"
    )
    (tmp_conf / "experiment" / "sub").symlink_to(outside)
    report = check_one(["+experiment=sub/secret"], extra=[tmp_conf])
    problem(report.errors, "config-path-escape")


# ---------------------------------------------------------------- output injection


INJECTIONS = [
    ("ansi", "\x1b[2J\x1b[31mred"),
    ("carriage-return", "ok\rFAKE ok"),
    ("workflow-command", "x\n::error file=README.md::pwned"),
    ("stop-commands", "x\n::stop-commands::tok"),
    ("bidi", "abc\u202edcb"),
    ("long", "y" * 100_000),
]


@pytest.mark.parametrize("value", [v for _, v in INJECTIONS], ids=[i for i, _ in INJECTIONS])
@pytest.mark.parametrize("fmt", ["text", "github", "markdown", "json"])
def test_printed_text_is_defused(tmp_conf: Path, value: str, fmt: str) -> None:
    escaped = value.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    report = check_file(tmp_conf, f'experiment:\n  name: "{escaped}"\nfit:\n  "{escaped[:50]}": 1\n')
    assert report.errors
    out = render(fmt, [report])
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", out), repr(out[:300])
    for line in out.splitlines():
        if line.lstrip().startswith("::"):
            assert fmt == "github", line
            # our own command: its properties are file, line and title, and nothing injected
            own = r"::(error|warning|notice) (file=[^,:]*,)?(line=\d+,)?title=[^,:]*::.*"
            assert re.fullmatch(own, line), line
    assert len(out) < 20_000, "a long value is clipped, not echoed"


def test_github_annotations_escape_by_githubs_rules(tmp_conf: Path) -> None:
    report = check_file(tmp_conf, 'experiment:\n  name: "a%0Ab\\n::error::x,y:z"\n')
    lines = [line for line in render("github", [report]).splitlines() if line.startswith("::")]
    assert lines and all(line.count("\n") == 0 for line in lines)
    assert "%250A" in lines[0]  # the user's own `%0A` cannot become a line break


# ---------------------------------------------------------------- the real command line


def test_check_and_run_refuse_a_callback_and_run_nothing(tmp_conf: Path, tmp_path: Path) -> None:
    stolen = tmp_path / "stolen"
    (tmp_conf / "experiment" / "evil.yaml").write_text(
        HEADER + f"hydra:\n  callbacks:\n    evil:\n      _target_: shutil.copyfile\n"
        f"      src: /etc/hostname\n      dst: {stolen}\n",
        encoding="utf-8",
    )
    for args in (["check", "--format", "github"], []):
        proc = run_cli(*args, "--config-dir", str(tmp_conf), "+experiment=evil", cwd=tmp_path)
        out = clean_exit(proc, 2)
        assert "config-hydra-refused" in out
        assert not stolen.exists()


def test_run_refuses_an_env_resolver_before_hydra(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["+experiment=mnist_cnn", "experiment.description=${oc.env:HOME}"]) == 2
    out = capsys.readouterr().out
    assert "config-resolver-refused" in out and "override `experiment.description=${oc.env:HOME}`" in out


# ---------------------------------------------------------------- check reads no file outside the project

SECRET = "root:$6$s3cr3t-salt$hash"


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory outside the project with a 'secret' csv and npz-named file in it."""
    d = tmp_path_factory.mktemp("outside")
    (d / "shadow.csv").write_text(f"a,b,label\n1,2,{SECRET}\n3,4,{SECRET}\n", encoding="utf-8")
    (d / "id_rsa.npz").write_text(SECRET, encoding="utf-8")
    return d


@pytest.mark.parametrize(
    ("source", "how"),
    [
        ("csv", "absolute"),
        ("npz", "absolute"),
        ("csv", "home"),
        ("csv", "dotdot"),
        ("csv", "symlink"),
        ("mnist", "absolute"),
    ],
)
def test_check_reads_no_data_file_outside_the_project(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch, source: str, how: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    name = "id_rsa.npz" if source in ("npz", "mnist") else "shadow.csv"
    path = {
        "absolute": str(outside / name),
        "home": f"~/{name}",
        "dotdot": os.path.relpath(outside / name, project),
        "symlink": "link.csv",
    }[how]
    monkeypatch.setenv("HOME", str(outside))
    (project / "link.csv").symlink_to(outside / name)
    data = "data=npz" if source == "npz" else "data=csv" if source == "csv" else "data=mnist"
    override = f"data.path='{path}'"  # quoted: Hydra's grammar reads a bare `~` as a delete
    report = check_one([data, override], data_roots=(project,))
    p = problem(report.problems, "data-file-not-read", key="data.path", override=override)
    assert p.severity.value == "info"
    for fmt in ("text", "json", "github"):
        assert "s3cr3t" not in render(fmt, [report])


def test_check_on_the_command_line_does_not_read_etc(tmp_path: Path) -> None:
    proc = run_cli("check", "data=csv", "data.path=/etc/passwd", "--format", "json", cwd=tmp_path)
    out = clean_exit(proc, 0)
    assert "data-file-not-read" in out and "root:" not in out
