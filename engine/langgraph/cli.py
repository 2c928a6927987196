"""``vetrai threads`` and ``vetrai runs``: the LangGraph API's threads and runs from the command line.

The same client as ``vetrai jobs`` (``VETRAI_URL``, ``VETRAI_TOKEN``, one-line errors), pointed
at ``/api/v1/langgraph``, so a thread or run looks here exactly as the SDK sees it.
"""

from __future__ import annotations

import json
from typing import Any

import click

from vetrai.engine.cli import JOBS, Api, api_command, json_option, show_event

LANGGRAPH = "/api/v1/langgraph"
ACTIVE = {"pending", "running"}


def _dump(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


@click.group("threads")
def threads() -> None:
    """List, inspect and delete LangGraph threads (through the API)."""


@threads.command("create")
@click.option("--metadata", default="{}", help="The thread's metadata as a JSON object.")
@api_command
async def create_thread(api: Api, metadata: str) -> int:
    """A new empty thread; prints its id."""
    thread = await api.call("POST", f"{LANGGRAPH}/threads", json={"metadata": json_option(metadata, "--metadata")})
    click.echo(thread["thread_id"])
    return 0


@threads.command("list")
@click.option("--status", default=None, help="Only threads in this status (idle, busy, interrupted, error).")
@click.option("--limit", type=int, default=20, show_default=True)
@api_command
async def list_threads(api: Api, status: str | None, limit: int) -> int:
    """Your organization's threads, newest first."""
    body: dict[str, Any] = {"limit": limit, **({"status": status} if status else {})}
    items = await api.call("POST", f"{LANGGRAPH}/threads/search", json=body)
    for thread in items:
        graph = (thread.get("metadata") or {}).get("graph_id") or "-"
        click.echo(f"{thread['thread_id']}  {thread['status']:<11} {graph:<20} {thread['updated_at']}")
    if not items:
        click.echo("no threads", err=True)
    return 0


@threads.command("show")
@click.argument("thread_id")
@api_command
async def show_thread(api: Api, thread_id: str) -> int:
    """A thread as JSON with its current state's values and next nodes."""
    thread = await api.call("GET", f"{LANGGRAPH}/threads/{thread_id}")
    state = await api.call("GET", f"{LANGGRAPH}/threads/{thread_id}/state")
    _dump({**thread, "values": state.get("values"), "next": state.get("next", [])})
    return 0


@threads.command("history")
@click.argument("thread_id")
@click.option("--limit", type=int, default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The checkpoints as JSON, values included.")
@api_command
async def thread_history(api: Api, thread_id: str, limit: int, as_json: bool) -> int:
    """The thread's checkpoints, newest first: step, source, next nodes."""
    items = await api.call("POST", f"{LANGGRAPH}/threads/{thread_id}/history", json={"limit": limit})
    if as_json:
        _dump(items)
        return 0
    for snapshot in items:
        metadata = snapshot.get("metadata") or {}
        step, source = metadata.get("step", "-"), metadata.get("source") or "-"
        following = ",".join(snapshot.get("next") or []) or "-"
        click.echo(
            f"{snapshot['checkpoint_id']}  step {step!s:<4} {source:<7} next {following:<20} {snapshot['created_at']}"
        )
    if not items:
        click.echo("no checkpoints", err=True)
    return 0


@threads.command("delete")
@click.argument("thread_id")
@api_command
async def delete_thread(api: Api, thread_id: str) -> int:
    """Delete a thread with its runs and checkpoints."""
    await api.call("DELETE", f"{LANGGRAPH}/threads/{thread_id}")
    click.echo(f"thread {thread_id}: deleted", err=True)
    return 0


@click.group("runs")
def runs() -> None:
    """Create, list, follow and cancel LangGraph runs of a thread (through the API)."""


@runs.command("list")
@click.argument("thread_id")
@click.option("--status", default=None, help="Only runs in this status (pending, running, success, error, ...).")
@click.option("--limit", type=int, default=20, show_default=True)
@api_command
async def list_runs(api: Api, thread_id: str, status: str | None, limit: int) -> int:
    """The thread's runs, newest first."""
    params: dict[str, Any] = {"limit": limit, **({"status": status} if status else {})}
    items = await api.call("GET", f"{LANGGRAPH}/threads/{thread_id}/runs", params=params)
    for found in items:
        click.echo(f"{found['run_id']}  {found['status']:<11} {found['multitask_strategy']:<10} {found['created_at']}")
    if not items:
        click.echo("no runs", err=True)
    return 0


@runs.command("show")
@click.argument("thread_id")
@click.argument("run_id")
@api_command
async def show_run(api: Api, thread_id: str, run_id: str) -> int:
    """A run as JSON: status, assistant, input, options."""
    _dump(await api.call("GET", f"{LANGGRAPH}/threads/{thread_id}/runs/{run_id}"))
    return 0


@runs.command("logs")
@click.argument("thread_id")
@click.argument("run_id")
@click.option("--follow", "-f", "follow_", is_flag=True, help="Stream the run's events until it ends.")
@api_command
async def run_logs(api: Api, thread_id: str, run_id: str, follow_: bool) -> int:
    """The run's stream chunks (metadata, values, updates, error, ...) on stdout, its status on stderr.

    The stored chunks come from the run's join stream, which replays them and ends when the run
    has ended; so without ``--follow`` a run still going shows its progress events instead of
    waiting for it."""
    path = f"{LANGGRAPH}/threads/{thread_id}/runs/{run_id}"
    found = await api.call("GET", path)
    if found["status"] in ACTIVE and not follow_:
        for stored in (await api.call("GET", f"{JOBS}/{run_id}/events", params={"format": "json"}))["items"]:
            show_event(stored)
        click.echo(
            f"run {run_id} is {found['status']}: stream it with  vetrai runs logs {thread_id} {run_id} -f", err=True
        )
        return 0
    failed = False
    async for event, data in api.sse("GET", f"{path}/stream"):
        failed = failed or event == "error"
        click.echo(f"{event:<10} {json.dumps(data, default=str)}")
    status = (await api.call("GET", path))["status"]
    click.echo(f"● {status}", err=True)
    return 1 if failed else 0


@runs.command("cancel")
@click.argument("thread_id")
@click.argument("run_id")
@click.option(
    "--action",
    type=click.Choice(["interrupt", "rollback"]),
    default="interrupt",
    show_default=True,
    help="interrupt ends the run interrupted; rollback deletes it.",
)
@api_command
async def cancel_run(api: Api, thread_id: str, run_id: str, action: str) -> int:
    """Stop a pending or running run and wait until it has stopped."""
    path = f"{LANGGRAPH}/threads/{thread_id}/runs/{run_id}/cancel"
    await api.call("POST", path, params={"action": action, "wait": "1"})
    click.echo(f"run {run_id}: {'rolled back' if action == 'rollback' else 'cancelled'}", err=True)
    return 0


@runs.command("create")
@click.argument("thread_id")
@click.argument("assistant")
@click.option("--input", "input_", default=None, help="The run input as JSON.")
@click.option("--resume", default=None, help="JSON given to the thread's waiting interrupt() (command.resume).")
@click.option("--wait", "wait_", is_flag=True, help="Wait for the run and print the thread's final values.")
@api_command
async def create_run(
    api: Api, thread_id: str, assistant: str, input_: str | None, resume: str | None, wait_: bool
) -> int:
    """Start a run of ASSISTANT (an assistant id or a graph id) on THREAD_ID."""
    body: dict[str, Any] = {"assistant_id": assistant}
    if input_ is not None:
        body["input"] = json_option(input_, "--input")
    if resume is not None:
        body["command"] = {"resume": json_option(resume, "--resume")}
    if not wait_:
        created = await api.call("POST", f"{LANGGRAPH}/threads/{thread_id}/runs", json=body)
        click.echo(created["run_id"])
        click.echo(f"run {created['run_id']}: {created['status']}", err=True)
        return 0
    values = await api.call("POST", f"{LANGGRAPH}/threads/{thread_id}/runs/wait", json=body)
    _dump(values)
    if isinstance(values, dict) and values.get("__error__"):
        error = values["__error__"]
        click.echo(f"the run failed: {error.get('error')}: {error.get('message')}", err=True)
        return 1
    if isinstance(values, dict) and values.get("__interrupt__"):
        click.echo(
            f"thread {thread_id} waits for input: resume it with\n"
            f"  vetrai runs create {thread_id} {assistant} --resume JSON --wait",
            err=True,
        )
    return 0


def register(group: click.Group) -> None:
    group.add_command(threads)
    group.add_command(runs)
