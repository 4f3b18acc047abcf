"""Stages 4–5: a checked spec → a plan (TF-free) → Keras models (the builder)."""
