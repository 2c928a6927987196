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


STREAM = (
    "a Server-Sent Events stream that ends only when the job stops (on the Redis backend nothing runs it "
    "here): streaming, its scopes and ?format=json are tested in test_engine_jobs.py"
)


class TestConformanceWorkers(PluginConformance):
    plugin = "workers"
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
    skip = {
        "api_key_scopes:GET /api/v1/workers/jobs/<job_id>/events": STREAM,
        "event_loop:GET /api/v1/workers/jobs/<job_id>/events": STREAM,
    }
