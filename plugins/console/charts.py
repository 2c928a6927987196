"""Bar charts drawn as plain SVG on the server (no chart library, nothing inline for the CSP to refuse)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

WIDTH = 720
HEIGHT = 180
AXIS = 24


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    errors: int
    error_height: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    peak: int
    first: str
    last: str


def _every_day(usage: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer lists only days with traffic: fill the range so quiet days show as empty slots."""
    known = {str(day["date"]): day for day in usage.get("daily") or []}
    try:
        first, last = date.fromisoformat(str(usage["from"])), date.fromisoformat(str(usage["to"]))
    except (KeyError, ValueError):
        return list(known.values())
    days = []
    current = first
    while current <= last and len(days) < 366:
        days.append(known.get(current.isoformat(), {"date": current.isoformat(), "requests": 0, "errors": 0}))
        current += timedelta(days=1)
    return days


def usage_chart(usage: dict[str, Any]) -> Chart:
    """Requests (and errors, darker) per day of a key's usage answer, scaled to the busiest day."""
    days = _every_day(usage)
    peak = max((int(day["requests"]) for day in days), default=0)
    plot = HEIGHT - AXIS
    slot = WIDTH / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        requests, errors = int(day["requests"]), int(day["errors"])
        height = plot * requests / peak if peak else 0
        bars.append(
            Bar(
                x=round(index * slot + slot * 0.15, 2),
                y=round(plot - height, 2),
                width=round(slot * 0.7, 2),
                height=round(height, 2),
                label=str(day["date"]),
                value=requests,
                errors=errors,
                error_height=round(plot * errors / peak, 2) if peak else 0,
            )
        )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        peak=peak,
        first=str(days[0]["date"]) if days else "",
        last=str(days[-1]["date"]) if days else "",
    )
