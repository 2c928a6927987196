"""Themes fixtures: an app with core, auth, keys and themes only, test images, helpers."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from vetrai.core.config import Settings

PROBLEM = "application/problem+json"
THEME = {
    "primary_color": "#123456",
    "secondary_color": "rgb(10, 20, 30)",
    "accent_color": "#ff8800",
    "background_color": "#fafafa",
    "text_color": "#222222",
    "font_family": '"Acme Sans", Georgia, serif',
}


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    """Only core, auth, keys and themes: this suite does not depend on other plugins' progress."""
    return settings_factory(plugins=["auth", "keys", "themes"])


def png(width: int = 3, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real (decodable) RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def ico() -> bytes:
    """An ICO holding one PNG image (the modern ICO layout)."""
    image = png(16, 16)
    directory = struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, len(image), 6 + 16)
    return struct.pack("<HHH", 0, 1, 1) + directory + image


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
WEBP = b"RIFF" + struct.pack("<I", 30) + b"WEBPVP8 " + struct.pack("<I", 18) + b"\x00" * 18
SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
)


def multipart(
    data: bytes, filename: str = "logo.png", content_type: str = "image/png", field: str = "file"
) -> tuple[bytes, dict[str, str]]:
    boundary = "----vetrai-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture
def upload(client: Any) -> Callable[..., Any]:
    """``await upload(actor, "logo", data, filename=..., content_type=...)`` -> response."""

    async def factory(actor: Any, kind: str, data: bytes, **kwargs: Any) -> Any:
        body, headers = multipart(data, **kwargs)
        return await client.post(f"/api/v1/themes/assets/{kind}", data=body, headers={**actor.headers, **headers})

    return factory


@pytest.fixture
def make_page(client: Any) -> Callable[..., Any]:
    """``await make_page(actor, slug, **fields)`` -> the created page (through the API)."""

    async def factory(actor: Any, slug: str, **fields: Any) -> dict[str, Any]:
        body = {
            "slug": slug,
            "title": fields.pop("title", slug.title()),
            "content": "<p>hello</p>",
            "is_published": True,
            **fields,
        }
        response = await client.post("/api/v1/themes/pages", json=body, headers=actor.headers)
        assert response.status_code == 201, await response.get_data(as_text=True)
        return await response.get_json()

    return factory


@pytest.fixture
def make_api_key(client: Any) -> Callable[..., Any]:
    async def factory(actor: Any, scopes: list[str]) -> str:
        response = await client.post(
            "/api/v1/keys", json={"name": "themes test", "scopes": scopes}, headers=actor.headers
        )
        assert response.status_code == 201, await response.get_data(as_text=True)
        return (await response.get_json())["key"]

    return factory
