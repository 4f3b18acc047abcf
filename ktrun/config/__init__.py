"""Stages 1–2: YAML → one composed config with provenance → the validated spec; the trust boundary."""
