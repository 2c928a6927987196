"""A real HTTP server speaking the OpenAI chat-completions protocol, for the models tests.

It is the local peer the tests need (no OpenAI-compatible server ships as a test package):
Quart served by hypercorn on a loopback socket, answering ``POST /v1/chat/completions`` with
JSON or Server-Sent Events (content streamed word by word, tool calls, usage in the final
chunk). Its answers are deterministic functions of the request:

- a tool named like the forced ``tool_choice`` (structured output): arguments read from
  ``field: value`` pairs of the last user message, typed by the tool's JSON Schema;
- a ``calculator`` tool offered and arithmetic in the last user message: a calculator call;
- the last message a tool result: "The answer is <result>.";
- a prompt starting "Summarize": "Summary:" and the first words of the text;
- otherwise "Hello! You said: <last user message>".

Models named ``fail-401`` (or an api key starting ``sk-bad``), ``fail-429``, ``fail-500``,
``flaky-429`` (429 on its first call only) and ``slow`` (waits ``slow_seconds``) exercise errors.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, Response, request


def _words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_words(part.get("text", "") if isinstance(part, dict) else part) for part in value)
    return 0


def _cast(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    value = value.strip().strip("\"'")
    if kind == "integer":
        return int(re.sub(r"[^\d-]", "", value))
    if kind == "number":
        return float(re.sub(r"[^\d.-]", "", value))
    if kind == "boolean":
        return value.lower() in ("true", "yes", "1")
    return value


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.calls: dict[str, int] = {}
        self.slow_seconds = 5.0
        self.base_url = ""
        self.app = self._build()

    # --- answers ------------------------------------------------------------------------------

    def answer(self, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        messages = body.get("messages") or []
        tools = {tool["function"]["name"]: tool["function"] for tool in body.get("tools") or []}
        last = messages[-1] if messages else {}
        last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        text = last_user.get("content") if isinstance(last_user.get("content"), str) else ""
        forced = (
            ((body.get("tool_choice") or {}) if isinstance(body.get("tool_choice"), dict) else {})
            .get("function", {})
            .get("name")
        )
        if forced and forced in tools:
            schema = tools[forced].get("parameters") or {}
            args = {}
            for name, prop in (schema.get("properties") or {}).items():
                match = re.search(rf"(?i)\b{re.escape(name)}\s*[:=]\s*([^,;\n]+)", text)
                if match:
                    args[name] = _cast(match.group(1), prop)
            return "", [{"name": forced, "arguments": json.dumps(args)}]
        if last.get("role") == "tool":
            return f"The answer is {last.get('content')}.", []
        if "calculator" in tools and last.get("role") == "user":
            match = re.search(r"[\d(][\d\s+\-*/().]*[\d)]", text)
            if match and re.search(r"[+\-*/]", match.group(0)):
                return "", [{"name": "calculator", "arguments": json.dumps({"expression": match.group(0).strip()})}]
        if text.startswith("Summarize") or text.startswith("These are summaries"):
            body_text = text.split("\n\n", 1)[-1]
            return "Summary: " + " ".join(body_text.split()[:12]), []
        return f"Hello! You said: {text}", []

    # --- HTTP -----------------------------------------------------------------------------------

    def _build(self) -> Quart:
        app = Quart("fake_openai")

        @app.post("/v1/chat/completions")
        async def completions() -> Any:
            body = await request.get_json()
            model = body.get("model", "")
            auth = request.headers.get("Authorization", "")
            self.requests.append({"model": model, "headers": dict(request.headers), "body": body})
            self.calls[model] = self.calls.get(model, 0) + 1
            if model == "fail-401" or auth.startswith("Bearer sk-bad"):
                key = auth.removeprefix("Bearer ")
                return self._error(401, f"Incorrect API key provided: {key[:6]}***{key[-4:]}", "invalid_api_key")
            if model == "fail-429" or (model == "flaky-429" and self.calls[model] == 1):
                return self._error(429, "Rate limit reached", "rate_limit_exceeded", {"retry-after": "0"})
            if model == "fail-500":
                return self._error(500, "The server had an error", "server_error")
            if model == "slow":
                await asyncio.sleep(self.slow_seconds)
            content, calls = self.answer(body)
            prompt_tokens = sum(_words(m.get("content")) for m in body.get("messages") or [])
            completion_tokens = _words(content) + 5 * len(calls)
            usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
            if body.get("stream"):
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                return Response(
                    self._stream(model, content, calls, usage if include_usage else None), mimetype="text/event-stream"
                )
            message: dict[str, Any] = {"role": "assistant", "content": content or None}
            if calls:
                message["tool_calls"] = [
                    {"id": f"call_{index}", "type": "function", "function": call} for index, call in enumerate(calls)
                ]
            return {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
                "usage": usage,
            }

        return app

    def _error(self, status: int, message: str, code: str, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": code}})
        return Response(body, status=status, content_type="application/json", headers=headers or {})

    async def _stream(
        self, model: str, content: str, calls: list[dict[str, Any]], usage: dict[str, int] | None
    ) -> AsyncIterator[bytes]:
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            data = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return f"data: {json.dumps(data)}\n\n".encode()

        yield chunk({"role": "assistant", "content": ""})
        for index, word in enumerate(content.split(" ") if content else []):
            yield chunk({"content": word if index == 0 else " " + word})
            await asyncio.sleep(0)
        for index, call in enumerate(calls):
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": f"call_{index}",
                            "type": "function",
                            "function": {"name": call["name"], "arguments": ""},
                        }
                    ]
                }
            )
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": call["arguments"]}}]})
        yield chunk({}, "tool_calls" if calls else "stop")
        if usage is not None:
            yield f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n".encode()
        yield b"data: [DONE]\n\n"


class RunningServer:
    """``async with RunningServer(fake):`` serves ``fake`` on a free loopback port."""

    def __init__(self, fake: FakeOpenAI) -> None:
        self.fake = fake
        self._stop = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None

    async def __aenter__(self) -> FakeOpenAI:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        config = Config()
        config.bind = [f"fd://{sock.fileno()}"]
        config.accesslog = None
        config.errorlog = None
        config.graceful_timeout = 0.5
        self._task = asyncio.create_task(serve(self.fake.app, config, shutdown_trigger=self._stop.wait))  # type: ignore[arg-type]
        sock.detach()  # hypercorn owns (and closes) the descriptor from here on
        self.fake.base_url = f"http://127.0.0.1:{port}/v1"
        return self.fake

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        if self._task is not None:
            # Clients keep idle keep-alive connections (the OpenAI SDK pools them): once the
            # graceful period is over, the server task is cancelled rather than waited for.
            done, _pending = await asyncio.wait({self._task}, timeout=2)
            if not done:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
