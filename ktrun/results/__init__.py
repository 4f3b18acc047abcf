"""Stage 7: a search's outcome → summary.json, trials.csv, report, plots, the terminal; sweeps."""

SUMMARY_JSON = "summary.json"
TRIALS_CSV = "trials.csv"
REPORT_MD = "report.md"
BEST_YAML = "best_hparams.yaml"
