"""The chat agent's tools: the bounded calculator and the clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vetrai.plugins.models.tools import CalculatorError, calculate, calculator, current_time
from vetrai.plugins.models.workflows import chunk_text


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("-4 ** 2", -16),
        ("7 // 2", 3),
        ("7 % 4", 3),
        ("2 ^ 10", 1024),
        ("1 / 4", 0.25),
    ],
)
def test_calculator_evaluates_arithmetic(expression, value):
    assert calculate(expression) == value


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('true')",
        "open('/etc/passwd')",
        "a + 1",
        "9 ** 9 ** 9",
        "10 ** 400",
        "1 / 0",
        "(-8) ** 0.5",
        "1 +" * 80 + "1",
        "[1, 2]",
        "1 if 1 else 2",
    ],
)
def test_calculator_refuses_anything_else(expression):
    with pytest.raises(CalculatorError):
        calculate(expression)


def test_the_tools_answer_as_text():
    assert calculator.invoke({"expression": "6 * 7"}) == "42"
    assert calculator.invoke({"expression": "1/0"}) == "error: division by zero"
    now = datetime.fromisoformat(current_time.invoke({}))
    assert now.tzinfo is not None and abs((now - datetime.now(UTC)).total_seconds()) < 3600
    assert current_time.invoke({"timezone": "Europe/Rome"}).endswith(("+01:00", "+02:00"))
    assert current_time.invoke({"timezone": "Mars/Olympus"}).startswith("error:")


def test_chunks_follow_paragraphs_and_cut_long_ones():
    text = "\n\n".join(["a " * 10, "b " * 10, "c " * 300])
    chunks = chunk_text(text, 100)
    assert all(len(chunk) <= 100 for chunk in chunks)
    assert chunks[0].startswith("a") and "b" in chunks[0]
    assert "".join(chunks).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")
