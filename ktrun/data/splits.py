"""The sizes of the test and validation splits, and the problem when one is left without rows.

No numpy: `ktrun check` sizes the splits of a built-in data set from its known row count.
"""

from __future__ import annotations

from ktrun import problems as pb
from ktrun.problems import Problem
from ktrun.spec.experiment import DataSpec


def row_count(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def split_problems(n: int, used: int, data: DataSpec) -> list[Problem]:
    """`data-too-small`: a split left without rows (named by the setting that emptied it)."""
    n_test, n_val = split_sizes(used, data)
    problems: list[Problem] = []
    plain_val = split_sizes(used, data.model_copy(update={"test_split": 0.0}))[1]
    plain_fails = used == 0 or (data.validation_split > 0 and plain_val in (0, used))
    if (
        not plain_fails  # else: too small without a test split too
        and data.test_split > 0
        and (n_test in (0, used) or (data.validation_split > 0 and n_val in (0, used - n_test)))
    ):
        problems.append(
            pb.error(
                "data-too-small",
                ("data", "test_split"),
                f"{row_count(used)} with test_split {data.test_split} leave {n_test} for the test "
                f"split, {n_val} for validation and {used - n_test - n_val} for training",
                "use a test_split that leaves rows for the test, validation and training splits, "
                "or more rows (raise data.limit)",
            )
        )
    if plain_fails:
        problems.append(
            pb.error(
                "data-too-small",
                ("data", "limit")
                if data.limit is not None and data.limit < n
                else ("data", "validation_split"),
                "there are no rows"
                if used == 0
                else f"{row_count(used)} with validation_split {data.validation_split} leave "
                f"{used - plain_val} for training and {plain_val} for validation",
                "use more rows (raise data.limit), or set data.validation_split=0 to validate on nothing",
            )
        )
    return problems


def split_sizes(used: int, data: DataSpec) -> tuple[int, int]:
    """Rows of the test split (held out first) and of the validation split (from the rest)."""
    n_test = round(used * data.test_split) if data.test_split > 0 else 0
    rest = used - n_test
    return n_test, round(rest * data.validation_split) if data.validation_split > 0 else 0
