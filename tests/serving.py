"""The app on a real socket: hypercorn on a free loopback port, in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from vetrai.core.conformance import free_port


@contextlib.asynccontextmanager
async def serving(app: Any, *, lifespan: bool = True, within: float = 30.0) -> AsyncIterator[str]:
    """``app`` served by hypercorn on a free port in this event loop until the block ends; yields
    its base URL once ``/health`` answers 200 (within ``within`` seconds). ``lifespan=False``
    for an app whose lifespan already runs (a started test app's ``.app``)."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{free_port()}"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 1  # open streams do not hold a test's teardown
    stop = asyncio.Event()
    asgi = app if lifespan else _without_lifespan(app)
    task = asyncio.create_task(serve(asgi, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    base = f"http://{config.bind[0]}"
    try:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=base) as probe:
            while True:
                if task.done():
                    task.result()
                with contextlib.suppress(httpx.TransportError):
                    if (await probe.get("/health")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                await asyncio.sleep(0.05)
        yield base
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def _without_lifespan(app: Any) -> Any:
    """``app`` with the lifespan protocol answered here: the test app already started it."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await app(scope, receive, send)

    return asgi
