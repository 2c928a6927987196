"""The baseline every API number is divided by: a bare Quart app on the same hypercorn settings."""

from __future__ import annotations

import argparse
import sys

from hypercorn.config import Config
from hypercorn.run import run
from quart import Quart

app = Quart(__name__)


@app.get("/")
async def hello() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.application_path = "hello_app:app"
    config.workers = 0 if args.workers <= 1 else args.workers
    config.accesslog = None
    config.graceful_timeout = 10
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    sys.exit(run(config))
