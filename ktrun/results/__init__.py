"""Stage 7: a search's outcome → summary.json, trials.csv, report, plots, the terminal; sweeps."""
