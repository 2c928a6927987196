"""``vetrai run`` and ``vetrai jobs``: workflows from the command line, through the HTTP API.

Both talk to a running server (``VETRAI_URL``, default the configured ``VETRAI_HOST`` and
``VETRAI_PORT``) with a token (``VETRAI_TOKEN`` or ``--token``: an access token or an API key),
so they see exactly what the API shows, in the token's organization, whichever process runs
the job. Every failure is one line: no server, a refused token, a problem+json detail.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from functools import wraps
from typing import Any

import click

JOBS = "/api/v1/workers/jobs"
FINISHED = {"succeeded", "failed", "cancelled", "timed_out"}


def default_url() -> str:
    from vetrai.core.config import Settings

    settings = Settings()
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::", ""} else settings.host
    return f"http://{host}:{settings.port}"


class Api:
    """The server's API with one-line errors (``click.ClickException``) instead of tracebacks."""

    def __init__(self, url: str, token: str, transport: Any = None) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.client = httpx.AsyncClient(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=None, transport=transport
        )

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    def _unreachable(self, exc: Exception) -> click.ClickException:
        return click.ClickException(
            f"no VetrAI server answers at {self.url} ({type(exc).__name__}): start one with `vetrai serve` "
            "(or `make run`), or point VETRAI_URL at it"
        )

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        if response.status_code >= 400:
            raise problem(response)
        return response.json() if response.content else None

    async def events(self, job_id: str) -> AsyncIterator[dict[str, Any]]:
        """The job's Server-Sent Events until its stream ends."""
        async for _, data in self.sse("GET", f"{JOBS}/{job_id}/events"):
            yield data

    async def sse(self, method: str, path: str, **kwargs: Any) -> AsyncIterator[tuple[str, Any]]:
        """A Server-Sent Events stream as ``(event name, decoded data)`` until the server ends it."""
        import httpx

        try:
            async with self.client.stream(method, path, **kwargs) as stream:
                if stream.status_code >= 400:
                    await stream.aread()
                    raise problem(stream)
                name = "message"
                async for line in stream.aiter_lines():
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        yield name, json.loads(line[6:])
                    elif not line:
                        name = "message"
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None


def problem(response: Any) -> click.ClickException:
    """One line from a problem+json answer, field errors included."""
    try:
        body = response.json()
    except ValueError:
        return click.ClickException(f"{response.status_code}: {response.text[:200]}")
    detail = body.get("detail") or body.get("title") or ""
    errors = "; ".join(
        f"{'.'.join(map(str, error.get('loc', [])))}: {error.get('msg')}" for error in body.get("errors", [])
    )
    hint = " (check VETRAI_TOKEN or --token)" if response.status_code == 401 else ""
    return click.ClickException(f"{response.status_code} {detail}" + (f" ({errors})" if errors else "") + hint)


def show_event(event: dict[str, Any]) -> None:
    kind, node, data = event.get("type"), event.get("node"), event.get("data") or {}
    where = f" [{node}]" if node else ""
    if kind == "status":
        extra = f": {data['error']['type']}: {data['error']['message']}" if data.get("error") else ""
        click.echo(f"● {data.get('status')}{where}{extra}", err=True)
    elif kind == "progress":
        click.echo(f"  … progress{where} {json.dumps(data)}", err=True)
    elif kind == "node":
        click.echo(f"  ✓ {node}", err=True)
    elif kind == "retry":
        error = (data.get("error") or {}).get("message")
        click.echo(
            f"  ↻ attempt {data.get('attempt')} failed ({error}); retrying in {data.get('delay_seconds')} s", err=True
        )
    elif kind == "interrupt":
        click.echo(f"  ⏸ waiting for input: {json.dumps(data.get('values'))}", err=True)


def show_result(job: dict[str, Any]) -> int:
    """The output on stdout (exit 0), or what happened and what to do next."""
    status = job["status"]
    if status == "succeeded":
        click.echo(json.dumps(job["output"], indent=2, default=str))
        return 0
    if status == "interrupted":
        click.echo(json.dumps({"status": status, "interrupt": job.get("interrupt")}, indent=2, default=str))
        click.echo(
            f"job {job['id']} waits for input: resume it with\n  vetrai jobs resume {job['id']} --value JSON", err=True
        )
        return 0
    click.echo(json.dumps({"status": status, "error": job.get("error")}, indent=2, default=str))
    if status in {"failed", "timed_out"}:
        click.echo(f"run it again from its last checkpoint with: vetrai jobs retry {job['id']}", err=True)
    return 1


async def follow(api: Api, job_id: str) -> int:
    async for event in api.events(job_id):
        show_event(event)
    return show_result(await api.call("GET", f"{JOBS}/{job_id}"))


async def via_api(url: str, token: str, template: str, values: dict[str, Any], transport: Any = None) -> int:
    """Create the job through the API and follow its event stream until it ends."""
    async with Api(url, token, transport) as api:
        try:
            job = await api.call("POST", JOBS, json={"template": template, "input": values})
        except click.ClickException as exc:
            if exc.message.startswith("422") and "template" in exc.message:
                names = await template_names(api)
                if template not in names:
                    raise click.ClickException(
                        f"unknown template {template!r}; available: {', '.join(names)}"
                    ) from None
            raise
        click.echo(f"job {job['id']} queued", err=True)
        return await follow(api, job["id"])


async def template_names(api: Api) -> list[str]:
    page = await api.call("GET", "/api/v1/workers/templates", params={"limit": 200})
    return sorted(item["name"] for item in page["items"])


def api_command(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--url`` and ``--token`` for a command whose body is ``async def (api, **options) -> int``."""

    @click.option("--url", envvar="VETRAI_URL", default=None, help="The server (VETRAI_URL; default HOST:PORT).")
    @click.option("--token", envvar="VETRAI_TOKEN", default=None, help="Access token or API key (VETRAI_TOKEN).")
    @wraps(function)
    def command(url: str | None, token: str | None, **options: Any) -> None:
        if not token:
            raise click.UsageError(
                "set VETRAI_TOKEN (or --token) to an access token (POST /api/v1/login) or an API key (vk_...)"
            )

        async def run() -> int:
            async with Api(url or default_url(), token) as api:
                return await function(api, **options) or 0

        sys.exit(asyncio.run(run()))

    return command


def json_option(value: str, name: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=name) from None


@click.command("run")
@click.argument("template")
@click.option("--input", "input_", default="{}", help="The job input as a JSON object.")
@click.option("--url", envvar="VETRAI_URL", default=None, help="The server (VETRAI_URL; default HOST:PORT).")
@click.option("--token", envvar="VETRAI_TOKEN", default=None, help="Access token or API key (VETRAI_TOKEN).")
def run(template: str, input_: str, url: str | None, token: str | None) -> None:
    """Run a workflow TEMPLATE with --input JSON on the server and show its progress."""
    values = json_option(input_, "--input")
    if not isinstance(values, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--input")
    if not token:
        raise click.UsageError("set VETRAI_TOKEN (or --token) to an access token (POST /api/v1/login) or an API key")
    sys.exit(asyncio.run(via_api(url or default_url(), token, template, values)))


@click.group("jobs")
def jobs() -> None:
    """List, inspect, follow, cancel, resume and retry jobs (through the API)."""


@jobs.command("list")
@click.option("--status", default=None, help="Only jobs in this status.")
@click.option("--limit", type=int, default=20, show_default=True)
@api_command
async def list_jobs(api: Api, status: str | None, limit: int) -> int:
    """Your organization's jobs, newest first."""
    params: dict[str, Any] = {"limit": limit, **({"status": status} if status else {})}
    page = await api.call("GET", JOBS, params=params)
    for job in page["items"]:
        click.echo(
            f"{job['id']}  {job['status']:<11} {job['template']:<20} attempts {job['attempts']}  {job['created_at']}"
        )
    if not page["items"]:
        click.echo("no jobs", err=True)
    return 0


@jobs.command("show")
@click.argument("job_id")
@api_command
async def show_job(api: Api, job_id: str) -> int:
    """A job as JSON: status, input, output, error, attempts, timings."""
    click.echo(json.dumps(await api.call("GET", f"{JOBS}/{job_id}"), indent=2))
    return 0


@jobs.command("logs")
@click.argument("job_id")
@click.option("--follow", "-f", "follow_", is_flag=True, help="Keep following until the job ends.")
@api_command
async def job_logs(api: Api, job_id: str, follow_: bool) -> int:
    """The job's events (status, nodes, progress, retries, interrupts)."""
    if follow_:
        return await follow(api, job_id)
    for event in (await api.call("GET", f"{JOBS}/{job_id}/events", params={"format": "json"}))["items"]:
        show_event(event)
    return 0


async def _act(api: Api, job_id: str, action: str, **body: Any) -> int:
    job = await api.call("POST", f"{JOBS}/{job_id}/{action}", json=body or None)
    click.echo(f"job {job['id']}: {job['status']}", err=True)
    return 0


@jobs.command("cancel")
@click.argument("job_id")
@api_command
async def cancel_job(api: Api, job_id: str) -> int:
    """Cancel a queued, running or interrupted job."""
    return await _act(api, job_id, "cancel")


@jobs.command("resume")
@click.argument("job_id")
@click.option("--value", default="null", help="JSON given to the waiting interrupt() (approval: {approved}).")
@click.option("--follow/--no-follow", "follow_", default=True, help="Follow the job until it ends.")
@api_command
async def resume_job(api: Api, job_id: str, value: str, follow_: bool) -> int:
    """Continue an interrupted job with --value."""
    await _act(api, job_id, "resume", value=json_option(value, "--value"))
    return await follow(api, job_id) if follow_ else 0


@jobs.command("retry")
@click.argument("job_id")
@click.option("--follow/--no-follow", "follow_", default=True, help="Follow the job until it ends.")
@api_command
async def retry_job(api: Api, job_id: str, follow_: bool) -> int:
    """Run a failed or timed-out job again from its last checkpoint."""
    await _act(api, job_id, "retry")
    return await follow(api, job_id) if follow_ else 0


def register(group: click.Group) -> None:
    group.add_command(run)
    group.add_command(jobs)
