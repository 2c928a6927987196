"""SLA arithmetic with no database in it: default targets and adding minutes in business hours."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PRIORITIES = ("low", "medium", "high", "urgent")

DEFAULT_TARGETS: dict[str, dict[str, int]] = {
    "urgent": {"first_response_minutes": 60, "resolution_minutes": 4 * 60},
    "high": {"first_response_minutes": 4 * 60, "resolution_minutes": 24 * 60},
    "medium": {"first_response_minutes": 8 * 60, "resolution_minutes": 3 * 24 * 60},
    "low": {"first_response_minutes": 24 * 60, "resolution_minutes": 7 * 24 * 60},
}

MAX_DAYS_SCANNED = 3660
"""Business-hour arithmetic gives up after ten years of calendar (a policy with no open day)."""
MIN_WEEKLY_MINUTES = 60
"""Business hours must give the clock at least an hour a week."""
log = logging.getLogger("vetrai.support")


class PolicyProblem(ValueError):
    """An SLA policy whose targets cannot be reached within the calendar the arithmetic scans."""


def _minutes(clock: str) -> int:
    parsed = _parse_clock(clock)
    return parsed.hour * 60 + parsed.minute


def check_policy(targets: dict[str, dict[str, int]], business_hours: dict[str, Any] | None) -> None:
    """Refuse a policy under which some due time lies beyond the scanned calendar.

    With business hours the clock only runs in working time: 525,600 minutes (a year) at one
    minute a week would be ten thousand years away, and every ticket creation would fail.
    The longest target must be reachable within ``MAX_DAYS_SCANNED`` days, with a week of
    slack for the week the ticket is opened in and daylight-saving shifts.
    """
    if not business_hours:
        return
    weekly = len(set(business_hours["days"])) * (_minutes(business_hours["end"]) - _minutes(business_hours["start"]))
    if weekly < MIN_WEEKLY_MINUTES:
        raise PolicyProblem(f"business hours must add up to at least {MIN_WEEKLY_MINUTES} minutes a week")
    longest = max(value for target in targets.values() for value in target.values())
    weeks = -(-longest // weekly) + 2
    if weeks * 7 > MAX_DAYS_SCANNED:
        raise PolicyProblem(
            f"a target of {longest} working minutes at {weekly} working minutes a week is more than "
            f"{MAX_DAYS_SCANNED // 365} years away: shorten the targets or widen the business hours"
        )


def merged_targets(stored: dict[str, Any] | None) -> dict[str, dict[str, int]]:
    """Every priority's targets: the stored ones over the defaults."""
    result = {priority: dict(values) for priority, values in DEFAULT_TARGETS.items()}
    for priority, values in (stored or {}).items():
        if priority in result and isinstance(values, dict):
            result[priority].update({k: int(v) for k, v in values.items() if k in result[priority]})
    return result


def _parse_clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def add_minutes(start: datetime, minutes: int, business_hours: dict[str, Any] | None = None) -> datetime:
    """``start`` plus ``minutes`` of wall-clock time, or of working time when business hours are set.

    Business hours are ``{"timezone", "days" (0 = Monday), "start": "HH:MM", "end": "HH:MM"}``;
    time outside them does not count, so a ticket opened on Friday evening is due on Monday.
    """
    start = start.astimezone(UTC)
    if not business_hours:
        return start + timedelta(minutes=minutes)
    zone = ZoneInfo(business_hours["timezone"])
    days = set(business_hours["days"])
    open_at = _parse_clock(business_hours["start"])
    close_at = _parse_clock(business_hours["end"])
    remaining = timedelta(minutes=minutes)
    day = start.astimezone(zone).date()
    for _ in range(MAX_DAYS_SCANNED):
        if day.weekday() in days:
            # aware datetimes in one tzinfo subtract as wall-clock times: compare in UTC (DST)
            window_start = datetime.combine(day, open_at, zone).astimezone(UTC)
            window_end = datetime.combine(day, close_at, zone).astimezone(UTC)
            begin = max(window_start, start)
            if begin < window_end:
                available = window_end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
    # Only a policy stored before check_policy existed gets here: due in wall-clock time
    # rather than failing the ticket that asked.
    log.warning("SLA business hours leave no working time within %s days; counting wall-clock time", MAX_DAYS_SCANNED)
    return start + timedelta(minutes=minutes)
