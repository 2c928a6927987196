"""Logs on stdout: one readable line per event in development, JSON lines in production.

``VETRAI_LOG_FORMAT`` chooses (``text`` or ``json``); unset, production logs JSON (for a log
shipper) and everything else text (for a person at a terminal; coloured when it is one). Both
carry the request id when there is one.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "color_message"}
_LEVEL_COLOURS = {"DEBUG": "\033[2m", "INFO": "\033[32m", "WARNING": "\033[33m", "ERROR": "\033[31m"}
_STATUS_COLOURS = {2: "\033[32m", 3: "\033[36m", 4: "\033[33m", 5: "\033[31m"}
_RESET = "\033[0m"


def _extra(record: logging.LogRecord) -> dict[str, object]:
    return {key: value for key, value in record.__dict__.items() if key not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(_extra(record))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    """``12:01:02 INFO  GET /api/v1/me 200 3.1 ms`` for requests; ``time LEVEL logger: message key=value`` otherwise."""

    def __init__(self, colour: bool) -> None:
        super().__init__()
        self.colour = colour

    def _paint(self, text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if self.colour and code else text

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        level = self._paint(f"{record.levelname:<7}", _LEVEL_COLOURS.get(record.levelname, ""))
        extra = _extra(record)
        if record.name == "vetrai.access" and "status" in extra:
            status = int(extra["status"])  # type: ignore[call-overload]
            args = record.args if isinstance(record.args, tuple) else ()
            path = args[1] if len(args) > 1 else extra.get("route")
            coloured = self._paint(str(status), _STATUS_COLOURS.get(status // 100, ""))
            line = f"{when} {level} {extra.get('method')} {path} {coloured} {extra.get('duration_ms')} ms"
        else:
            details = " ".join(f"{key}={value}" for key, value in extra.items())
            line = f"{when} {level} {record.name}: {record.getMessage()}" + (f"  {details}" if details else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _DropRunningOn(logging.Filter):
    """``vetrai serve`` prints one ready line with every URL; hypercorn's own (one per process) is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Running on ")


_DROP_RUNNING_ON = _DropRunningOn()


def configure_logging(level: str, log_format: str | None = None, env: str = "development") -> None:
    """Root handler on stdout; ``log_format`` None = json in production, text elsewhere."""
    chosen = log_format or ("json" if env == "production" else "text")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter(colour=sys.stdout.isatty()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("hypercorn.access", "tortoise", "aiosqlite", "asyncio", "botocore", "taskiq"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    hypercorn = logging.getLogger("hypercorn.error")
    if _DROP_RUNNING_ON not in hypercorn.filters:
        hypercorn.addFilter(_DROP_RUNNING_ON)
