"""Constraint expressions: parsed into closures, never evaluated as Python."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ktrun.analysis.expressions import EvalError, ExprError, parse


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("units_2 <= units_1", {"units_1": 64, "units_2": 32}, True),
        ("units_2 <= units_1", {"units_1": 32, "units_2": 64}, False),
        ("kernel_1 * 2 <= 28", {"kernel_1": 14}, True),
        ("kernel_1 * 2 <= 28", {"kernel_1": 15}, False),
        ("8 <= a < b", {"a": 8, "b": 9}, True),
        ("8 <= a < b", {"a": 9, "b": 9}, False),
        ("max(a, b) // 2 == 16", {"a": 32, "b": 7}, True),
        ("min(a, b) / 4 > 1.5", {"a": 8, "b": 7}, True),
        ("abs(a - b) % 3 == 1", {"a": 2, "b": 6}, True),
        ("not (opt == 'sgd' and lr > 0.1)", {"opt": "sgd", "lr": 0.5}, False),
        ("opt != 'sgd' or lr <= 0.1", {"opt": "adam", "lr": 0.5}, True),
        ("opt in ['adam', 'adamw']", {"opt": "adamw"}, True),
        ("opt not in ['adam', 'adamw']", {"opt": "adamw"}, False),
        ("bn == true", {"bn": True}, True),
        ("-a + +b == 0", {"a": 3, "b": 3}, True),
    ],
)
def test_evaluates(text: str, env: dict[str, object], expected: bool) -> None:
    assert parse(text).evaluate(env) is expected  # type: ignore[arg-type]


def test_names_exclude_keywords_and_functions() -> None:
    assert parse("max(a, b) <= c and d in [1, 2] and e == true").names == {"a", "b", "c", "d", "e"}


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "a.__class__",
        "open('x')",
        "a[0] < 1",
        "(lambda: 1)() == 1",
        "a ** 2 < 4",
        "[x for x in a]",
        "a if b else c",
        "a := 1",
        "f'{a}' == 'x'",
        "max",
        "a in b",
        "max(*a) > 1",
        "",
        "   ",
        "a <",
        "a" * 2000,
        "(" * 300 + "a" + ")" * 300,
        "x\x00 < 1",
    ],
)
def test_refuses(text: str) -> None:
    with pytest.raises(ExprError) as info:
        parse(text)
    assert info.value.message


def test_refusal_names_the_column() -> None:
    with pytest.raises(ExprError) as info:
        parse("units_1 < os.getpid()")
    assert info.value.column == 11


def test_division_by_zero_is_an_eval_error() -> None:
    with pytest.raises(EvalError):
        parse("a / b > 1").evaluate({"a": 1, "b": 0})


def test_comparing_a_name_with_a_number_is_an_eval_error() -> None:
    with pytest.raises(EvalError):
        parse("a < 3").evaluate({"a": "adam"})


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_random_text_never_executes(text: str) -> None:
    """Whatever the text, parsing either refuses it or yields names; nothing runs."""
    import builtins

    calls: list[str] = []
    real_import = builtins.__import__

    def spy(name: str, *args: object, **kwargs: object) -> object:
        if name != "unicodedata":  # the parser normalises non-ASCII names
            calls.append(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    builtins.__import__ = spy  # type: ignore[assignment]
    try:
        try:
            expr = parse(text)
        except ExprError:
            return
    finally:
        builtins.__import__ = real_import
    assert calls == []
    assert all(n.isidentifier() for n in expr.names)
