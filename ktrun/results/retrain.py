"""The command that retrains the best trial: the run's own overrides plus `+pin.NAME=VALUE` for
each of its values, quoted so that Hydra reads every value back as what it was."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from ktrun.config.compose import searchpath_override
from ktrun.results.trials import search_hparams
from ktrun.runtime.outcome import SearchOutcome, TrialRecord
from ktrun.spec.refs import Scalar


def retrain_command(outcome: SearchOutcome, best: TrialRecord | None = None) -> str | None:
    """The shell command that retrains the best trial: the same config directories, the
    experiment's overrides, and one pin per hyperparameter.

    Earlier `pin.*` and `tuner.max_trials` overrides are dropped (Hydra refuses a second `+pin.x`);
    a trial an out-of-memory retry halved trains at the batch size that fitted.
    """
    best = best if best is not None else outcome.best()
    if best is None:
        return None
    dropped = {"tuner.max_trials"} | ({"fit.batch_size"} if best.batch_size is not None else set())
    kept = [o for o in outcome.overrides if _override_key(o) not in dropped]
    kept = [o for o in kept if not (_override_key(o) + ".").startswith("pin.")]
    pins = [f"+pin.{k}={_hydra_value(v)}" for k, v in search_hparams(outcome, best).items()]
    if best.batch_size is not None:  # it ran out of memory at the configured size
        pins.append(f"fit.batch_size={best.batch_size}")
    where: list[str] = []
    if outcome.config_dirs:
        first, *more = outcome.config_dirs
        where = ["--config-dir", first, *searchpath_override([Path(d) for d in more])]
    return " ".join(shlex.quote(arg) for arg in ["ktrun", *where, *kept, *pins, "tuner.max_trials=1"])


_OVERRIDE_KEY = re.compile(r"^[~+]*([^=]*)")


#: Strings Hydra would read back as another type if left unquoted.
_HYDRA_WORDS = {"true", "false", "null", "nan", "inf", "+inf", "-inf", "+nan", "-nan"}


_HYDRA_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-./]*")


def _override_key(override: str) -> str:
    match = _OVERRIDE_KEY.match(override.strip())
    return match.group(1).strip() if match else ""


def _hydra_value(value: Scalar) -> str:
    """A value written so Hydra's override parser reads back the same type and value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if _HYDRA_PLAIN.fullmatch(value) and value.lower() not in _HYDRA_WORDS:
        return value
    # inside quotes Hydra unescapes only backslashes that precede a quote (or the closing quote)
    return '"' + re.sub(r'(\\*)("|$)', _escape_quote, value) + '"'


def _escape_quote(match: re.Match[str]) -> str:
    backslashes, quote = match.groups()
    return backslashes * 2 + ("\\" + quote if quote else "")
