"""`ktrun --help`: what ktrun is, its commands, the overrides people use most, where results go.

Plain text built from the config tree's directories (no Hydra, no Pydantic): the page must show
at once, and list the experiments and config groups this install really has.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

#: ktrun's own commands; anything else on the command line is the Hydra app (a run or a sweep).
SUBCOMMANDS: dict[str, str] = {
    "check": "check a config without TensorFlow: exit 0 when sound, 2 on problems",
    "plan": "the checked search as Markdown for a pull request (--base REF: the diff)",
    "schema": "write the JSON schemas to schemas/ (--check: are they current?)",
    "help": "this page; `ktrun help check`: a command's own options",
}


def version() -> str:
    """The installed distribution's version; the package's own when ktrun runs from a checkout
    that was never installed."""
    try:
        return metadata.version("ktrun")
    except metadata.PackageNotFoundError:
        from ktrun import __version__

        return f"{__version__} (not installed)"


def _options(config_dir: Path) -> tuple[list[str], dict[str, list[str]]]:
    """The experiments (`+experiment=` names) and each config group's options."""
    groups: dict[str, list[str]] = {}
    experiments: list[str] = []
    if not config_dir.is_dir():
        return experiments, groups
    for group in sorted(p for p in config_dir.iterdir() if p.is_dir()):
        names = sorted(str(f.relative_to(group).with_suffix("")) for f in group.rglob("*.yaml"))
        if group.name == "experiment":
            experiments = names
        elif names:
            groups[group.name] = names
    return experiments, groups


def help_page(config_dir: Path) -> str:
    experiments, groups = _options(config_dir)
    commands = "\n".join(f"  {'ktrun ' + name + ' ...':<24} {what}" for name, what in SUBCOMMANDS.items())
    group_lines = "\n".join(f"  {name}={'|'.join(opts)}" for name, opts in groups.items())
    return f"""\
ktrun {version()}: a declarative, YAML-driven runner for Keras Tuner. A search is described in
YAML, checked before TensorFlow starts, and run through Hydra.

Usage:
  ktrun [OVERRIDES]        run a search: the default one, or +experiment=NAME
  ktrun -m [OVERRIDES]     a sweep: one search per combination of comma-separated values
{commands}

Common overrides:
  +experiment=NAME             an experiment: conf/experiment/NAME.yaml, or one under --config-dir
  tuner=NAME                   the search algorithm (a config group, below)
  fit.epochs=3                 any key of the config (+data.limit=2000: a key not in it)
  +pin.NAME=VALUE              fix one hyperparameter of the space
  -m tuner=random,bayesian     a sweep (add hydra/launcher=joblib to run its jobs in parallel)
  --config-dir DIR             your own config tree (DIR/experiment/*.yaml), searched first

Experiments: {", ".join(experiments) or "(none)"}
Config groups:
{group_lines}

Options:
  --version                    ktrun's version
  --verbose                    keep TensorFlow's own start-up messages (also with fit.verbose=1)
  --cfg job                    print the composed config instead of running
  -sc install=bash             shell completion (bash, zsh or fish): eval "$(ktrun -sc install=bash)"
  --hydra-help                 Hydra's own flags and override grammar (+key, ~key, key=a,b,c)

Results: a run writes report.md, summary.json, trials.csv, best_hparams.yaml, best_model.keras and
plots to outputs/<experiment.name>/<date>_<time>/ (a sweep: multirun/<date>_<time>/<job>/, with
sweep_summary.*). The search state is in tuner.state_dir (outputs/tuner_state/): re-running the
same command resumes the search.
"""
