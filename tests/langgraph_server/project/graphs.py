"""Graphs written for langgraph.json with no VetrAI import: the LangGraph API tests serve them
through VETRAI_LANGGRAPH_CONFIG, and compare_reference.py serves them with `langgraph dev`."""

from __future__ import annotations

import asyncio
import itertools
import operator
from typing import Annotated, Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict

REPLY = "hello there friend"


def _model() -> GenericFakeChatModel:
    usage = {"input_tokens": 3, "output_tokens": 3, "total_tokens": 6}
    message = AIMessage(content=REPLY, usage_metadata=usage, response_metadata={"model_name": "fake-chat"})
    return GenericFakeChatModel(messages=itertools.cycle([message]))


async def respond(state: MessagesState) -> dict[str, Any]:
    """A chat model that streams its reply word by word (no network)."""
    return {"messages": [await _model().ainvoke(state["messages"])]}


_chat = StateGraph(MessagesState)
_chat.add_node("respond", respond)
_chat.add_edge(START, "respond")
_chat.add_edge("respond", END)
chat = _chat.compile()


class CounterState(TypedDict, total=False):
    count: int
    seen: Annotated[list[str], operator.add]


def increment(state: CounterState) -> dict[str, Any]:
    return {"count": state.get("count", 0) + 1, "seen": ["increment"]}


_counter = StateGraph(CounterState)
_counter.add_node("increment", increment)
_counter.add_edge(START, "increment")
_counter.add_edge("increment", END)
counter = _counter  # uncompiled: the server compiles it


def make_counter() -> Any:
    """A factory, as langgraph.json allows."""
    return _counter.compile()


class AskState(TypedDict, total=False):
    question: str
    answer: str


def ask_person(state: AskState) -> dict[str, Any]:
    answer = interrupt({"question": state.get("question", "?")})
    return {"answer": str(answer)}


_ask = StateGraph(AskState)
_ask.add_node("ask_person", ask_person)
_ask.add_edge(START, "ask_person")
_ask.add_edge("ask_person", END)
ask = _ask.compile()


class SlowState(TypedDict, total=False):
    seconds: float
    done: bool


async def nap(state: SlowState) -> dict[str, Any]:
    await asyncio.sleep(state.get("seconds", 1.0))
    return {"done": True}


_slow = StateGraph(SlowState)
_slow.add_node("nap", nap)
_slow.add_edge(START, "nap")
_slow.add_edge("nap", END)
slow = _slow.compile()


class InnerState(TypedDict, total=False):
    count: int


def inner_step(state: InnerState) -> dict[str, Any]:
    return {"count": state.get("count", 0) * 10}


_inner = StateGraph(InnerState)
_inner.add_node("inner_step", inner_step)
_inner.add_edge(START, "inner_step")
_inner.add_edge("inner_step", END)

_nested = StateGraph(InnerState)
_nested.add_node("child", _inner.compile())
_nested.add_edge(START, "child")
_nested.add_edge("child", END)
nested = _nested.compile()
