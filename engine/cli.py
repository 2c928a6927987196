"""``vetrai run TEMPLATE --input JSON``: run a workflow and show its progress live.

With ``--url`` (or ``VETRAI_URL``) and a token it goes through the HTTP API and follows the
job's event stream; otherwise it runs in this process against the configured database
(the job is recorded like any other, in ``--organization`` or the only organization).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import click


def _show(event: dict[str, Any]) -> None:
    kind, node, data = event.get("type"), event.get("node"), event.get("data", {})
    where = f" [{node}]" if node else ""
    if kind == "status":
        extra = f": {data['error']['type']}: {data['error']['message']}" if data.get("error") else ""
        click.echo(f"● {data.get('status')}{where}{extra}", err=True)
    elif kind == "progress":
        click.echo(f"  … progress{where} {json.dumps(data)}", err=True)
    elif kind == "node":
        click.echo(f"  ✓ {node}", err=True)
    elif kind == "retry":
        click.echo(
            f"  ↻ attempt {data.get('attempt')} failed ({data.get('error', {}).get('message')}); retrying in {data.get('delay_seconds')} s",
            err=True,
        )
    elif kind == "interrupt":
        click.echo(f"  ⏸ waiting for input: {json.dumps(data.get('values'))}", err=True)


async def via_api(url: str, token: str, template: str, values: dict[str, Any], transport: Any = None) -> int:
    """Create the job through the API and follow its event stream until it ends."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=url.rstrip("/"), headers=headers, timeout=None, transport=transport
    ) as client:
        response = await client.post("/api/v1/workers/jobs", json={"template": template, "input": values})
        if response.status_code != 202:
            click.echo(f"error: {response.status_code} {response.text}", err=True)
            return 1
        job = response.json()
        click.echo(f"job {job['id']} queued", err=True)
        async with client.stream("GET", f"/api/v1/workers/jobs/{job['id']}/events") as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    _show(json.loads(line[6:]))
        job = (await client.get(f"/api/v1/workers/jobs/{job['id']}")).json()
    return _result(job)


def _result(job: dict[str, Any]) -> int:
    if job["status"] == "succeeded":
        click.echo(json.dumps(job["output"], indent=2, default=str))
        return 0
    click.echo(
        json.dumps(
            {"status": job["status"], "error": job.get("error"), "interrupt": job.get("interrupt")},
            indent=2,
            default=str,
        )
    )
    return 0 if job["status"] == "interrupted" else 1


async def _in_process(template: str, values: dict[str, Any], organization: str | None) -> int:
    from vetrai.core.auth import Principal
    from vetrai.core.config import Settings
    from vetrai.core.models import Organization
    from vetrai.core.platform import Platform
    from vetrai.engine import service
    from vetrai.engine.models import JobEvent
    from vetrai.engine.runtime import runtime_of

    platform = Platform.build(Settings())
    await platform.start()
    try:
        if organization:
            org = await Organization.filter(slug=organization).first() or await Organization.get_or_none(
                id=organization
            )
        else:
            orgs = await Organization.all().limit(2)
            org = orgs[0] if len(orgs) == 1 else None
            if not orgs:
                from vetrai.core.organizations.service import create_organization

                org = await create_organization("Local")
        if org is None:
            raise click.ClickException("several organizations exist: choose one with --organization SLUG")
        principal = Principal(None, org.id, "org_admin", frozenset({"workers:read", "workers:write"}), kind="system")
        try:
            job, _ = await service.create_job(platform, principal, template=template, input=values)
        except Exception as exc:  # a ProblemError: show its detail and field errors
            body = getattr(exc, "body", None)
            raise click.ClickException(json.dumps(body(), default=str) if body else str(exc)) from None
        click.echo(f"job {job.id} queued", err=True)
        runner = asyncio.create_task(_drive(runtime_of(platform), job.id))
        after = 0
        while True:
            for event in await JobEvent.filter(job_id=job.id, id__gt=after).order_by("id"):
                after = event.id
                _show(service.serialize_event(event))
            await job.refresh_from_db()
            if runner.done() and not await JobEvent.filter(job_id=job.id, id__gt=after).exists():
                break
            await asyncio.sleep(0.05)
        runner.result()
        await job.refresh_from_db()
        return _result(service.serialize_job(job))
    finally:
        await platform.stop()


async def _drive(runtime: Any, job_id: Any) -> None:
    """Run the job here, attempt after attempt (waiting out retry backoffs), until it finishes
    or is interrupted; another process may take an attempt, which is fine."""
    from vetrai.engine.models import Job
    from vetrai.engine.runtime import utcnow
    from vetrai.engine.service import STREAM_END

    while True:
        await runtime.run_job(str(job_id))
        job = await Job.get(id=job_id)
        if job.status in STREAM_END:
            return
        delay = (job.run_after - utcnow()).total_seconds() if job.status == "queued" and job.run_after else 0.1
        await asyncio.sleep(min(max(delay, 0.02), 60))


@click.command("run")
@click.argument("template")
@click.option("--input", "input_", default="{}", help="The job input as a JSON object.")
@click.option("--url", envvar="VETRAI_URL", default=None, help="Run through this server's API instead of in-process.")
@click.option("--token", envvar="VETRAI_TOKEN", default=None, help="Bearer token or API key for --url.")
@click.option("--organization", default=None, help="In-process: the organization (slug or id) the job belongs to.")
def run(template: str, input_: str, url: str | None, token: str | None, organization: str | None) -> None:
    """Run a workflow TEMPLATE with --input JSON and show its progress."""
    try:
        values = json.loads(input_)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--input") from None
    if not isinstance(values, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--input")
    if url:
        if not token:
            raise click.UsageError("--url needs --token (or VETRAI_TOKEN)")
        sys.exit(asyncio.run(via_api(url, token, template, values)))
    sys.exit(asyncio.run(_in_process(template, values, organization)))
