"""An example workflow package: ``pip install`` it and its workflows appear in VetrAI.

Each entry point (group ``vetrai.workflows``) names a factory returning a ``WorkflowSpec``;
nothing else is needed. ``word_count`` is a straight pipeline; ``expense_approval`` routes
with a conditional edge and waits for a person with ``interrupt()``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, Field

from vetrai.engine.spec import WorkflowSpec


class WordCountInput(BaseModel):
    text: str = Field(min_length=1, max_length=1_000_000, description="Text to count.")
    top: int = Field(3, ge=1, le=100, description="How many most common words to return.")


class WordCountOutput(BaseModel):
    words: int
    distinct: int
    top: list[tuple[str, int]]


class WordCountState(TypedDict, total=False):
    text: str
    top: int
    tokens: list[str]
    words: int
    distinct: int
    common: list[list[Any]]


def tokenize(state: WordCountState) -> dict[str, Any]:
    return {"tokens": [token.lower() for token in re.findall(r"\w+", state["text"])]}


def count(state: WordCountState) -> dict[str, Any]:
    counts = Counter(state["tokens"])
    return {
        "words": len(state["tokens"]),
        "distinct": len(counts),
        "common": [[word, n] for word, n in counts.most_common(state["top"])],
    }


def build() -> StateGraph:
    graph = StateGraph(WordCountState)
    graph.add_node("tokenize", tokenize)
    graph.add_node("count", count)
    graph.add_edge(START, "tokenize")
    graph.add_edge("tokenize", "count")
    graph.add_edge("count", END)
    return graph


def word_count() -> WorkflowSpec:
    return WorkflowSpec(
        name="word_count",
        version="0.1.0",
        description="Counts the words of a text and lists the most common ones (example package).",
        input_model=WordCountInput,
        output_model=WordCountOutput,
        build=build,
        timeout_seconds=30,
        max_attempts=2,
        to_output=lambda state: {"words": state["words"], "distinct": state["distinct"], "top": state["common"]},
    )


class ExpenseInput(BaseModel):
    amount: float = Field(gt=0, le=1_000_000, description="Amount claimed.")
    description: str = Field(min_length=1, max_length=2000)
    auto_approve_below: float = Field(100, ge=0, description="Claims below this are approved without a person.")


class ExpenseDecision(BaseModel):
    approved: bool
    comment: str | None = Field(None, max_length=2000)


class ExpenseOutput(BaseModel):
    approved: bool
    decided_by: Literal["policy", "manager"]
    comment: str | None = None


class ExpenseState(TypedDict, total=False):
    amount: float
    description: str
    auto_approve_below: float
    approved: bool
    decided_by: str
    comment: str | None


def auto_approve(state: ExpenseState) -> dict[str, Any]:
    return {"approved": True, "decided_by": "policy", "comment": None}


def manager_review(state: ExpenseState) -> dict[str, Any]:
    # Runs again from its start on resume: nothing before interrupt() may have side effects.
    decision = interrupt({"amount": state["amount"], "description": state["description"]})
    return {"approved": bool(decision["approved"]), "decided_by": "manager", "comment": decision.get("comment")}


def route(state: ExpenseState) -> str:
    return "auto_approve" if state["amount"] < state["auto_approve_below"] else "manager_review"


def build_expense() -> StateGraph:
    graph = StateGraph(ExpenseState)
    graph.add_node("auto_approve", auto_approve)
    graph.add_node("manager_review", manager_review)
    graph.add_conditional_edges(START, route, ["auto_approve", "manager_review"])
    graph.add_edge("auto_approve", END)
    graph.add_edge("manager_review", END)
    return graph


def expense_approval() -> WorkflowSpec:
    return WorkflowSpec(
        name="expense_approval",
        version="0.1.0",
        description="Approves small expense claims by policy and asks a manager about the rest (example package).",
        input_model=ExpenseInput,
        output_model=ExpenseOutput,
        build=build_expense,
        timeout_seconds=60,
        max_attempts=1,
        resume_model=ExpenseDecision,
        to_output=lambda state: {
            "approved": state["approved"],
            "decided_by": state["decided_by"],
            "comment": state.get("comment"),
        },
    )
