"""Contracts for the Keras Tuner internals `ktrun.runtime.kt_compat` relies on: one test per symbol.

An upgrade of keras-tuner that moves, renames or changes one of them fails here, by name,
instead of silently breaking resume (tried points, seeds, the retry queue), atomic state files,
feasible-only sampling or the chief's gRPC service.
"""

from __future__ import annotations

import ast
import collections
import importlib
import inspect
import re
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import REPO

pytestmark = [
    pytest.mark.keras,
    # Keras Tuner's `synchronized` calls `threading.currentThread().getName()` (deprecated since 3.10).
    pytest.mark.filterwarnings(r"ignore:(currentThread|getName)\(\) is deprecated:DeprecationWarning"),
]

kt = pytest.importorskip("keras_tuner")

from ktrun.runtime import kt_compat  # noqa: E402 - after the skip: it imports keras_tuner

COMPAT = "ktrun/runtime/kt_compat.py"
#: Every private Keras Tuner name ktrun reads, writes, calls or overrides (only in COMPAT).
PRIVATE_NAMES = (
    "_tried_so_far",
    "_compute_values_hash",
    "_seed_state",
    "_retry_queue",
    "_id_to_hash",
    "_run_times",
    "_project_dir",
    "_get_oracle_fname",
    "_get_trial_dir",
    "_save_trial",
    "_random_values",
    "_random_populate_space",
    "_get_tuner_fname",
    "_build_and_fit_model",
    "_try_build",
    "_populate_initial_space",
    "_is_worker",
    "_save_model",
    "_build_hypermodel",
    "_set_project_dir",
)


def _space() -> Any:
    hp = kt.HyperParameters()
    hp.Choice("units", [8, 16, 32])
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    return hp


def _oracle(cls: Any = None, tmp: Path | None = None, **kwargs: Any) -> Any:
    """A Keras Tuner oracle over a small space, with its project dir set as `BaseTuner` does."""
    cls = cls or kt.oracles.RandomSearchOracle
    if issubclass(cls, kt.oracles.HyperbandOracle):
        kwargs.setdefault("max_epochs", 3)
    else:
        kwargs.setdefault("max_trials", 5)
    oracle = cls(objective=kt.Objective("loss", "min"), hyperparameters=_space(), seed=7, **kwargs)
    if tmp is not None:
        oracle._set_project_dir(str(tmp), "project")
    return oracle


class _HyperModel(kt.HyperModel):
    def build(self, hp: Any) -> Any:
        raise AssertionError("no model is built here")


# ------------------------------------------------------------------------------ the version


def test_the_installed_keras_tuner_is_in_the_reviewed_range() -> None:
    """Outside `SUPPORTED`, review kt_compat against the new source before widening it."""
    low, high = kt_compat.SUPPORTED
    version = tuple(int(p) for p in re.findall(r"\d+", kt.__version__)[:3])
    assert low <= version < high, f"keras-tuner {kt.__version__} is outside {kt_compat.SUPPORTED}"


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("keras_tuner.engine.trial", "Trial"),
        ("keras_tuner.engine.trial", "TrialStatus"),
        ("keras_tuner.oracles", "RandomSearchOracle"),
        ("keras_tuner.oracles", "BayesianOptimizationOracle"),
        ("keras_tuner.oracles", "HyperbandOracle"),
        ("keras_tuner", "Hyperband"),
        ("keras_tuner", "synchronized"),
        ("keras_tuner.errors", "FatalError"),
        ("keras_tuner.errors", "FailedTrialError"),
    ],
)
def test_the_public_names_the_runtime_uses_are_exported(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is no longer public"


# ------------------------------------------------------------ private modules and their names


@pytest.mark.parametrize(
    ("module", "name", "params"),
    [
        ("keras_tuner.src.engine.tuner_utils", "SaveBestEpoch", ["objective", "filepath"]),
        ("keras_tuner.src.engine.tuner_utils", "TunerCallback", ["tuner", "trial"]),
        ("keras_tuner.src.engine.tuner_utils", "convert_to_metrics_dict", ["results", "objective"]),
        ("keras_tuner.src.engine.tuner_utils", "get_best_step", ["results", "objective"]),
        ("keras_tuner.src.distribute.oracle_chief", "OracleServicer", ["oracle"]),
        ("keras_tuner.src.protos", "get_service_grpc", []),
    ],
)
def test_private_module_names_exist_with_their_signature(module: str, name: str, params: list[str]) -> None:
    obj = getattr(importlib.import_module(module), name, None)
    assert obj is not None, f"{module}.{name} moved or was renamed"
    assert list(inspect.signature(obj).parameters) == params, f"{module}.{name} changed its signature"


def test_efficientnets_without_download_swaps_the_table_hyper_efficientnet_builds_from() -> None:
    """`HyperEfficientNet.build` looks its EfficientNet up in `EFFICIENTNET_MODELS` (one per version
    it searches); inside the context each builds at `weights=None`, and the table is restored."""
    import keras
    from keras_tuner.src.applications import efficientnet

    table = efficientnet.EFFICIENTNET_MODELS
    before = dict(table)
    assert set(table) == {f"B{i}" for i in range(8)}
    assert "EFFICIENTNET_MODELS[version]" in inspect.getsource(efficientnet.HyperEfficientNet.build)
    with kt_compat.efficientnets_without_download():
        made = table["B0"](include_top=False, input_shape=(32, 32, 3))
    assert table == before and isinstance(made, keras.Model)


def test_config_debug_is_what_the_tuner_reads_before_printing_a_traceback() -> None:
    from keras_tuner.src import config
    from keras_tuner.src.engine import base_tuner

    assert isinstance(config.DEBUG, bool)
    assert base_tuner.config_module is config
    assert "config_module.DEBUG" in inspect.getsource(base_tuner.BaseTuner._try_run_and_update_trial)
    before = config.DEBUG
    try:
        kt_compat.set_debug(False)
        assert config.DEBUG is False
    finally:
        config.DEBUG = before


def test_convert_to_metrics_dict_scores_as_the_oracle_does() -> None:
    import keras

    objective = kt.Objective("loss", "min")
    history = keras.callbacks.History()
    history.history = {"loss": [3.0, 1.0, 2.0], "acc": [0.1, 0.9, 0.5]}
    assert kt_compat.convert_to_metrics_dict(history, objective) == {"loss": 1.0, "acc": 0.9}
    assert kt_compat.convert_to_metrics_dict(0.5, objective) == {"loss": 0.5}
    averaged = kt_compat.convert_to_metrics_dict([{"loss": 1.0}, {"loss": 3.0}], objective)
    assert averaged == {"loss": 2.0}
    assert kt_compat.best_step(history, objective) == 1  # the epoch of loss 1.0


def test_save_best_epoch_calls_save_model_at_each_improving_epoch() -> None:
    """`SaveBestEpochHook` forwards `_save_model`; `objective`, `filepath`, `best_value` are read."""
    seen: list[int] = []

    class Probe(kt_compat.SaveBestEpochHook):
        def ktrun_on_best_epoch(self) -> None:
            seen.append(len(seen))

    for name, params in [("_save_model", ["self"]), ("on_epoch_end", ["self", "epoch", "logs"])]:
        method = getattr(kt_compat.SaveBestEpoch, name, None)
        assert method is not None and list(inspect.signature(method).parameters) == params, name
    probe = Probe(kt.Objective("loss", "min"), "weights.h5")
    assert probe.filepath == "weights.h5" and probe.objective.name == "loss"
    assert probe.best_value == float("inf")
    for epoch, loss in enumerate([2.0, 1.0, 1.5, 0.5]):
        probe.on_epoch_end(epoch, {"loss": loss})
    assert len(seen) == 3 and probe.best_value == 0.5


def test_oracle_server_serves_keras_tuners_servicer_and_sees_a_stop(tmp_path: Path) -> None:
    from keras_tuner.engine.trial import Trial, TrialStatus

    class Done(kt.oracles.RandomSearchOracle):
        def create_trial(self, tuner_id: str) -> Any:
            return Trial(self.get_space(), trial_id="x", status=TrialStatus.STOPPED)

    server = kt_compat.OracleServer(_oracle(Done, tmp_path), "127.0.0.1:0")
    assert not server.stop_triggered
    server.servicer.CreateTrial(SimpleNamespace(tuner_id="tuner0"), None)
    assert server.stop_triggered
    server.stop(grace=0)


# ----------------------------------------------------------------- private oracle methods


@pytest.mark.parametrize(
    ("cls", "name", "params"),
    [
        ("Oracle", "_compute_values_hash", ["self", "values"]),
        ("HyperbandOracle", "_compute_values_hash", ["self", "values"]),
        ("Oracle", "_get_oracle_fname", ["self"]),
        ("Oracle", "_get_trial_dir", ["self", "trial_id"]),
        ("Oracle", "_save_trial", ["self", "trial"]),
        ("Oracle", "_random_values", ["self"]),
        ("Oracle", "_set_project_dir", ["self", "directory", "project_name"]),
        ("BaseTuner", "_get_tuner_fname", ["self"]),
        ("BaseTuner", "_populate_initial_space", ["self"]),
        ("Hyperband", "_build_hypermodel", ["self", "hp"]),
        ("Hyperband", "run_trial", ["self", "trial", "fit_args", "fit_kwargs"]),
    ],
)
def test_private_methods_exist_with_their_signature(cls: str, name: str, params: list[str]) -> None:
    owner = {
        "Oracle": kt.Oracle,
        "HyperbandOracle": kt.oracles.HyperbandOracle,
        "BaseTuner": kt.engine.base_tuner.BaseTuner,
        "Hyperband": kt.Hyperband,
    }[cls]
    method = owner.__dict__.get(name)
    assert callable(method), f"{cls}.{name} moved or was renamed"
    assert list(inspect.signature(method).parameters) == params, f"{cls}.{name} changed its signature"


def test_project_dir_is_a_property_under_the_directory_the_tuner_sets(tmp_path: Path) -> None:
    assert isinstance(inspect.getattr_static(kt.Oracle, "_project_dir"), property)
    oracle = _oracle(tmp=tmp_path)
    assert kt_compat.project_dir(oracle) == tmp_path / "project"
    assert kt_compat.oracle_file(oracle) == tmp_path / "project" / "oracle.json"
    assert kt_compat.trial_file(oracle, "03") == tmp_path / "project" / "trial_03" / "trial.json"
    assert (tmp_path / "project" / "trial_03").is_dir()


#: Private oracle attribute → (its type on a fresh oracle, its key in `get_state()` / oracle.json).
ORACLE_ATTRIBUTES = {
    "_tried_so_far": (set, "tried_so_far"),
    "_seed_state": (int, "seed_state"),
    "_retry_queue": (list, "retry_queue"),
    "_id_to_hash": (collections.defaultdict, "id_to_hash"),
    "_run_times": (collections.defaultdict, "run_times"),
}


@pytest.mark.parametrize("name", sorted(ORACLE_ATTRIBUTES))
def test_private_oracle_state_exists_and_is_saved_in_oracle_json(name: str) -> None:
    kind, key = ORACLE_ATTRIBUTES[name]
    oracle = _oracle()
    value = getattr(oracle, name, None)
    assert isinstance(value, kind), f"Oracle.{name} is a {type(value).__name__}, not a {kind.__name__}"
    state = oracle.get_state()
    assert key in state, f"oracle.json no longer holds `{key}`"
    assert state[key] == (list(value) if kind is set else value)


def test_id_to_hash_and_run_times_default_to_none_and_zero() -> None:
    oracle = _oracle()
    assert oracle._id_to_hash["never"] is None
    assert oracle._run_times["never"] == 0
    assert oracle._seed_state == oracle.seed


def test_oracle_fields_match_keras_tuners_state() -> None:
    """`oracles.ORACLE_FIELDS` (what a damaged oracle.json is checked against) is Keras Tuner's state."""
    from ktrun.runtime.oracles import ORACLE_FIELDS, oracle_state_problem

    state = _oracle().get_state()
    assert set(state) == set(ORACLE_FIELDS)
    import json

    assert oracle_state_problem(json.loads(json.dumps(state))) is None


def test_values_hash_is_stable_and_order_free() -> None:
    oracle = _oracle()
    a = kt_compat.values_hash(oracle, {"units": 8, "lr": 0.01})
    assert a == kt_compat.values_hash(_oracle(), {"lr": 0.01, "units": 8})
    assert a != kt_compat.values_hash(oracle, {"units": 16, "lr": 0.01})


def test_hyperbands_values_hash_ignores_its_bookkeeping() -> None:
    oracle = _oracle(kt.oracles.HyperbandOracle)
    point = {"units": 8, "lr": 0.01}
    bookkept = {**point, "tuner/epochs": 3, "tuner/initial_epoch": 1, "tuner/bracket": 0, "tuner/round": 1}
    assert kt_compat.values_hash(oracle, bookkept) == kt_compat.values_hash(oracle, point)


def test_random_values_skips_what_is_marked_tried_and_gives_up_with_none() -> None:
    hp = kt.HyperParameters()
    hp.Choice("units", [8, 16])
    oracle = kt.oracles.RandomSearchOracle(objective="loss", max_trials=5, hyperparameters=hp, seed=1)
    assert kt_compat.mark_tried(oracle, {"units": 8}) is True
    assert kt_compat.mark_tried(oracle, {"units": 8}) is False
    assert kt_compat.was_tried(oracle, {"units": 8})
    assert {oracle._random_values()["units"] for _ in range(5)} == {16}
    kt_compat.mark_tried(oracle, {"units": 16})
    assert oracle._random_values() is None


def test_random_values_draws_from_seed_state() -> None:
    oracle = _oracle()
    start = oracle._seed_state
    oracle._random_values()
    assert oracle._seed_state > start  # each draw advances the stream ktrun's solver shares
    seed = oracle._seed_state
    assert kt_compat.next_seed(oracle) == seed and kt_compat.next_seed(oracle) == seed + 1
    kt_compat.advance_seed(oracle, 5)
    assert oracle._seed_state == seed + 7


def test_restore_trial_records_what_create_and_end_trial_would() -> None:
    oracle = _oracle()
    kt_compat.restore_trial(oracle, "00", {"units": 8, "lr": 0.01})
    key = kt_compat.values_hash(oracle, {"units": 8, "lr": 0.01})
    state = oracle.get_state()
    assert key in state["tried_so_far"]
    assert state["id_to_hash"]["00"] == key and state["run_times"]["00"] == 1


class _Hooked(kt_compat.OracleHooks, kt.oracles.RandomSearchOracle):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.saved: list[tuple[str, Path]] = []

    def ktrun_save_trial(self, trial: Any, path: Path) -> None:
        self.saved.append((trial.trial_id, path))
        super().ktrun_save_trial(trial, path)


def test_create_trial_saves_through_save_trial_and_retries_the_queue_first(tmp_path: Path) -> None:
    oracle = _oracle(_Hooked, tmp_path)
    first = oracle.create_trial("tuner0")
    assert first.status == "RUNNING"
    assert oracle.saved == [(first.trial_id, kt_compat.trial_file(oracle, first.trial_id))]
    assert kt_compat.trial_file(oracle, first.trial_id).is_file()  # Keras Tuner's own write
    oracle.ongoing_trials.clear()
    kt_compat.retry_queue(oracle).append(first.trial_id)
    again = oracle.create_trial("tuner1")
    assert again.trial_id == first.trial_id and kt_compat.retry_queue(oracle) == []


@pytest.mark.parametrize(
    "cls",
    [kt.oracles.RandomSearchOracle, kt.oracles.BayesianOptimizationOracle, kt.oracles.HyperbandOracle],
    ids=["random", "bayesian", "hyperband"],
)
def test_every_builtin_oracle_samples_through_random_values(cls: Any) -> None:
    """`OracleHooks._random_values` is the one place ktrun's feasibility check sees each point."""
    point = {"units": 32, "lr": 0.001}

    class Fixed(kt_compat.OracleHooks, cls):
        def ktrun_random_values(self) -> dict[str, Any] | None:
            return dict(point)

    response = _oracle(Fixed).populate_space("0")
    assert response["status"] == "RUNNING"
    assert {k: v for k, v in response["values"].items() if not k.startswith("tuner/")} == point


def test_kt_random_values_is_keras_tuners_own_draw() -> None:
    class Hooked(kt_compat.OracleHooks, kt.oracles.RandomSearchOracle):
        pass

    values = _oracle(Hooked).kt_random_values()
    assert values is not None and set(values) == {"units", "lr"}


def test_saved_state_reloads_with_keras_tuners_reload(tmp_path: Path) -> None:
    """ktrun writes oracle.json itself (atomically); Keras Tuner's `reload` must read it back."""
    from ktrun.runtime.journal import write_json_atomic

    oracle = _oracle(_Hooked, tmp_path)
    first = oracle.create_trial("tuner0")
    kt_compat.mark_tried(oracle, {"units": 16, "lr": 0.5})
    write_json_atomic(kt_compat.oracle_file(oracle), oracle.get_state())
    again = _oracle(tmp=tmp_path)
    again.reload()
    assert again._tried_so_far == oracle._tried_so_far
    assert again._seed_state == oracle._seed_state
    assert set(again.trials) == set(oracle.trials) == {first.trial_id}
    assert kt_compat.retry_queue(again) == [first.trial_id]  # what was running runs again


# ------------------------------------------------------------------------- the tuner side


def test_tuner_file_is_the_tuner_id_json_and_reloading_hinges_on_it(tmp_path: Path) -> None:
    """`search.repair_state` writes `<tuner_id>.json`; `BaseTuner.__init__` reloads only when it exists,
    and calls `_populate_initial_space` only when it does not."""
    calls: list[str] = []

    class Spy(kt.Tuner):
        def _populate_initial_space(self) -> None:
            calls.append("populate")

        def reload(self) -> None:
            calls.append("reload")

    oracle = _oracle()
    tuner = Spy(oracle=oracle, hypermodel=_HyperModel(), directory=str(tmp_path), project_name="p")
    assert kt_compat.tuner_file(tuner) == tmp_path / "p" / f"{tuner.tuner_id}.json"
    assert calls == ["populate"]
    kt_compat.tuner_file(tuner).write_text("{}")
    Spy(oracle=_oracle(), hypermodel=_HyperModel(), directory=str(tmp_path), project_name="p")
    assert calls == ["populate", "reload"]


def test_tuner_hooks_skip_the_exploratory_builds(tmp_path: Path) -> None:
    class Hooked(kt_compat.TunerHooks, kt.Tuner):
        pass

    Hooked(oracle=_oracle(), hypermodel=_HyperModel(), directory=str(tmp_path), project_name="p")


def test_hypermodel_fit_gets_the_checkpoint_and_tuner_callbacks(tmp_path: Path) -> None:
    """ktrun swaps the checkpoint in `HyperModel.fit` (public), where `Tuner.run_trial` sends it."""
    got: list[Any] = []

    class Recorder(_HyperModel):
        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            got.extend(kwargs["callbacks"])
            return {"loss": 1.0}

    class Hooked(kt_compat.TunerHooks, kt.Tuner):
        def _try_build(self, hp: Any) -> Any:  # no Keras model: only the wiring is under test
            return SimpleNamespace(get_build_config=dict)

    oracle = _oracle()
    tuner = Hooked(oracle=oracle, hypermodel=Recorder(), directory=str(tmp_path), project_name="p")
    tuner.run_trial(oracle.create_trial(tuner.tuner_id), callbacks=[])
    assert sum(isinstance(c, kt_compat.SaveBestEpoch) for c in got) == 1
    assert sum(isinstance(c, kt_compat.TunerCallback) for c in got) == 1


def test_hyperband_tuner_adds_only_run_trial_and_build_hypermodel() -> None:
    """`HyperbandTuner` skips `Hyperband.__init__`: safe while that only builds an oracle."""
    own = {k for k, v in vars(kt.Hyperband).items() if callable(v) and not k.startswith("__")}
    assert own == {"run_trial", "_build_hypermodel"}, f"Hyperband now also defines {own}"
    source = inspect.getsource(kt.Hyperband.__init__)
    assert "HyperbandOracle(" in source and "super().__init__(oracle=oracle" in source


# ---------------------------------------------------------------------------- synchronized


def test_synchronized_is_reentrant_and_keeps_the_name() -> None:
    from ktrun.runtime.oracles import FeasibleMixin

    for name in ("create_trial", "end_trial"):
        assert getattr(FeasibleMixin, name).__name__ == name

    class Locked(kt.oracles.RandomSearchOracle):
        @kt_compat.synchronized
        def get_trial(self, trial_id: str) -> Any:
            return self.inner()

        @kt_compat.synchronized
        def inner(self) -> str:
            return threading.current_thread().name

    assert Locked(objective="loss", max_trials=1).get_trial("x") == threading.current_thread().name


# ------------------------------------------------------------------------------ the scans


def _ktrun_sources() -> list[tuple[str, str]]:
    return [
        (p.relative_to(REPO).as_posix(), p.read_text(encoding="utf-8"))
        for p in sorted((REPO / "ktrun").rglob("*.py"))
        if p.relative_to(REPO).as_posix() != COMPAT
    ]


def test_only_kt_compat_imports_keras_tuner_src() -> None:
    offenders = [rel for rel, text in _ktrun_sources() if "keras_tuner.src" in text]
    assert offenders == [], f"go through {COMPAT}: {offenders}"


@pytest.mark.parametrize("name", PRIVATE_NAMES)
def test_only_kt_compat_names_a_keras_tuner_private(name: str) -> None:
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    offenders = [rel for rel, text in _ktrun_sources() if pattern.search(text)]
    assert offenders == [], f"{name} is Keras Tuner's: go through {COMPAT} ({offenders})"


def _keras_tuner_private_names(tmp_path: Path) -> set[str]:
    """Every `_name` Keras Tuner defines on the classes ktrun subclasses, or sets on their instances."""
    classes = [
        kt.oracles.RandomSearchOracle,
        kt.oracles.BayesianOptimizationOracle,
        kt.oracles.HyperbandOracle,
        kt.Hyperband,
        kt.HyperModel,
        kt_compat.SaveBestEpoch,
        kt_compat.TunerCallback,
    ]
    names: set[str] = set()
    for cls in classes:
        for klass in cls.__mro__:
            if klass.__module__.startswith("keras_tuner"):
                names.update(vars(klass))

    class Hooked(kt_compat.TunerHooks, kt.Tuner):
        pass

    oracle = _oracle(kt.oracles.BayesianOptimizationOracle)
    tuner = Hooked(oracle=oracle, hypermodel=_HyperModel(), directory=str(tmp_path), project_name="p")
    names.update(vars(oracle), vars(tuner))
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def _private_names_used(text: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def test_no_runtime_private_name_touches_or_shadows_one_of_keras_tuners(tmp_path: Path) -> None:
    """A ktrun method named like a Keras Tuner private (today's or a new release's) overrides it
    silently; a read of one bypasses the compat module. Both fail here, by name."""
    theirs = _keras_tuner_private_names(tmp_path)
    clashes = {
        rel: sorted(_private_names_used(text) & theirs)
        for rel, text in _ktrun_sources()
        if rel.startswith("ktrun/runtime/")
    }
    assert {rel: names for rel, names in clashes.items() if names} == {}


def test_the_scans_see_a_use(tmp_path: Path) -> None:
    """The scans above are not vacuous: they find the uses the compat module makes."""
    text = (REPO / COMPAT).read_text(encoding="utf-8")
    assert "keras_tuner.src" in text
    used = _private_names_used(text) & _keras_tuner_private_names(tmp_path)
    assert {"_tried_so_far", "_random_values", "_save_trial", "_populate_initial_space"} <= used
