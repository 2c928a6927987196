"""Templates: package workflows synced at start-up (read-only) and organization templates."""

from __future__ import annotations

BUILT_INS = {"echo", "sleep", "approval", "flaky", "document_triage"}


async def list_templates(client, actor, query=""):
    response = await client.get(f"/api/v1/workers/templates{query}", headers=actor.headers)
    assert response.status_code == 200
    return (await response.get_json())["items"]


async def test_package_templates_are_listed_read_only(client, make_user):
    actor = await make_user()
    items = await list_templates(client, actor)
    by_name = {item["name"]: item for item in items}
    assert BUILT_INS | {"word_count", "expense_approval"} <= set(by_name)
    echo = by_name["echo"]
    assert echo["source"] == "package" and echo["read_only"] is True and echo["organization_id"] is None
    assert echo["defaults"]["max_attempts"] == 1 and echo["defaults"]["input"] == {}
    assert by_name["sleep"]["input_schema"]["properties"]["seconds"]["type"] == "number"
    assert by_name["word_count"]["version"] == "0.1.0"
    one = await client.get(f"/api/v1/workers/templates/{echo['id']}", headers=actor.headers)
    assert (await one.get_json())["name"] == "echo"
    admin = await make_user("org_admin", organization=actor.organization)
    assert (
        await client.put(f"/api/v1/workers/templates/{echo['id']}", json={"name": "x"}, headers=admin.headers)
    ).status_code == 403
    assert (await client.delete(f"/api/v1/workers/templates/{echo['id']}", headers=admin.headers)).status_code == 403
    assert (await client.get("/api/v1/workers/templates")).status_code == 401


async def test_organization_templates_crud_and_isolation(client, make_user, jobs):
    admin = await make_user("org_admin")
    user = await make_user("user", organization=admin.organization)
    stranger = await make_user("org_admin")
    body = {
        "name": "nightly-triage",
        "description": "Nightly",
        "workflow": "document_triage",
        "defaults": {"input": {"title": "Nightly"}, "timeout_seconds": 30},
    }
    assert (await client.post("/api/v1/workers/templates", json=body, headers=user.headers)).status_code == 403
    created = await client.post("/api/v1/workers/templates", json=body, headers=admin.headers)
    assert created.status_code == 201
    template = await created.get_json()
    assert template["source"] == "organization" and template["read_only"] is False
    assert template["organization_id"] == admin.organization_id and template["defaults"]["timeout_seconds"] == 30
    assert (await client.post("/api/v1/workers/templates", json=body, headers=admin.headers)).status_code == 409
    unknown = await client.post(
        "/api/v1/workers/templates", json={**body, "name": "other", "workflow": "nope"}, headers=admin.headers
    )
    assert unknown.status_code == 422
    bad = await client.post(
        "/api/v1/workers/templates",
        json={**body, "name": "other", "defaults": {"max_attempts": 0}},
        headers=admin.headers,
    )
    assert bad.status_code == 422

    # Visible to its organization only.
    assert template["id"] in [item["id"] for item in await list_templates(client, user, "?source=organization")]
    assert template["id"] not in [item["id"] for item in await list_templates(client, stranger)]
    for method in ("get", "put", "delete"):
        kwargs = {"json": {"name": "mine"}} if method == "put" else {}
        response = await getattr(client, method)(
            f"/api/v1/workers/templates/{template['id']}", headers=stranger.headers, **kwargs
        )
        assert response.status_code == 404
    assert (
        await client.get(f"/api/v1/workers/templates/{template['id']}/graph", headers=stranger.headers)
    ).status_code == 404
    foreign = await client.post(
        "/api/v1/workers/jobs", json={"template_id": template["id"], "input": {"text": "x"}}, headers=stranger.headers
    )
    assert foreign.status_code == 422

    # Its defaults are merged into each job's input; jobs run by id or by name.
    job = await jobs.create(user, "nightly-triage", {"text": "Please send the invoice."})
    assert job["input"]["title"] == "Nightly" and job["timeout_seconds"] == 30 and job["template_id"] == template["id"]
    by_id = await client.post(
        "/api/v1/workers/jobs", json={"template_id": template["id"], "input": {"text": "Hello."}}, headers=user.headers
    )
    assert by_id.status_code == 202
    await jobs.wait(user, job["id"], "succeeded")

    updated = await client.put(
        f"/api/v1/workers/templates/{template['id']}",
        json={"is_active": False, "description": "Off"},
        headers=admin.headers,
    )
    assert updated.status_code == 200
    changed = await updated.get_json()
    assert changed["is_active"] is False and changed["description"] == "Off" and changed["name"] == "nightly-triage"
    inactive = await client.post(
        "/api/v1/workers/jobs", json={"template": "nightly-triage", "input": {"text": "x"}}, headers=user.headers
    )
    assert inactive.status_code == 422
    assert (
        await client.put(f"/api/v1/workers/templates/{template['id']}", json={"name": "x"}, headers=user.headers)
    ).status_code == 403
    assert (
        await client.delete(f"/api/v1/workers/templates/{template['id']}", headers=admin.headers)
    ).status_code == 204
    assert (await client.get(f"/api/v1/workers/templates/{template['id']}", headers=admin.headers)).status_code == 404
    # The job outlives its template.
    kept = await jobs.get(user, job["id"])
    assert kept["template_id"] is None and kept["template"] == "nightly-triage"


async def test_graph_of_the_triage_pipeline(client, make_user):
    actor = await make_user()
    triage = next(item for item in await list_templates(client, actor) if item["name"] == "document_triage")
    response = await client.get(f"/api/v1/workers/templates/{triage['id']}/graph", headers=actor.headers)
    assert response.status_code == 200
    graph = await response.get_json()
    assert graph["mermaid"].startswith("---") or "graph TD" in graph["mermaid"]
    assert "classify" in graph["mermaid"]
    assert {"split", "classify", "escalate", "summarize"} <= set(graph["nodes"])
    conditional = {(edge["source"], edge["target"]) for edge in graph["edges"] if edge["conditional"]}
    assert conditional == {("classify", "escalate"), ("classify", "summarize")}
    assert graph["input_schema"]["required"] == ["text"]
    assert "route" in graph["output_schema"]["properties"]


async def test_a_template_is_addressed_by_id_or_name_everywhere(client, make_user, jobs):
    admin = await make_user("org_admin")
    stranger = await make_user("org_admin")
    by_id = await client.get("/api/v1/workers/templates", headers=admin.headers)
    echo = next(item for item in (await by_id.get_json())["items"] if item["name"] == "echo")
    for reference in (echo["id"], "echo"):
        one = await client.get(f"/api/v1/workers/templates/{reference}", headers=admin.headers)
        assert one.status_code == 200 and (await one.get_json())["id"] == echo["id"]
        graph = await client.get(f"/api/v1/workers/templates/{reference}/graph", headers=admin.headers)
        assert graph.status_code == 200 and (await graph.get_json())["nodes"]
    assert (await client.get("/api/v1/workers/templates/nope/graph", headers=admin.headers)).status_code == 404
    # An organization's own template of a name comes before the package workflow's, and stays its own.
    body = {"name": "echo", "workflow": "sleep", "defaults": {"input": {"seconds": 0.01, "steps": 1}}}
    created = await client.post("/api/v1/workers/templates", json=body, headers=admin.headers)
    assert created.status_code == 201
    own = await created.get_json()
    shown = await (await client.get("/api/v1/workers/templates/echo", headers=admin.headers)).get_json()
    assert shown["id"] == own["id"] and shown["workflow"] == "sleep"
    theirs = await (await client.get("/api/v1/workers/templates/echo", headers=stranger.headers)).get_json()
    assert theirs["id"] == echo["id"]
    renamed = await client.put("/api/v1/workers/templates/echo", json={"description": "mine"}, headers=admin.headers)
    assert renamed.status_code == 200 and (await renamed.get_json())["description"] == "mine"
    assert (
        await client.put("/api/v1/workers/templates/echo", json={"name": "x"}, headers=stranger.headers)
    ).status_code == 403
    job = await jobs.create(admin, "echo")
    assert job["template_id"] == own["id"]
    for query in (f"template={own['id']}", "template=echo", f"template_id={own['id']}"):
        listing = await (await client.get(f"/api/v1/workers/jobs?{query}", headers=admin.headers)).get_json()
        assert [item["id"] for item in listing["items"]] == [job["id"]]
    unknown = await client.get("/api/v1/workers/jobs?template=nope", headers=admin.headers)
    assert unknown.status_code == 422 and (await unknown.get_json())["errors"][0]["loc"] == ["query", "template"]
    assert (await client.delete("/api/v1/workers/templates/echo", headers=admin.headers)).status_code == 204
    assert (await client.get("/api/v1/workers/templates/echo", headers=admin.headers)).status_code == 200
    assert (await client.delete("/api/v1/workers/templates/echo", headers=admin.headers)).status_code == 403
