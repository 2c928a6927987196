"""The two graphs every system in bench/anchors.py serves: a one-node echo and a sleep.

They mirror VetrAI's built-in ``echo`` and ``sleep`` workflow templates (one node each, no
model calls), so the anchors and VetrAI run the same work.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph


class EchoState(TypedDict, total=False):
    message: Any
    echo: Any


async def _echo(state: EchoState) -> dict[str, Any]:
    return {"echo": state.get("message")}


class SleepState(TypedDict, total=False):
    seconds: float
    done: bool


async def _sleep(state: SleepState) -> dict[str, Any]:
    await asyncio.sleep(float(state.get("seconds", 1.0)))
    return {"done": True}


def _compile(name: str, state: type, node: Any) -> Any:
    graph = StateGraph(state)
    graph.add_node(name, node)
    graph.add_edge(START, name)
    graph.add_edge(name, END)
    return graph.compile()


echo = _compile("echo", EchoState, _echo)
sleep = _compile("sleep", SleepState, _sleep)
