"""Rate limiters while Redis is unreachable: fail open with a log line, or 503 when configured.

The Redis here is a real client pointed at a port nothing listens on, which is exactly what a
server sees while Redis restarts.
"""

from __future__ import annotations

import logging
import socket

import pytest
from redis.asyncio import Redis

from vetrai.core.errors import ProblemError
from vetrai.plugins.auth.lockout import RedisLimiter
from vetrai.plugins.keys.ratelimit import RedisRateLimiter


@pytest.fixture
async def unreachable_redis():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    yield client
    await client.aclose()


async def test_login_limits_fail_open_with_a_log_line(unreachable_redis, caplog):
    limiter = RedisLimiter(unreachable_redis, "t:", fail_open=True)
    with caplog.at_level(logging.WARNING, logger="vetrai.ratelimits"):
        assert await limiter.hit("subject", 60) == 0
        assert await limiter.locked_for("subject") == 0
        await limiter.lock("subject", 60)
    assert "Redis is unreachable" in caplog.text


async def test_api_key_limits_fail_open(unreachable_redis):
    decision = await RedisRateLimiter(unreachable_redis, "t:", fail_open=True).hit("key", 10, 60)
    assert decision.allowed and decision.retry_after == 0


@pytest.mark.parametrize("limiter", ["login", "api key"])
async def test_failing_closed_answers_503_with_retry_after(unreachable_redis, limiter):
    with pytest.raises(ProblemError) as raised:
        if limiter == "login":
            await RedisLimiter(unreachable_redis, "t:", fail_open=False).hit("subject", 60)
        else:
            await RedisRateLimiter(unreachable_redis, "t:", fail_open=False).hit("key", 10, 60)
    assert raised.value.status == 503
    assert raised.value.headers["Retry-After"] == "5"
