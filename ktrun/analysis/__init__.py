"""The static analysis of a search space (TF-free): domains, the space, expressions, shapes, feasibility."""
