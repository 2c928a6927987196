"""Resilience tests run against real processes (`vetrai serve`, `vetrai worker`, wrk).

``make resilience`` runs them at full size (VETRAI_RESILIENCE=full); inside ``make test`` they
run as a smoke (fewer jobs, seconds instead of minutes). Tests that restart PostgreSQL or
Redis only run in ``make resilience``: restarting the machine's shared services is not
something a test suite may do on its own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402 - bench/ is not a package; its process helpers are shared here

FULL = os.environ.get("VETRAI_RESILIENCE", "").lower() == "full"
BACKEND = os.environ.get("VETRAI_TEST_BACKEND", "sqlite")

collect_ignore = [] if FULL else ["test_service_restarts.py"]
if BACKEND != "postgres":
    # A worker to kill exists only with the Redis broker: the embedded broker runs jobs
    # inside the server process, which the soak and fuzz tests already cover.
    collect_ignore.append("test_worker_kill.py")


def size(smoke: int, full: int) -> int:
    """The smoke size inside ``make test``, the full size in ``make resilience``."""
    return full if FULL else smoke


@pytest.fixture(scope="module")
def backend() -> Iterator[harness.Backend]:
    with harness.backend(BACKEND) as chosen:
        yield chosen
