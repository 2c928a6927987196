"""An example workflow package: ``pip install`` it and ``word_count`` appears in VetrAI.

The entry point (group ``vetrai.workflows``) names ``word_count``, a factory returning a
``WorkflowSpec``; nothing else is needed.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
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
