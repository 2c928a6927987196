"""Tokens a run used, from the ``usage_metadata`` of the chat models' AIMessages."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import UsageMetadataCallbackHandler


class UsageRecorder(UsageMetadataCallbackHandler):
    """Passed in the run's ``config["callbacks"]``, so every chat model of the graph reports to it.

    It only needs ``on_llm_end``: every other kind of callback is declined, and the one it takes
    runs inline. LangChain otherwise hands each event of every node (chain start and end) to a
    thread of the executor, a thread hop per node for nothing.
    """

    run_inline = True

    @property
    def ignore_chain(self) -> bool:
        return True

    @property
    def ignore_agent(self) -> bool:
        return True

    @property
    def ignore_retriever(self) -> bool:
        return True

    @property
    def ignore_chat_model(self) -> bool:
        return True

    @property
    def ignore_retry(self) -> bool:
        return True

    @property
    def ignore_custom_event(self) -> bool:
        return True

    def summary(self) -> dict[str, Any] | None:
        by_model: dict[str, dict[str, Any]] = {name: dict(usage) for name, usage in self.usage_metadata.items()}
        if not by_model:
            return None
        return {
            "input_tokens": sum(int(usage.get("input_tokens", 0)) for usage in by_model.values()),
            "output_tokens": sum(int(usage.get("output_tokens", 0)) for usage in by_model.values()),
            "total_tokens": sum(int(usage.get("total_tokens", 0)) for usage in by_model.values()),
            "by_model": by_model,
        }
