"""The playground over HTTP: a thread with a fake chat model graph (no provider, no network), tokens
streamed through the console's SSE endpoint, state and history, and a fork from a checkpoint."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.console.conftest import csrf_of, wait_for
from tests.langgraph_server.project.graphs import REPLY

PROJECT = Path(__file__).with_name("playground_project") / "langgraph.json"


@pytest.fixture(autouse=True)
def chat_project(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """The LangGraph test project (its ``chat`` graph answers with a fake chat model)."""
    from vetrai.engine.spec import workflows

    monkeypatch.setenv("VETRAI_LANGGRAPH_CONFIG", str(PROJECT))
    workflows.cache_clear()
    yield
    monkeypatch.delenv("VETRAI_LANGGRAPH_CONFIG")
    workflows.cache_clear()


def tokens_of(body: str) -> list[str]:
    return [json.loads(data)["text"] for data in re.findall(r"event: token\ndata: (.+)\n", body)]


async def run_done(client: Any, headers: dict[str, str], thread_id: str, run_id: str) -> bool:
    response = await client.get(f"/api/v1/langgraph/threads/{thread_id}/runs/{run_id}", headers=headers)
    return (await response.get_json())["status"] in ("success", "error")


async def test_chat_streams_tokens_shows_state_and_history_and_forks(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    await browser.get("/console/playground")
    assert 'href="/console/playground"' in browser.last_html
    assistant = re.search(r'<option value="([0-9a-f-]{36})">fake_chat \(fake_chat\)', browser.last_html).group(1)

    started = await browser.post(
        "/console/playground/threads", {"assistant_id": assistant}, csrf=csrf_of(browser.last_html)
    )
    assert started.status_code == 303
    thread_url = started.headers["Location"]
    thread_id = urlparse(thread_url).path.rsplit("/", 1)[-1]

    sent = await browser.submit(
        thread_url, f"/console/playground/threads/{thread_id}/runs", {"assistant_id": assistant, "message": "hi"}
    )
    assert sent.status_code == 303
    run_id = parse_qs(urlparse(sent.headers["Location"]).query)["run_id"][0]
    await browser.get(sent.headers["Location"])
    stream_url = f"/console/playground/threads/{thread_id}/runs/{run_id}/stream"
    assert f'data-stream="{stream_url}"' in browser.last_html

    stream = await browser.get(stream_url)
    assert stream.status_code == 200 and stream.mimetype == "text/event-stream"
    tokens = tokens_of(browser.last_html)

    assert len(tokens) > 1 and "".join(tokens) == REPLY
    assert 'event: end\ndata: {"status": "success"}' in browser.last_html

    await browser.get(thread_url)
    assert "<strong>human:</strong> hi" in browser.last_html and f"<strong>ai:</strong> {REPLY}" in browser.last_html
    assert 'id="state"' in browser.last_html
    checkpoints = re.findall(r'<tr data-checkpoint-id="([^"]+)">\s*<td>(-?\d+)</td>', browser.last_html)
    steps = {int(step): checkpoint for checkpoint, step in checkpoints}
    assert -1 in steps and max(steps) >= 1

    forked = await browser.submit(
        thread_url,
        f"/console/playground/threads/{thread_id}/runs",
        {"assistant_id": assistant, "message": "again", "checkpoint_id": steps[-1]},
    )
    assert forked.status_code == 303
    fork_run = parse_qs(urlparse(forked.headers["Location"]).query)["run_id"][0]
    await wait_for(lambda: run_done(client, admin["headers"], thread_id, fork_run), what="the forked run")
    state = await (
        await client.get(f"/api/v1/langgraph/threads/{thread_id}/state", headers=admin["headers"])
    ).get_json()
    assert [message["content"] for message in state["values"]["messages"]] == ["again", REPLY]


async def test_another_organizations_thread_is_a_404(browser_client, register, client):
    owner = await register("Owner")
    other = await register("Other")
    created = await client.post("/api/v1/langgraph/threads", json={}, headers=owner["headers"])
    thread_id = (await created.get_json())["thread_id"]
    browser = browser_client()
    await browser.sign_in(other["email"])
    assert (await browser.get(f"/console/playground/threads/{thread_id}?assistant_id=fake_chat")).status_code == 404
    refused = await browser.submit(
        "/console/playground",
        f"/console/playground/threads/{thread_id}/runs",
        {"assistant_id": "fake_chat", "message": "x"},
    )
    assert refused.status_code == 404
    runs = await client.get(f"/api/v1/langgraph/threads/{thread_id}/runs", headers=owner["headers"])
    assert (await runs.get_json()) == []
