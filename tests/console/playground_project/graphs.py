"""The playground tests' graph: the LangGraph tests' chat graph, whose fake chat model streams a fixed reply."""

from tests.langgraph_server.project.graphs import chat

__all__ = ["chat"]
