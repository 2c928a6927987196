"""The plugin's own behaviour, written with the kit's fixtures (client, make_user, api_key, ...)."""

from __future__ import annotations

import click
from click.testing import CliRunner
from vetrai_hello import service


async def test_create_read_update_delete(make_user):
    alice = await make_user("user")
    created = await alice.post("/api/v1/hello/greetings", json={"message": "hi there"})
    assert created.status_code == 201
    greeting = await created.get_json()
    assert greeting["message"] == "hi there" and greeting["author_id"] == alice.id
    path = f"/api/v1/hello/greetings/{greeting['id']}"
    assert (await (await alice.get(path)).get_json())["message"] == "hi there"
    updated = await alice.put(path, json={"message": "hello again"})
    assert (await updated.get_json())["message"] == "hello again"
    assert (await alice.delete(path)).status_code == 204
    assert (await alice.get(path)).status_code == 404


async def test_list_is_per_organization_and_paginated(make_user):
    alice = await make_user("user")
    bob = await make_user("user")
    for number in range(3):
        await alice.post("/api/v1/hello/greetings", json={"message": f"m{number}"})
    first = await (await alice.get("/api/v1/hello/greetings", query_string={"limit": 2})).get_json()
    assert [item["message"] for item in first["items"]] == ["m2", "m1"] and first["next_cursor"]
    rest = await (await alice.get("/api/v1/hello/greetings", query_string={"cursor": first["next_cursor"]})).get_json()
    assert [item["message"] for item in rest["items"]] == ["m0"]
    assert (await (await bob.get("/api/v1/hello/greetings")).get_json())["items"] == []


async def test_bad_input_and_missing_credentials(client, make_user):
    alice = await make_user("user")
    assert (await alice.post("/api/v1/hello/greetings", json={"message": ""})).status_code == 422
    assert (await alice.post("/api/v1/hello/greetings", json={"message": "x", "extra": 1})).status_code == 422
    assert (await client.get("/api/v1/hello/greetings")).status_code == 401


async def test_scopes_of_api_keys(api_key):
    reader = await api_key(scopes=["hello:read"])
    assert (await reader.get("/api/v1/hello/greetings")).status_code == 200
    refused = await reader.post("/api/v1/hello/greetings", json={"message": "hi"})
    assert refused.status_code == 403
    writer = await api_key(scopes=["hello:write"], user=reader.user)
    assert (await writer.post("/api/v1/hello/greetings", json={"message": "hi"})).status_code == 201


async def test_greeting_created_event(make_user, vetrai_events):
    alice = await make_user("user")
    response = await alice.post("/api/v1/hello/greetings", json={"message": "event!"})
    event = await vetrai_events.wait_for("hello.greeting_created")
    assert event.data == {"greeting_id": (await response.get_json())["id"], "message": "event!"}
    assert str(event.organization_id) == alice.organization_id and str(event.actor_id) == alice.id


async def test_new_users_get_a_welcome_greeting(client, vetrai_events):
    """vetrai_event: the auth plugin's auth.user_registered makes a greeting in the new organization."""
    response = await client.post(
        "/api/v1/register",
        json={"email": "newcomer@example.com", "password": "correct horse battery", "organization_name": "Newco"},
    )
    assert response.status_code == 201, await response.get_data(as_text=True)
    await vetrai_events.wait_for("auth.user_registered")
    token = await client.post(
        "/api/v1/login", json={"email": "newcomer@example.com", "password": "correct horse battery"}
    )
    headers = {"Authorization": f"Bearer {(await token.get_json())['access_token']}"}
    items = (await (await client.get("/api/v1/hello/greetings", headers=headers)).get_json())["items"]
    assert [item["message"] for item in items] == ["Welcome, newcomer@example.com!"]


async def test_public_ping_needs_no_credentials(client):
    body = await (await client.get("/api/v1/hello/ping")).get_json()
    assert body == {"message": "hello", "greetings_served": 0}


async def test_settings_come_from_the_plugins_env_prefix(monkeypatch, vetrai_settings):
    from vetrai.core.app import create_app

    monkeypatch.setenv("VETRAI_HELLO_PING_MESSAGE", "bonjour")
    async with create_app(vetrai_settings).test_app() as test_app:
        body = await (await test_app.test_client().get("/api/v1/hello/ping")).get_json()
    assert body["message"] == "bonjour"


async def test_startup_and_shutdown_manage_state(vetrai_settings):
    from vetrai.core.app import create_app

    app = create_app(vetrai_settings)
    platform = app.extensions["vetrai"]
    async with app.test_app():
        assert platform.get(service.RUNTIME).served == 0
    assert platform.find(service.RUNTIME) is None


async def test_task_workflow_node_and_cli(vetrai_platform, make_user):
    """vetrai_tasks, vetrai_workflow_nodes and vetrai_cli of this plugin."""
    alice = await make_user("user")
    await alice.post("/api/v1/hello/greetings", json={"message": "count me"})
    task = vetrai_platform.broker.find_task("hello.count_greetings")
    assert task is not None
    assert await task.original_func(alice.organization_id) == 1
    nodes = [node for nodes in vetrai_platform.plugin_manager.hook.vetrai_workflow_nodes() for node in nodes]
    greet = next(node for node in nodes if node.name == "hello.greet")
    assert await greet.run({"name": "Ada"}) == {"greeting": "Hello, Ada!"}
    group = click.Group("vetrai")
    vetrai_platform.plugin_manager.get_plugin("hello").vetrai_cli(group)
    assert CliRunner().invoke(group, ["hello", "--name", "Ada"]).output == "Hello, Ada!\n"
