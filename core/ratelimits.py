"""What every rate limiter does when Redis, which holds its counters, is unreachable.

Failing open keeps the API up through a Redis restart at the price of limits for its
duration, and says so in the log; deployments that prefer refusing work set
``VETRAI_RATE_LIMIT_FAIL_OPEN=false`` and get 503 problems with Retry-After instead.
"""

from __future__ import annotations

import logging

from vetrai.core.errors import ProblemError

log = logging.getLogger("vetrai.ratelimits")


def limiter_unavailable(limiter: str, error: Exception, *, fail_open: bool) -> None:
    """Return (failing open, logged) or raise the 503 problem (failing closed)."""
    if fail_open:
        log.warning("%s: Redis is unreachable (%s); letting the request through", limiter, type(error).__name__)
        return
    raise ProblemError(503, "rate limiting is temporarily unavailable", headers={"Retry-After": "5"})
