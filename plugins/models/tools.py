"""Tools of the built-in ``chat`` agent: a bounded calculator and the current time.

The calculator evaluates arithmetic from the abstract syntax tree only (no ``eval``): numbers,
``+ - * / // % **`` and parentheses, with bounds on length, depth, exponents and magnitudes so a
model cannot make the worker compute ``9**9**9``.
"""

from __future__ import annotations

import ast
import math
import operator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from langchain_core.tools import tool

MAX_EXPRESSION = 200
MAX_NODES = 100
MAX_EXPONENT = 1000
MAX_MAGNITUDE = 1e100

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}


class CalculatorError(ValueError):
    """An expression the calculator refuses (not arithmetic, too large, division by zero)."""


def _bounded(value: float | int) -> float | int:
    if isinstance(value, complex):
        raise CalculatorError("the result is not a real number")
    if isinstance(value, float) and not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise CalculatorError("the result is too large")
    return value


def _evaluate(node: ast.AST) -> float | int:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return _bounded(node.value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > MAX_EXPONENT or (abs(left) > 1 and abs(right) > 330)):
            raise CalculatorError("the exponent is too large")
        try:
            return _bounded(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise CalculatorError("division by zero") from None
        except OverflowError:
            raise CalculatorError("the result is too large") from None
    raise CalculatorError("only numbers, + - * / // % ** and parentheses are allowed")


def calculate(expression: str) -> float | int:
    """The value of an arithmetic expression, or ``CalculatorError``."""
    if len(expression) > MAX_EXPRESSION:
        raise CalculatorError(f"the expression is longer than {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError:
        raise CalculatorError("not an arithmetic expression") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise CalculatorError("the expression is too complex")
    return _evaluate(tree)


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression such as "(2 + 3) * 4 / 7" exactly; use it for any arithmetic."""
    try:
        value = calculate(expression)
    except CalculatorError as exc:
        return f"error: {exc}"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return str(value)


@tool
def current_time(timezone: str = "UTC") -> str:
    """The current date and time (ISO 8601) in an IANA time zone such as "Europe/Rome"; default UTC."""
    try:
        zone = ZoneInfo(timezone) if timezone and timezone.upper() != "UTC" else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return f"error: unknown time zone {timezone!r}"
    return datetime.now(zone).isoformat(timespec="seconds")


CHAT_TOOLS = [calculator, current_time]
