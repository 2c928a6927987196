"""Everything the console knows about the workflow engine, in one place: its HTTP API's paths and shapes.

The engine is called only through ``/api/v1/workers`` (in-process, see ``api.py``), so a change
of the engine's internals needs no change here, and a change of its API changes only this module.
"""

from __future__ import annotations

from typing import Any

from vetrai.plugins.console.api import ConsoleApi

BASE = "/api/v1/workers"
STATUSES = ("queued", "running", "interrupted", "succeeded", "failed", "cancelled", "timed_out")
FINISHED = frozenset({"succeeded", "failed", "cancelled", "timed_out"})
CANCELLABLE = frozenset({"queued", "running", "interrupted"})
RETRYABLE = frozenset({"failed", "timed_out", "cancelled"})  # as the engine's retry_job accepts


async def list_templates(api: ConsoleApi) -> list[dict[str, Any]]:
    page = await api.get(f"{BASE}/templates", limit=200)
    return page["items"]


async def get_template(api: ConsoleApi, template_id: str) -> dict[str, Any]:
    return await api.get(f"{BASE}/templates/{template_id}")


async def template_graph(api: ConsoleApi, template_id: str) -> dict[str, Any]:
    """``{"nodes": [...], "edges": [{"source", "target", "conditional"}], "mermaid": ...}``."""
    return await api.get(f"{BASE}/templates/{template_id}/graph")


async def list_runs(
    api: ConsoleApi, *, status: str | None = None, template_id: str | None = None, cursor: str | None = None
) -> dict[str, Any]:
    return await api.get(f"{BASE}/jobs", status=status, template_id=template_id, cursor=cursor, limit=50)


async def get_run(api: ConsoleApi, run_id: str) -> dict[str, Any]:
    return await api.get(f"{BASE}/jobs/{run_id}")


async def run_events(api: ConsoleApi, run_id: str, after: int | None = None) -> list[dict[str, Any]]:
    """Stored events after ``after`` (``{"id", "type", "node", "data", "time"}``), oldest first."""
    page = await api.get(f"{BASE}/jobs/{run_id}/events", format="json", after=after)
    return page["items"]


async def start_run(api: ConsoleApi, template_id: str, input_values: dict[str, Any]) -> dict[str, Any]:
    return await api.post(f"{BASE}/jobs", {"template_id": template_id, "input": input_values})


async def cancel_run(api: ConsoleApi, run_id: str) -> dict[str, Any]:
    return await api.post(f"{BASE}/jobs/{run_id}/cancel")


async def retry_run(api: ConsoleApi, run_id: str) -> dict[str, Any]:
    return await api.post(f"{BASE}/jobs/{run_id}/retry")


async def resume_run(api: ConsoleApi, run_id: str, value: Any) -> dict[str, Any]:
    return await api.post(f"{BASE}/jobs/{run_id}/resume", {"value": value})


def resume_schema(run: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema an interrupted run waits for, when its interrupt says so (``expects``)."""
    for value in run.get("interrupt") or ():
        if isinstance(value, dict) and isinstance(value.get("expects"), dict):
            return value["expects"]
    return None


def interrupt_prompts(run: dict[str, Any]) -> list[Any]:
    """What the run asks, without the schema: shown above the resume form."""
    prompts = []
    for value in run.get("interrupt") or ():
        if isinstance(value, dict):
            prompts.append({key: item for key, item in value.items() if key != "expects"})
        else:
            prompts.append(value)
    return prompts


async def monthly_run_count(api: ConsoleApi, month_start: str, cap: int = 1000) -> tuple[int, bool]:
    """Runs created since ``month_start`` (ISO), counted page by page up to ``cap``; (count, capped)."""
    count, cursor = 0, None
    while True:
        page = await api.get(f"{BASE}/jobs", limit=200, cursor=cursor)
        for run in page["items"]:
            if str(run["created_at"]) < month_start:
                return count, False
            count += 1
            if count >= cap:
                return count, True
        cursor = page.get("next_cursor")
        if not cursor:
            return count, False


async def daily_run_counts(api: ConsoleApi, since: str, cap: int = 2000) -> tuple[dict[str, dict[str, int]], bool]:
    """Runs created per day since ``since`` (ISO date), failed ones counted apart; (by day, capped).

    The engine has no per-day count, so the runs are read newest first, page by page, up to ``cap``.
    """
    days: dict[str, dict[str, int]] = {}
    seen, cursor = 0, None
    while True:
        page = await api.get(f"{BASE}/jobs", limit=200, cursor=cursor)
        for run in page["items"]:
            day = str(run["created_at"])[:10]
            if day < since:
                return days, False
            counts = days.setdefault(day, {"requests": 0, "errors": 0})
            counts["requests"] += 1
            if run["status"] in ("failed", "timed_out"):
                counts["errors"] += 1
            seen += 1
            if seen >= cap:
                return days, True
        cursor = page.get("next_cursor")
        if not cursor:
            return days, False
