"""Data as the checks see it (described, TF-free) and as a run loads it."""
