"""Optuna's samplers as Keras Tuner oracles (`tuner.algorithm: tpe`, `cmaes`, `nsga2`), over ktrun's space.

Each proposal is one Optuna `ask`: the space is walked parents first, so a hyperparameter is
suggested only where its conditions (a `when`, a repetition beyond the repeat count) make it
active. ktrun's feasibility rules decide before anything trains: a rejected proposal is told to the
sampler as infeasible (to TPE a violated constraint, which it ranks below every feasible trial;
CMA-ES, which has no constraints, and NSGA-II, whose generations would fill with rejected points
that count as completed, are told it failed) and the next is asked for. NSGA-II is
told every objective of a multi-objective search (`objectives:`), the others the first alone.
The study lives in memory and is rebuilt from the trial files on resume, so it needs no storage
of its own. Optuna is imported only here, only when one of these algorithms is chosen.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import keras_tuner as kt
from keras_tuner.engine.trial import TrialStatus

from ktrun.analysis.space import Space
from ktrun.analysis.values import _value_at, cardinality, literal_range
from ktrun.compiler.keras_model import searched_values
from ktrun.runtime import kt_compat
from ktrun.runtime.oracles import RUNNING, FeasibleMixin
from ktrun.spec.hyperparameters import BooleanHp, ChoiceHp, FixedHp, FloatHp, Hyperparameter, IntHp
from ktrun.spec.refs import Scalar

#: The constraint name a rejected proposal is told with (positive: violated).
INFEASIBLE = "ktrun_feasible"


class Encoding:
    """One hyperparameter as an Optuna distribution, and its values to and from Optuna's.

    Stepped ranges (linear, or a log/reverse-log factor) are the index of the value, so Optuna's
    ordinal model sees them evenly spaced in their own scale; continuous ones are themselves.
    """

    def __init__(self, decl: Hyperparameter) -> None:
        import optuna.distributions as od

        self.decl = decl
        self.indexed = False
        if isinstance(decl, ChoiceHp | BooleanHp):
            choices = list(decl.values) if isinstance(decl, ChoiceHp) else [False, True]
            self.distribution: Any = od.CategoricalDistribution(choices)
            return
        assert isinstance(decl, IntHp | FloatHp)
        lo, hi = literal_range(decl)
        n = cardinality(decl)
        stepped = decl.step is not None and n is not None
        if stepped or (isinstance(decl, IntHp) and decl.sampling == "reverse_log"):
            self.indexed = True
            self.distribution = od.IntDistribution(0, max(0, (n or 1) - 1))
        elif isinstance(decl, IntHp):
            self.distribution = od.IntDistribution(int(lo), int(hi), log=decl.sampling == "log")
        else:
            self.distribution = od.FloatDistribution(float(lo), float(hi), log=decl.sampling == "log")

    def decode(self, internal: Any) -> Scalar:
        if self.indexed:
            assert isinstance(self.decl, IntHp | FloatHp)
            return _value_at(self.decl, int(internal))
        return internal  # type: ignore[no-any-return]

    def encode(self, value: Scalar) -> Any:
        """Optuna's value for a value Keras Tuner recorded (a resumed trial's)."""
        if not self.indexed:
            return value
        decl = self.decl
        assert isinstance(decl, IntHp | FloatHp) and isinstance(value, int | float)
        (lo, hi), step = literal_range(decl), decl.step or 1
        if decl.sampling == "linear" or decl.step is None:
            i = (value - lo) / step
        elif decl.sampling == "log":
            i = math.log(value / lo) / math.log(step)
        else:
            i = math.log((hi + lo - value) / lo) / math.log(step)
        return min(max(round(i), self.distribution.low), self.distribution.high)


class OptunaOracle(FeasibleMixin, kt.Oracle):
    """Proposals from an Optuna sampler; results told back as each trial ends."""

    #: The Optuna sampler's name in `ktrun.algorithms` (set by each subclass).
    ktrun_sampler: str = ""
    #: Samplers that are told every objective (the others are told Keras Tuner's score).
    MULTI_OBJECTIVE = frozenset({"nsga2"})

    def __init__(self, *args: Any, ktrun_settings: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ktrun_settings = ktrun_settings
        self._ktrun_study: Any = None
        self._ktrun_asked: dict[str, Any] = {}  # Keras Tuner trial id → the Optuna trial in flight
        self._ktrun_encodings: dict[str, Encoding] = {}

    # ------------------------------------------------------------ the study

    def _encoding(self, name: str) -> Encoding:
        if name not in self._ktrun_encodings:
            self._ktrun_encodings[name] = Encoding(self.ktrun_space.params[name].decl)
        return self._ktrun_encodings[name]

    def _study(self) -> Any:
        """The study, built on first use from every trial that has ended (a resume's included)."""
        if self._ktrun_study is not None:
            return self._ktrun_study
        import optuna

        # Optuna logs each trial, and that CMA-ES samples choices independently (documented).
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        seed = kt_compat.next_seed(self)
        s = self.ktrun_settings
        directions: list[Literal["maximize", "minimize"]] = [
            "maximize" if d == "max" else "minimize" for d in self._directions()
        ]
        with warnings.catch_warnings():  # TPE's `group` is experimental in Optuna: chosen on purpose
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if self.ktrun_sampler == "tpe":
                sampler: Any = optuna.samplers.TPESampler(
                    n_startup_trials=s.n_startup_trials,
                    multivariate=s.multivariate,
                    group=s.multivariate,  # conditional spaces: model what is active together
                    seed=seed,
                )
            elif self.ktrun_sampler == "nsga2":
                sampler = optuna.samplers.NSGAIISampler(
                    population_size=s.population_size,
                    crossover_prob=s.crossover_prob,
                    mutation_prob=s.mutation_prob,
                    seed=seed,
                )
            else:
                sampler = optuna.samplers.CmaEsSampler(n_startup_trials=s.n_startup_trials, seed=seed)
            self._ktrun_study = optuna.create_study(directions=directions, sampler=sampler)
        for trial_id in self.end_order:
            self._tell(self.trials[trial_id], None)
        for told in self.ktrun_history:  # `tuner.warm_start.search`: learnt from, never trained
            self._add(told.values, list(told.objectives[: len(directions)]), optuna.trial.TrialState.COMPLETE)
        return self._ktrun_study

    def _directions(self) -> tuple[str, ...]:
        if self.ktrun_sampler in self.MULTI_OBJECTIVE and self.ktrun_directions:
            return self.ktrun_directions
        return (self.objective.direction,)

    def _values(self, trial: Any) -> list[float] | None:
        """What the study is told of a completed trial: a value per objective (None: failed)."""
        if trial.status != TrialStatus.COMPLETED:
            return None
        many = self.ktrun_sampler in self.MULTI_OBJECTIVE and self.ktrun_objective_values is not None
        found = self.ktrun_objective_values(trial) if many else [trial.score]  # type: ignore[misc]
        values = [float(v) for v in found if isinstance(v, int | float) and math.isfinite(v)]
        return values if len(values) == len(found) == len(self._directions()) else None

    def _suggest(self, asked: Any) -> dict[str, Scalar]:
        space: Space = self.ktrun_space
        point: dict[str, Scalar] = {}
        for name in space.order:
            if not space.is_active(name, point):
                continue
            decl = space.params[name].decl
            if isinstance(decl, FixedHp):
                point[name] = decl.value
                continue
            enc = self._encoding(name)
            point[name] = enc.decode(_ask(asked, name, enc.distribution))
        return point

    def _tell(self, trial: Any, asked: Any) -> None:
        """What became of a Keras Tuner trial: its score, or that it failed (an ask of this run,
        or, for a resumed or retried trial, a trial added with its values)."""
        import optuna

        study = self._ktrun_study
        if trial.trial_id in self.ktrun_pruned and asked is not None:  # TPE ranks it below the completed
            study.tell(asked, state=optuna.trial.TrialState.PRUNED)
            return
        value = self._values(trial)
        if asked is not None:
            if value is not None:
                study.tell(asked, value)
            else:
                study.tell(asked, state=optuna.trial.TrialState.FAIL)
            return
        state = optuna.trial.TrialState.COMPLETE if value is not None else optuna.trial.TrialState.FAIL
        if trial.trial_id in self.ktrun_pruned:
            state, value = optuna.trial.TrialState.PRUNED, None
        self._add(searched_values(trial.hyperparameters), value, state)

    def _add(self, point: dict[str, Scalar], values: list[float] | None, state: Any) -> None:
        """A trial the study did not ask for (a resumed one, an earlier search's), with its point."""
        import optuna

        params, distributions = {}, {}
        for name, given in point.items():
            if name not in self.ktrun_space.params or isinstance(self.ktrun_space.params[name].decl, FixedHp):
                continue
            enc = self._encoding(name)
            params[name], distributions[name] = enc.encode(given), enc.distribution
        self._ktrun_study.add_trial(
            optuna.trial.create_trial(params=params, distributions=distributions, values=values, state=state)
        )

    def _tell_infeasible(self, asked: Any) -> None:
        import optuna

        if self.ktrun_sampler == "tpe":  # ranked below every feasible trial; its value is never read
            asked.set_constraint(INFEASIBLE, 1.0)
            self._ktrun_study.tell(asked, 0.0)
        else:  # NSGA-II counts every completed trial into its generation: only trained ones should be
            self._ktrun_study.tell(asked, state=optuna.trial.TrialState.FAIL)

    # ------------------------------------------------------------ Keras Tuner's oracle protocol

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        import optuna

        study = self._study()
        queued = self.ktrun_queued()
        if queued is not None:  # told to the study as history when it ends
            return queued
        for _ in range(self.ktrun_max_attempts):
            asked = study.ask()
            values = self.ktrun_for_keras_tuner(self._suggest(asked))
            if kt_compat.was_tried(self, values):  # already trained: nothing to learn twice
                study.tell(asked, state=optuna.trial.TrialState.FAIL)
                continue
            if self.ktrun_reject(values):
                self._tell_infeasible(asked)
                continue
            self._ktrun_asked[trial_id] = asked
            return {"status": RUNNING, "values": values}
        return self.ktrun_random_response()  # the sampler keeps missing: the checker's own search

    def end_trial(self, trial: Any) -> None:
        super().end_trial(trial)
        if self._ktrun_study is not None:
            self._tell(trial, self._ktrun_asked.pop(trial.trial_id, None))


def _ask(asked: Any, name: str, distribution: Any) -> Any:
    """`suggest_*` for a distribution (Optuna's public way to sample one)."""
    import optuna.distributions as od

    if isinstance(distribution, od.CategoricalDistribution):
        return asked.suggest_categorical(name, list(distribution.choices))
    if isinstance(distribution, od.IntDistribution):
        return asked.suggest_int(name, distribution.low, distribution.high, log=distribution.log)
    return asked.suggest_float(name, distribution.low, distribution.high, log=distribution.log)


class TpeOracle(OptunaOracle):
    ktrun_sampler = "tpe"


class CmaEsOracle(OptunaOracle):
    ktrun_sampler = "cmaes"


class Nsga2Oracle(OptunaOracle):
    ktrun_sampler = "nsga2"


#: By `tuner.algorithm` (read by `oracles.oracle_class`, which imports this module only for them).
ORACLES: dict[str, type[FeasibleMixin]] = {"tpe": TpeOracle, "cmaes": CmaEsOracle, "nsga2": Nsga2Oracle}
