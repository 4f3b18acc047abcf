"""Every use of Keras Tuner's internals, in one place, each pinned by `tests/contracts/test_kt_compat.py`.

For keras-tuner >= 1.4.7, < 1.5 (the range pyproject.toml allows; written against 1.4.8). An
upgrade past it must pass the contract tests, which fail by name on anything that moved, was
renamed or changed its signature or behaviour.

Why ktrun needs internals at all: Keras Tuner has no public hook for where an oracle samples
(ktrun rejects infeasible points there), how it writes its state (ktrun writes atomically), or
what it remembers as tried (ktrun marks rejected points, and rebuilds a damaged oracle.json from
the trial files). Everything public is used as is, elsewhere: `keras_tuner.Oracle`,
`keras_tuner.Tuner`, `keras_tuner.HyperModel` (`build`, `fit`, `declare_hyperparameters`),
`populate_space`, `get_state`/`set_state`, `keras_tuner.engine.trial` (Trial, TrialStatus),
`keras_tuner.oracles` (the built-in oracles) and `keras_tuner.errors`.

What is here, and why each use is safe in the range above:

- Private modules: `tuner_utils.SaveBestEpoch` / `TunerCallback` (the callbacks `Tuner.run_trial`
  adds to every fit; ktrun swaps the checkpoint for one kept in memory), `convert_to_metrics_dict`
  and `get_best_step` (the trial's metrics and best epoch exactly as Keras Tuner records them,
  for the journal), `config.DEBUG`
  (Keras Tuner prints every failed trial's traceback unless it is off), and the chief's gRPC
  service (`protos`, `oracle_chief.OracleServicer`: its `start_server` polls every 20 s).
- `applications.efficientnet.EFFICIENTNET_MODELS`: the constructors `HyperEfficientNet.build`
  looks up, swapped during a build for the same ones without a download (random weights, or
  ImageNet's loaded by path from Keras' cache).
- Private oracle state, read and written through the small functions below (`values_hash`,
  `mark_tried`, `next_seed`, `retry_queue`, ...): the same fields `Oracle.get_state` saves to
  oracle.json under public names, so their meaning is part of Keras Tuner's file format.
- Private hooks, overridden only in the classes here, each forwarding to a ktrun-named method:
  `OracleHooks` (`_random_values`, `_save_trial`), `TunerHooks` (`_populate_initial_space`),
  `SaveBestEpochHook` (`_save_model`), and `HyperbandTuner` (skips `Hyperband.__init__`).

`keras_tuner.synchronized` is public but untyped; `synchronized` below is the typed spelling.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

import keras_tuner as kt
from keras_tuner.src import config as _kt_config
from keras_tuner.src.applications import efficientnet as _efficientnet
from keras_tuner.src.engine import tuner_utils as _tuner_utils

#: The Keras Tuner versions this module was checked against: from the first, up to (not
#: including) the second. The contract tests fail outside it, so an upgrade is reviewed here.
SUPPORTED: tuple[tuple[int, ...], tuple[int, ...]] = ((1, 4, 7), (1, 5))

F = TypeVar("F", bound=Callable[..., Any])


#: Makes HyperEfficientNet's constructor for a version ("B0") from Keras' (which it wraps).
Swap = Callable[[str, Callable[..., Any]], Callable[..., Any]]


@contextlib.contextmanager
def efficientnets(swap: Swap) -> Iterator[None]:
    """`HyperEfficientNet.build` makes its `keras.applications` EfficientNet with
    `weights="imagenet"`, which downloads them; a ktrun run never downloads. Its module's table of
    constructors (`EFFICIENTNET_MODELS`, private) is swapped, for this build, for `swap(version,
    constructor)`: the same network, randomly initialised or loaded from a cached file by path."""
    table: dict[str, Any] = _efficientnet.EFFICIENTNET_MODELS
    saved = dict(table)
    table.update({k: swap(k, make) for k, make in saved.items()})
    try:
        yield
    finally:
        table.update(saved)


def efficientnets_without_download() -> contextlib.AbstractContextManager[None]:
    """`efficientnets` at `weights=None`: the network HyperEfficientNet builds, randomly initialised."""
    return efficientnets(lambda version, make: functools.partial(make, weights=None))


#: `Tuner.run_trial` adds one to every fit: it writes the best epoch's weights to `filepath`.
SaveBestEpoch: type[Any] = _tuner_utils.SaveBestEpoch
#: `Tuner.run_trial` adds one to every fit: it forwards epoch and batch hooks to the tuner.
TunerCallback: type[Any] = _tuner_utils.TunerCallback


def synchronized(method: F) -> F:
    """`keras_tuner.synchronized`, typed and keeping the method's name and docstring.

    The chief serves workers from a gRPC thread: an override of `create_trial` / `end_trial`
    must hold the oracle's lock as Keras Tuner's own do. The lock is re-entrant per thread, so
    the override's `super()` call (decorated too) does not deadlock.
    """
    wrapped = kt.synchronized(method)
    functools.update_wrapper(wrapped, method)
    return cast(F, wrapped)


def set_debug(debug: bool) -> None:
    """Keras Tuner prints each failed trial's traceback while `config.DEBUG` is set (the default)."""
    _kt_config.DEBUG = debug


def convert_to_metrics_dict(results: Any, objective: Any) -> dict[str, Any]:
    """What `run_trial` returned, as the metrics Keras Tuner reports to the oracle and scores."""
    return cast(dict[str, Any], _tuner_utils.convert_to_metrics_dict(results, objective))


def best_step(results: Any, objective: Any) -> int:
    """The epoch index (0-based, of this fit) at which the objective was best, as Keras Tuner
    records it in `trial.best_step` (the mean over executions)."""
    return int(_tuner_utils.get_best_step(results, objective))


# ---------------------------------------------------------------------- oracle state and files


def project_dir(oracle: Any) -> Path:
    """The search's state directory, as the oracle knows it (created when missing)."""
    return Path(oracle._project_dir)


def oracle_file(oracle: Any) -> Path:
    """Where the oracle's state lives (`oracle.json`)."""
    return Path(oracle._get_oracle_fname())


def trial_file(oracle: Any, trial_id: str) -> Path:
    """Where a trial's state lives (`trial_<id>/trial.json`; the directory is created)."""
    return Path(oracle._get_trial_dir(trial_id)) / "trial.json"


def values_hash(oracle: Any, values: Mapping[str, Any]) -> str:
    """The key under which the oracle remembers a point as tried.

    Through the oracle, never recomputed: Hyperband's drops its `tuner/*` bookkeeping values.
    """
    return cast(str, oracle._compute_values_hash(values))


def was_tried(oracle: Any, values: Mapping[str, Any]) -> bool:
    """The oracle proposed `values` before (or ktrun marked them): Keras Tuner never repeats them."""
    return values_hash(oracle, values) in oracle._tried_so_far


def mark_tried(oracle: Any, values: Mapping[str, Any]) -> bool:
    """Keras Tuner's sampling skips `values` from now on; False when it already did."""
    key = values_hash(oracle, values)
    tried: set[str] = oracle._tried_so_far
    if key in tried:
        return False
    tried.add(key)
    return True


def next_seed(oracle: Any) -> int:
    """A fresh seed from the oracle's own stream (saved in oracle.json, so a resume goes on)."""
    seed = int(oracle._seed_state)
    oracle._seed_state = seed + 1
    return seed


def advance_seed(oracle: Any, n: int) -> None:
    """Skip `n` seeds (a rebuilt state must not replay the seeds its trials were drawn with)."""
    oracle._seed_state += n


def retry_queue(oracle: Any) -> list[str]:
    """The trial ids `create_trial` hands out again before any new trial (the live list)."""
    return cast(list[str], oracle._retry_queue)


def restore_trial(oracle: Any, trial_id: str, values: Mapping[str, Any]) -> None:
    """Record a trial known only from its file as `create_trial` + `end_trial` would have:
    its point tried, its hash known, run once."""
    key = values_hash(oracle, values)
    oracle._tried_so_far.add(key)
    oracle._id_to_hash[trial_id] = key
    oracle._run_times[trial_id] += 1


def tuner_file(tuner: Any) -> Path:
    """The tuner's own state file (`<project>/<tuner_id>.json`); Keras Tuner reloads the whole
    search only when it exists."""
    return Path(tuner._get_tuner_fname())


# ------------------------------------------------------------------------------- the hooks


class OracleHooks:
    """Keras Tuner's private oracle hooks, forwarded to ktrun-named methods.

    Put before a Keras Tuner oracle class in the bases. Overrides:

    - `_random_values()`: where every built-in oracle draws a point (RandomSearch's
      `populate_space`, Hyperband's new brackets, Bayesian optimisation's initial points);
      returns a dict of values, or None when no untried point was found. Forwarded to
      `ktrun_random_values()`; `kt_random_values()` is Keras Tuner's own uniform draw.
    - `_save_trial(trial)`: how `create_trial`, `update_trial` and `end_trial` write
      `trial.json` (in place, so a kill can tear it). Forwarded to `ktrun_save_trial(trial, path)`.
    """

    def kt_random_values(self) -> dict[str, Any] | None:
        """Keras Tuner's uniform draw of an untried point (None after too many collisions)."""
        return cast("dict[str, Any] | None", super()._random_values())  # type: ignore[misc]

    def ktrun_random_values(self) -> dict[str, Any] | None:
        return self.kt_random_values()

    def ktrun_save_trial(self, trial: Any, path: Path) -> None:
        super()._save_trial(trial)  # type: ignore[misc]

    def _random_values(self) -> dict[str, Any] | None:
        return self.ktrun_random_values()

    def _save_trial(self, trial: Any) -> None:
        self.ktrun_save_trial(trial, trial_file(self, trial.trial_id))


class TunerHooks:
    """Keras Tuner's private tuner hooks ktrun overrides. Put before a Keras Tuner tuner class.

    - `_populate_initial_space()`: `BaseTuner.__init__` calls it on a new search, to find the
      space by building the model once per conditional scope. ktrun declares the whole space
      on the oracle up front (from the spec), so it does nothing: no exploratory builds, and no
      user-code failure before the first trial.
    """

    def _populate_initial_space(self) -> None:
        """The oracle already holds the declared space: no exploratory model builds."""


class SaveBestEpochHook(_tuner_utils.SaveBestEpoch):
    """Keras Tuner's best-epoch checkpoint, with its write forwarded to `ktrun_on_best_epoch()`.

    Overrides `_save_model()`, which `on_epoch_end` calls at every improving epoch (Keras Tuner
    writes the weights to `filepath` there). Its `objective`, `filepath` and `best_value`
    (the best objective value so far) are set by `__init__(objective, filepath)`.
    """

    def ktrun_on_best_epoch(self) -> None:
        super()._save_model()

    def _save_model(self) -> None:
        self.ktrun_on_best_epoch()


class HyperbandTuner(kt.Hyperband):
    """Keras Tuner's Hyperband tuner around an oracle built elsewhere.

    `Hyperband.__init__` only builds a `HyperbandOracle` from its arguments and hands it to
    `Tuner.__init__`; ktrun builds its own oracle, so this calls `Tuner.__init__` directly. What
    Hyperband adds to a tuner stays: `run_trial` (epochs from the trial's `tuner/epochs`) and
    `_build_hypermodel` (loads the weights of the trial named in `tuner/trial_id`).
    """

    def __init__(self, oracle: Any, hypermodel: Any, **kwargs: Any) -> None:
        kt.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)


class OracleServer:
    """Keras Tuner's gRPC oracle service for workers, started on `address` ("ip:port").

    The servicer is Keras Tuner's own (`oracle_chief.OracleServicer`); only the wait for the end
    is ktrun's (see `ktrun.runtime.distributed.serve`).
    """

    def __init__(self, oracle: Any, address: str) -> None:
        from concurrent import futures

        import grpc
        from keras_tuner.src import protos
        from keras_tuner.src.distribute.oracle_chief import OracleServicer

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        self.servicer = OracleServicer(oracle)
        protos.get_service_grpc().add_OracleServicer_to_server(self.servicer, self.server)
        self.server.add_insecure_port(address)

    @property
    def stop_triggered(self) -> bool:
        """A worker was told to stop (the oracle answered a `create_trial` with STOPPED)."""
        return bool(self.servicer.stop_triggered)

    def start(self) -> None:
        self.server.start()

    def stop(self, grace: float = 1) -> None:
        self.server.stop(grace=grace)
