"""The console's only way to the platform's data: the JSON API itself, called in-process.

Each call goes through the app (ASGI, no network) with the session's bearer token, so a page
sees exactly what the API lets its user see: the same scopes, roles, tenancy (another
organization's object is the API's 404) and validation, and no second business logic.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from quart import Quart

INTERNAL_BASE = "http://console.internal"


class ApiError(Exception):
    """A problem answer of the API: its status, detail and (for 422) field errors."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.errors = errors or []

    @property
    def message(self) -> str:
        if not self.errors:
            return self.detail
        fields = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', [])[1:])}: {error.get('msg')}" for error in self.errors
        )
        return f"{self.detail} ({fields})"


class ConsoleApi:
    """An API client bound to one access token; close it when the console request ends."""

    def __init__(
        self,
        app: Quart,
        token: str | None,
        client_ip: str | None = None,
        renew: Callable[[], Awaitable[str | None]] | None = None,
    ) -> None:
        # ``renew`` gives a fresh access token when the API says the current one expired
        # (it can lapse between the session check and a later call of the same page).
        self._renew = renew
        headers = {"Accept": "application/json"}
        if token:  # without one, only the API's public routes answer (sign-up)
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(client_ip or "127.0.0.1", 0)),  # type: ignore[arg-type]
            base_url=INTERNAL_BASE,
            headers=headers,
            trust_env=False,
            timeout=30,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        clean = {key: value for key, value in (params or {}).items() if value not in (None, "")}
        response = await self._client.request(method, path, json=json, params=clean, files=files)
        if response.status_code == 401 and self._renew is not None:
            # A 401 is decided before the route runs, so sending the request again is safe.
            token, self._renew = await self._renew(), None
            if token:
                self._client.headers["Authorization"] = f"Bearer {token}"
                response = await self._client.request(method, path, json=json, params=clean, files=files)
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {}
            raise ApiError(
                response.status_code, str(problem.get("detail") or response.reason_phrase), problem.get("errors")
            )
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def get(self, path: str, **params: Any) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, json: Any = None) -> Any:
        return await self.request("POST", path, json=json if json is not None else {})

    async def upload(self, path: str, field: str, filename: str, content: bytes, content_type: str) -> Any:
        """POST one file as multipart/form-data (the themes API's logo upload)."""
        return await self.request("POST", path, files={field: (filename, content, content_type)})

    async def put(self, path: str, json: Any) -> Any:
        return await self.request("PUT", path, json=json)

    async def delete(self, path: str) -> Any:
        return await self.request("DELETE", path)

    async def aclose(self) -> None:
        await self._client.aclose()
