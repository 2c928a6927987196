"""The chat model streams through LangGraph's ``messages`` mode, multi-turn on a thread."""

from __future__ import annotations

from langchain_core.messages import AIMessageChunk
from langgraph.checkpoint.memory import InMemorySaver

from vetrai.plugins.models.models import Usage
from vetrai.plugins.models.workflows import chat

from .conftest import API_KEY


async def test_tokens_stream_before_the_run_ends_with_usage(make_user, add_provider, fake_openai):
    admin = await make_user(role="org_admin")
    await add_provider(admin)
    graph = chat().build().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "thread-1", "organization_id": admin.organization_id}}
    seen: list[tuple[str, object]] = []
    async for mode, chunk in graph.astream(
        {"messages": [{"role": "user", "content": "stream these words please"}]},
        config,
        stream_mode=["messages", "values"],
    ):
        seen.append((mode, chunk))
    tokens = [chunk[0] for mode, chunk in seen if mode == "messages" and isinstance(chunk[0], AIMessageChunk)]
    texts = [token.content for token in tokens if token.content]
    assert len(texts) > 3 and "".join(texts) == "Hello! You said: stream these words please"
    assert all(chunk[1]["langgraph_node"] == "agent" for mode, chunk in seen if mode == "messages")
    last_values = max(index for index, (mode, _chunk) in enumerate(seen) if mode == "values")
    first_token = min(index for index, (mode, _chunk) in enumerate(seen) if mode == "messages")
    assert first_token < last_values  # tokens arrive before the final state
    usage = [token.usage_metadata for token in tokens if token.usage_metadata]
    assert usage and usage[-1]["output_tokens"] == 7
    request = fake_openai.requests[-1]["body"]
    assert request["stream"] is True and request["stream_options"] == {"include_usage": True}
    [row] = await Usage.filter(organization_id=admin.organization.id)
    assert row.output_tokens == 7 and row.calls == 1


async def test_chat_is_multi_turn_on_a_thread(make_user, add_provider, fake_openai):
    admin = await make_user(role="org_admin")
    await add_provider(admin)
    graph = chat().build().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "thread-2", "organization_id": admin.organization_id}}
    await graph.ainvoke({"messages": [{"role": "user", "content": "my name is Ada"}]}, config)
    state = await graph.ainvoke({"messages": [{"role": "user", "content": "what is my name?"}]}, config)
    assert [message.type for message in state["messages"]] == ["human", "ai", "human", "ai"]
    sent = [(message["role"], message["content"]) for message in fake_openai.requests[-1]["body"]["messages"]]
    assert ("user", "my name is Ada") in sent and ("assistant", "Hello! You said: my name is Ada") in sent
    assert sent[-1] == ("user", "what is my name?")


async def test_a_serialized_chat_model_masks_the_key_and_headers(make_user, add_provider):
    from langchain_core.load import dumpd

    from vetrai.plugins.models.runtime import chat_model

    admin = await make_user(role="org_admin")
    await add_provider(admin, headers={"X-Token": "header-PLAINTEXT-123456"})
    llm = await chat_model({"configurable": {"organization_id": admin.organization_id}})
    for text in (str(dumpd(llm)), repr(llm), str(llm)):
        assert "header-PLAINTEXT-123456" not in text
        assert API_KEY not in text, text[text.index(API_KEY) - 300 : text.index(API_KEY) + 50]


async def test_a_configurable_model_setting_picks_the_model(make_user, add_provider, fake_openai):
    from vetrai.plugins.models.runtime import chat_model

    admin = await make_user(role="org_admin")
    await add_provider(admin)
    configurable = {"organization_id": admin.organization_id, "model": "fake-large"}
    llm = await chat_model({"configurable": configurable})
    await llm.ainvoke("hi")
    assert fake_openai.requests[-1]["model"] == "fake-large"
    llm = await chat_model({"configurable": configurable}, "fake-small")  # an explicit name wins
    await llm.ainvoke("hi")
    assert fake_openai.requests[-1]["model"] == "fake-small"
