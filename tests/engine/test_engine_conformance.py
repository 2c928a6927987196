"""The conformance kit on the workflow engine (the ``workers`` plugin)."""

from __future__ import annotations

import uuid

from vetrai.core.conformance import PluginConformance, Resource


async def _template(kit, owner):
    body = {"name": f"conformance-{uuid.uuid4().hex[:8]}", "workflow": "echo"}
    response = await owner.post("/api/v1/workers/templates", json=body)
    assert response.status_code == 201, await response.get_data(as_text=True)
    return str((await response.get_json())["id"])


async def _job(kit, owner):
    # approval stops at interrupt(): the job stays put while the kit probes it from elsewhere.
    response = await owner.post(
        "/api/v1/workers/jobs", json={"template": "approval", "input": {"request": "conformance"}}
    )
    assert response.status_code == 202, await response.get_data(as_text=True)
    return str((await response.get_json())["id"])


LG = "/api/v1/langgraph"


async def _assistant(kit, owner):
    response = await owner.post(f"{LG}/assistants", json={"graph_id": "echo", "name": "conformance"})
    assert response.status_code == 200, await response.get_data(as_text=True)
    return {"assistant_id": (await response.get_json())["assistant_id"], "namespace": "child"}


async def _thread(kit, owner):
    response = await owner.post(f"{LG}/threads", json={})
    assert response.status_code == 200, await response.get_data(as_text=True)
    thread_id = (await response.get_json())["thread_id"]
    # A background run: on the Redis backend nothing runs it here, it stays pending.
    run = await owner.post(f"{LG}/threads/{thread_id}/runs", json={"assistant_id": "echo", "input": {"payload": {}}})
    assert run.status_code == 200, await run.get_data(as_text=True)
    return {"thread_id": thread_id, "run_id": (await run.get_json())["run_id"], "checkpoint_id": str(uuid.uuid4())}


async def _cron(kit, owner):
    body = {"assistant_id": "echo", "schedule": "0 0 1 1 *", "input": {"payload": {}}}
    response = await owner.post(f"{LG}/runs/crons", json=body)
    assert response.status_code == 200, await response.get_data(as_text=True)
    return {"cron_id": (await response.get_json())["cron_id"]}


WAITS = (
    "answers when the run ends, and on the Redis backend nothing runs it here; the routes are driven with "
    "langgraph-sdk and API keys in tests/langgraph_server"
)
RUN_BODY = {"assistant_id": "echo", "input": {"payload": {}}}
STREAM = (
    "a Server-Sent Events stream that ends only when the job stops (on the Redis backend nothing runs it "
    "here): streaming, its scopes and ?format=json are tested in test_engine_jobs.py"
)


class TestConformanceWorkers(PluginConformance):
    plugin = "workers"
    route_prefixes = ("/api/v1/workers", "/api/v1/langgraph")
    resource_list = [
        Resource(
            "/api/v1/workers/templates/<template_id>",
            _template,
            list="/api/v1/workers/templates",
            body={"description": "changed"},
        ),
        Resource(
            "/api/v1/workers/jobs/<job_id>",
            _job,
            list="/api/v1/workers/jobs",
            bodies={"POST /api/v1/workers/jobs/<job_id>/resume": {"value": {"approved": True}}},
        ),
    ]
    resource_list = [
        *resource_list,
        Resource(
            f"{LG}/assistants/<assistant_id>",
            _assistant,
            body={"name": "changed"},
            bodies={f"POST {LG}/assistants/<assistant_id>/latest": {"version": 1}},
        ),
        Resource(
            f"{LG}/threads/<thread_id>",
            _thread,
            body={},
            bodies={
                f"POST {LG}/threads/<thread_id>/state": {"values": {"payload": {}}},
                f"POST {LG}/threads/<thread_id>/runs": RUN_BODY,
                f"POST {LG}/threads/<thread_id>/runs/stream": RUN_BODY,
                f"POST {LG}/threads/<thread_id>/runs/wait": RUN_BODY,
                f"POST {LG}/threads/<thread_id>/runs/crons": {"assistant_id": "echo", "schedule": "0 0 1 1 *"},
            },
        ),
        Resource(f"{LG}/threads/<thread_id>/runs/<run_id>", _thread),
        Resource(f"{LG}/threads/<thread_id>/state/<checkpoint_id>", _thread),
        Resource(f"{LG}/assistants/<assistant_id>/subgraphs/<namespace>", _assistant),
        Resource(f"{LG}/runs/crons/<cron_id>", _cron),
    ]
    skip = {
        **{
            f"{check}:{route}": WAITS
            for check in ("api_key_scopes", "event_loop")
            for route in (
                f"GET {LG}/threads/<thread_id>/runs/<run_id>/join",
                f"GET {LG}/threads/<thread_id>/runs/<run_id>/stream",
                f"POST {LG}/threads/<thread_id>/runs/stream",
                f"POST {LG}/threads/<thread_id>/runs/wait",
                f"POST {LG}/runs/stream",
                f"POST {LG}/runs/wait",
            )
        },
        f"bad_input:PATCH {LG}/threads/<thread_id>": (
            "its one field, metadata, is any JSON object as in LangGraph, so the kit's 'wrong' object is a valid "
            "value; malformed JSON and arrays are still checked on every other write route"
        ),
        "api_key_scopes:GET /api/v1/workers/jobs/<job_id>/events": STREAM,
        "event_loop:GET /api/v1/workers/jobs/<job_id>/events": STREAM,
    }
