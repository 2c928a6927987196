"""Work amplification through job input: bounded documents, bounded nesting."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "text",
    [
        "a.\n\n" * 50_000,  # the reviewed attack: 200 KB of one-sentence paragraphs
        "a.\n\n" * 201,  # small, but more sections than the template handles
        "x" * 50_001,  # one section, too long
    ],
)
async def test_document_triage_refuses_oversized_documents(make_user, jobs, text):
    actor = await make_user()
    problem = await jobs.create(actor, "document_triage", {"text": text}, expect=422)
    assert problem["type"].endswith("validation-error")


async def test_document_triage_still_takes_a_real_document(make_user, jobs):
    actor = await make_user()
    text = "\n\n".join(f"Paragraph {n} asks for help with an invoice." for n in range(200))
    job = await jobs.create(actor, "document_triage", {"text": text})
    done = await jobs.wait(actor, job["id"], "succeeded", within=60)
    assert len(done["output"]["sections"]) == 200


@pytest.mark.parametrize("depth", [65, 500, 5000])
async def test_deeply_nested_job_input_is_a_client_error(client, make_user, depth):
    actor = await make_user()
    nested = '{"a": ' * depth + "1" + "}" * depth  # built as text: json.dumps itself recurses
    body = '{"template": "echo", "input": {"message": "x", "extra": ' + nested + "}}"
    response = await client.post(
        "/api/v1/workers/jobs", data=body, headers={**actor.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert (await response.get_json())["type"].endswith("json-too-deep")


@pytest.mark.parametrize("host", ["[::7f00:1]", "[::ffff:7f00:1]", "localhost", "2130706433"])
async def test_job_webhooks_to_private_addresses_in_any_form_are_refused(platform, make_user, jobs, host):
    import asyncio

    from tests.engine.conftest import outbox_message
    from vetrai.engine.settings import WorkersSettings

    hits: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hits.append(await reader.read(100))
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = platform.plugin_settings("workers", WorkersSettings)
    settings.webhook_allow_private = False
    try:
        actor = await make_user()
        job = await jobs.create(actor, "echo", {"x": 1}, webhook_url=f"http://{host}:{port}/hook")
        await jobs.wait(actor, job["id"], "succeeded")
        message = await outbox_message("workers.webhook", f"{job['id']}:succeeded:1", "failed")
        assert message.attempts == 1 and message.last_error.startswith("refused")
    finally:
        settings.webhook_allow_private = True
        server.close()
        await server.wait_closed()
    assert hits == []


# --- open event streams end when their credential does ------------------------------------------


async def _stream_ends(client, path: str, headers: dict, cut, method: str = "GET", body: dict | None = None) -> None:
    """Open the SSE stream at ``path``, run ``cut`` and expect the server to end it within seconds
    (a run still going keeps it open otherwise)."""
    import asyncio
    import json

    extra = {"Content-Type": "application/json"} if body is not None else {}
    async with client.request(path, method=method, headers={**headers, **extra}) as connection:
        if body is not None:
            await connection.send(json.dumps(body).encode())
        await connection.send_complete()
        assert await asyncio.wait_for(connection.receive(), 10)  # the stream is open
        await cut()

        async def until_closed() -> None:
            while await connection.receive():  # the response's last body message is empty
                pass

        await asyncio.wait_for(until_closed(), 15)


async def test_a_job_event_stream_ends_when_its_user_logs_out(client, make_user, jobs):
    actor = await make_user()
    job = await jobs.create(actor, "sleep", {"seconds": 60, "steps": 60})
    await jobs.wait(actor, job["id"], "running")

    async def logout() -> None:
        assert (await client.post("/api/v1/logout", json={}, headers=actor.headers)).status_code == 204

    await _stream_ends(client, f"/api/v1/workers/jobs/{job['id']}/events", actor.headers, logout)
    admin = await make_user(organization=actor.organization)
    await jobs.action(admin, job["id"], "cancel")


async def test_a_langgraph_run_stream_ends_when_its_user_logs_out(client, make_user, jobs):
    actor = await make_user()

    async def logout() -> None:
        assert (await client.post("/api/v1/logout", json={}, headers=actor.headers)).status_code == 204

    await _stream_ends(
        client,
        "/api/v1/langgraph/runs/stream",
        actor.headers,
        logout,
        method="POST",
        body={"assistant_id": "sleep", "input": {"seconds": 60, "steps": 60}},
    )
    admin = await make_user(organization=actor.organization)
    listed = await (await client.get("/api/v1/workers/jobs", headers=admin.headers)).get_json()
    for item in listed["items"]:
        await jobs.action(admin, item["id"], "cancel")
