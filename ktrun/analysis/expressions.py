"""Constraint and bound expressions (`units_2 <= units_1`, `units_1 // 2`), parsed safely: never
`eval` of user text.

Python's own parser builds a syntax tree (parsing runs no code); every node is checked against a
small allowlist and compiled into closures. Anything else (attributes, calls other than
min/max/abs, subscripts, lambdas, `**`) is refused with the column where it starts.

Arithmetic is on numbers and booleans only, and a list may only follow `in`: `'x' * units` or
`[units] * 10**6` would otherwise build values as large as the numbers they meet, so an
expression's cost is bounded by its length whatever values the hyperparameters take.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Value = int | float | str | bool
Env = Mapping[str, Value]
Fn = Callable[[Env], object]

MAX_LENGTH = 1000
FUNCTIONS: dict[str, Callable[..., object]] = {"min": min, "max": max, "abs": abs}
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "True", "False", *FUNCTIONS})

_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_ALLOWED_HINT = (
    "allowed: hyperparameter names, numbers, 'strings', true/false, + - * / // %, "
    "comparisons (< <= > >= == != in), and/or/not, min(), max(), abs()"
)


class ExprError(ValueError):
    """A constraint that cannot be parsed; `column` is 1-based within the expression."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


class EvalError(ArithmeticError):
    """Evaluation failed for one point (division by zero, comparing a name with a number)."""


@dataclass(frozen=True)
class Expr:
    """A parsed constraint: its text, the names it uses and a compiled evaluator."""

    text: str
    names: frozenset[str]
    _fn: Fn

    def evaluate(self, env: Env) -> bool:
        return bool(self.value(env))

    def value(self, env: Env) -> object:
        """The expression's value (a bound's number; a constraint's truth)."""
        try:
            return self._fn(env)
        except (ArithmeticError, TypeError, ValueError) as e:
            raise EvalError(f"{type(e).__name__}: {e}") from None

    def value_or_none(self, env: Env) -> object:
        """The value, or None for a point it cannot be evaluated at (an argument that has none)."""
        try:
            return self._fn(env)
        except (ArithmeticError, TypeError, ValueError):
            return None


@functools.lru_cache(maxsize=4096)
def parse_cached(text: str) -> Expr | None:
    """An argument's expression, parsed once (None: it does not parse; checks report why)."""
    try:
        return parse(text)
    except ExprError:
        return None


def parse(text: str) -> Expr:
    if not isinstance(text, str) or not text.strip():
        raise ExprError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"the expression is {len(text)} characters long (at most {MAX_LENGTH})")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise ExprError(f"not a valid expression: {e.msg}", e.offset) from None
    except (ValueError, RecursionError, MemoryError) as e:
        raise ExprError(f"not a valid expression: {type(e).__name__}") from None
    names: set[str] = set()
    try:
        fn = _compile(tree.body, names)
    except RecursionError:
        raise ExprError("the expression is nested too deeply") from None
    return Expr(text.strip(), frozenset(names), fn)


def _refuse(node: ast.AST, what: str) -> ExprError:
    return ExprError(
        f"{what} is not allowed in an expression; {_ALLOWED_HINT}",
        getattr(node, "col_offset", -1) + 1,
    )


def _compile(node: ast.AST, names: set[str]) -> Fn:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool | int | float | str):
            return lambda env: value
        raise _refuse(node, f"the literal {value!r}")
    if isinstance(node, ast.Name):
        ident = node.id
        if ident in ("true", "True"):
            return lambda env: True
        if ident in ("false", "False"):
            return lambda env: False
        if ident in FUNCTIONS:
            raise _refuse(node, f"`{ident}` without a call")
        names.add(ident)
        return lambda env: env[ident]
    if isinstance(node, ast.UnaryOp):
        inner = _compile(node.operand, names)
        if isinstance(node.op, ast.Not):
            return lambda env: not inner(env)
        if isinstance(node.op, ast.USub):
            return lambda env: -_number(inner(env))
        if isinstance(node.op, ast.UAdd):
            return inner
        raise _refuse(node, "the operator ~")
    if isinstance(node, ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise _refuse(node, f"the operator {type(node.op).__name__}")
        for side in (node.left, node.right):
            if isinstance(side, ast.Constant) and isinstance(side.value, str):
                raise _refuse(side, "arithmetic on text")
        left, right = _compile(node.left, names), _compile(node.right, names)
        return lambda env: op(_number(left(env)), _number(right(env)))
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v, names) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda env: all(p(env) for p in parts)
        return lambda env: any(p(env) for p in parts)
    if isinstance(node, ast.Compare):
        return _compile_compare(node, names)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise _refuse(node, "this call")
        if node.keywords or not node.args or any(isinstance(a, ast.Starred) for a in node.args):
            raise _refuse(node, "this form of call")
        func = FUNCTIONS[node.func.id]
        args = [_compile(a, names) for a in node.args]
        return lambda env: func(*(_number(a(env)) for a in args))
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        raise _refuse(node, "a list outside `x in [...]`")
    raise _refuse(node, type(node).__name__)


def _number(value: object) -> int | float | bool:
    """Arithmetic operands: numbers and booleans, never text or sequences."""
    if isinstance(value, bool | int | float):
        return value
    raise TypeError(f"arithmetic needs numbers, got {type(value).__name__} {str(value)[:40]!r}")


def _items(node: ast.List | ast.Tuple | ast.Set, names: set[str]) -> Fn:
    """The list after `in`: plain values, not nested lists."""
    items = [_compile(e, names) for e in node.elts]
    return lambda env: tuple(i(env) for i in items)


def _compile_compare(node: ast.Compare, names: set[str]) -> Fn:
    terms = [_compile(node.left, names)]
    ops = []
    for op_node, right in zip(node.ops, node.comparators, strict=True):
        op = _CMPOPS.get(type(op_node))
        if op is None:
            raise _refuse(node, f"the comparison {type(op_node).__name__}")
        if isinstance(op_node, ast.In | ast.NotIn):
            if not isinstance(right, ast.List | ast.Tuple | ast.Set):
                raise _refuse(right, "`in` with something other than a [list]")
            terms.append(_items(right, names))
        else:
            terms.append(_compile(right, names))
        ops.append(op)

    def compare(env: Env) -> bool:
        values = [t(env) for t in terms]
        return all(op(values[i], values[i + 1]) for i, op in enumerate(ops))

    return compare
