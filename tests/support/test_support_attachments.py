"""Attachments on filesystem storage and on a real S3 API (moto server): streaming upload,
limits, sniffed types, sanitized names, quota, and byte-identical downloads."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.conftest import API, s3_storage_url

LIMIT = 256 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(100_000)
PDF = b"%PDF-1.7\n" + os.urandom(5000)


@pytest.fixture(params=["filesystem", "s3"])
def storage_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(settings_factory, storage_kind, request, monkeypatch):
    monkeypatch.setenv("VETRAI_SUPPORT_MAX_ATTACHMENT_BYTES", str(LIMIT))
    overrides: dict[str, Any] = {"plugins": ["auth", "support"]}
    if storage_kind == "s3":
        overrides["storage_url"] = s3_storage_url(request.getfixturevalue("s3_endpoint"))
    return settings_factory(**overrides)


def multipart(
    content: bytes,
    filename: str = "screenshot.png",
    content_type: str = "application/octet-stream",
    field: str = "file",
) -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="note"\r\n\r\n'
            f"ignored field\r\n"
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{quoted}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def upload(client, actor, ticket, content: bytes, **kwargs: Any):
    body, headers = multipart(content, **kwargs)
    return await client.post(
        f"{API}/tickets/{ticket['id']}/attachments", data=body, headers={**actor.headers, **headers}
    )


async def stored_objects(platform, storage_kind) -> list[str]:
    """Every object key in the storage backend."""
    storage = platform.storage
    if storage_kind == "filesystem":
        return sorted(str(path.relative_to(storage.root)) for path in Path(storage.root).rglob("*") if path.is_file())
    s3 = await storage._s3()
    listing = await s3.list_objects_v2(Bucket=storage.bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


async def download(client, actor, ticket, attachment) -> tuple[int, bytes, dict[str, str]]:
    """Download through the API, following a presigned redirect to the S3 server if there is one."""
    response = await client.get(f"{API}/tickets/{ticket['id']}/attachments/{attachment['id']}", headers=actor.headers)
    if response.status_code == 302:
        location = response.headers["Location"]
        assert "X-Amz-Signature=" in location and "X-Amz-Expires=60" in location
        async with httpx.AsyncClient() as http:
            direct = await http.get(location)
        return direct.status_code, direct.content, dict(direct.headers)
    return response.status_code, await response.get_data(), dict(response.headers)


async def test_screenshot_round_trip_is_byte_identical(client, team, open_ticket, platform, storage_kind):
    ticket = await open_ticket(team.requester)
    response = await upload(client, team.requester, ticket, PNG, filename="screen shot é.png", content_type="image/png")
    assert response.status_code == 201, await response.get_data(as_text=True)
    attachment = await response.get_json()
    assert attachment["filename"] == "screen shot é.png"
    assert attachment["content_type"] == "image/png"
    assert attachment["size"] == len(PNG)
    assert attachment["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert attachment["uploaded_by_id"] == team.requester.id

    listing = await (
        await client.get(f"{API}/tickets/{ticket['id']}/attachments", headers=team.agent.headers)
    ).get_json()
    assert [item["id"] for item in listing["items"]] == [attachment["id"]]

    for actor in (team.requester, team.agent, team.admin):
        status, content, headers = await download(client, actor, ticket, attachment)
        assert status == 200
        assert content == PNG
        lowered = {k.lower(): v for k, v in headers.items()}
        assert lowered["content-disposition"].startswith("attachment;")
        assert "filename*=UTF-8''screen%20shot%20%C3%A9.png" in lowered["content-disposition"]
        assert lowered["content-type"] == "image/png"
        if storage_kind == "filesystem":
            assert lowered["x-content-type-options"] == "nosniff"

    keys = await stored_objects(platform, storage_kind)
    expected = f"org/{team.organization.id}/support/tickets/{ticket['id']}/{attachment['id']}"
    assert [key.removeprefix("files/") for key in keys] == [expected]


async def test_attachment_isolation(client, team, outsider_team, open_ticket):
    ticket = await open_ticket(team.requester)
    attachment = await (await upload(client, team.requester, ticket, PDF, filename="report.pdf")).get_json()
    other_ticket = await open_ticket(team.other_user)
    url = f"{API}/tickets/{ticket['id']}/attachments/{attachment['id']}"
    for actor in (outsider_team.agent, outsider_team.admin, team.other_user):
        assert (await client.get(url, headers=actor.headers)).status_code == 404
        assert (await client.get(f"{API}/tickets/{ticket['id']}/attachments", headers=actor.headers)).status_code == 404
        assert (await upload(client, actor, ticket, PDF)).status_code == 404
    # the attachment is not reachable through another ticket of the same organization
    wrong = f"{API}/tickets/{other_ticket['id']}/attachments/{attachment['id']}"
    assert (await client.get(wrong, headers=team.agent.headers)).status_code == 404
    assert (
        await client.get(f"{API}/tickets/{ticket['id']}/attachments/{uuid.uuid4()}", headers=team.agent.headers)
    ).status_code == 404
    assert (await client.get(url)).status_code == 401


async def test_too_large_is_413_and_nothing_is_kept(client, team, open_ticket, platform, storage_kind):
    ticket = await open_ticket(team.requester)
    response = await upload(client, team.requester, ticket, b"\x89PNG\r\n\x1a\n" + b"\0" * LIMIT)
    assert response.status_code == 413
    assert (await response.get_json())["max_bytes"] == LIMIT
    # far over the limit: refused from Content-Length before the body is read
    response = await upload(client, team.requester, ticket, b"\x89PNG\r\n\x1a\n" + b"\0" * (LIMIT * 2))
    assert response.status_code == 413
    # exactly at the limit is fine
    response = await upload(client, team.requester, ticket, b"\x89PNG\r\n\x1a\n" + b"\0" * (LIMIT - 8))
    assert response.status_code == 201
    assert len(await stored_objects(platform, storage_kind)) == 1
    listing = await (
        await client.get(f"{API}/tickets/{ticket['id']}/attachments", headers=team.requester.headers)
    ).get_json()
    assert len(listing["items"]) == 1


SNIFF_CASES = [
    (b"<!DOCTYPE html><script>alert(1)</script>", "image/png", 415),
    (b"  <html><body>hi</body></html>", "text/plain", 415),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml", 415),
    (b"hello <script>alert(1)</script>", "text/plain", 415),
    (b"MZ\x90\x00\x03" + b"\0" * 100, "image/png", 415),
    (b"\x00\x01\x02binary", "text/plain", 415),
    (PNG, "text/html", "image/png"),
    (PDF, "image/png", "application/pdf"),
    (b"GIF89a" + b"\0" * 20, "application/octet-stream", "image/gif"),
    ("plain log line ü\n".encode() * 10, "text/html", "text/plain"),
    (b"", "image/png", "text/plain"),
]


async def test_content_type_is_sniffed_never_trusted(client, team, open_ticket):
    ticket = await open_ticket(team.requester)
    for content, declared, expected in SNIFF_CASES:
        response = await upload(client, team.requester, ticket, content, content_type=declared)
        if expected == 415:
            assert response.status_code == 415, content[:40]
            assert (await response.get_json())["type"].endswith("unsupported-media-type")
        else:
            assert response.status_code == 201, await response.get_data(as_text=True)
            assert (await response.get_json())["content_type"] == expected, content[:40]


FILENAME_CASES = [
    ("../../../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\windows\\win.ini", "win.ini"),
    ("..", "attachment"),
    (".hidden.txt", "hidden.txt"),
    ("a\x01b<c>.txt", "a_b_c_.txt"),
    ("", "attachment"),
]


async def test_path_traversal_filenames_are_only_display_names(client, team, open_ticket, platform, storage_kind):
    ticket = await open_ticket(team.requester)
    for filename, shown in FILENAME_CASES:
        response = await upload(client, team.requester, ticket, b"just text", filename=filename)
        assert response.status_code == 201, await response.get_data(as_text=True)
        attachment = await response.get_json()
        assert attachment["filename"] == shown
        status, content, headers = await download(client, team.agent, ticket, attachment)
        assert content == b"just text"
        disposition = {k.lower(): v for k, v in headers.items()}["content-disposition"]
        assert ".." not in disposition and "/" not in disposition.split("filename*=")[0]
    listing = await (
        await client.get(f"{API}/tickets/{ticket['id']}/attachments", headers=team.agent.headers)
    ).get_json()
    expected = {f"org/{team.organization.id}/support/tickets/{ticket['id']}/{item['id']}" for item in listing["items"]}
    keys = await stored_objects(platform, storage_kind)
    assert {key.removeprefix("files/") for key in keys} == expected
    assert len(expected) == len(FILENAME_CASES)


async def test_bad_multipart_requests(client, team, open_ticket):
    ticket = await open_ticket(team.requester)
    url = f"{API}/tickets/{ticket['id']}/attachments"
    response = await client.post(url, json={"file": "x"}, headers=team.requester.headers)
    assert response.status_code == 422
    body, headers = multipart(b"data", field="upload")
    response = await client.post(url, data=body, headers={**team.requester.headers, **headers})
    assert response.status_code == 422
    body, headers = multipart(b"data")
    response = await client.post(url, data=body[: len(body) // 2], headers={**team.requester.headers, **headers})
    assert response.status_code == 400


async def test_storage_quota_counts_attachments(client, make_org, make_user, open_ticket, platform, storage_kind):
    organization = await make_org(limits={"max_storage_bytes": 150_000})
    requester = await make_user(role="user", organization=organization)
    ticket = await open_ticket(requester)
    assert (await upload(client, requester, ticket, PNG)).status_code == 201
    response = await upload(client, requester, ticket, PNG)
    assert response.status_code == 403
    problem = await response.get_json()
    assert problem["type"].endswith("quota-exceeded")
    assert problem["limit"] == "max_storage_bytes"
    assert len(await stored_objects(platform, storage_kind)) == 1
    # a small file still fits
    assert (await upload(client, requester, ticket, b"small note")).status_code == 201


async def test_closed_ticket_takes_no_attachments(client, team, open_ticket):
    ticket = await open_ticket(team.requester)
    await client.put(f"{API}/tickets/{ticket['id']}", json={"status": "closed"}, headers=team.requester.headers)
    assert (await upload(client, team.requester, ticket, PDF)).status_code == 409


async def test_s3_download_can_stream_through_the_server(settings_factory, s3_endpoint, monkeypatch, make_user_in):
    """With presigned downloads off, S3 objects stream through the API with the same headers."""
    monkeypatch.setenv("VETRAI_SUPPORT_PRESIGNED_DOWNLOADS", "false")
    async with make_user_in(settings_factory(plugins=["auth", "support"], storage_url=s3_storage_url(s3_endpoint))) as (
        client,
        actor,
    ):
        response = await client.post(f"{API}/tickets", json={"subject": "s", "description": "d"}, headers=actor.headers)
        ticket = await response.get_json()
        attachment = await (await upload(client, actor, ticket, PNG)).get_json()
        response = await client.get(
            f"{API}/tickets/{ticket['id']}/attachments/{attachment['id']}", headers=actor.headers
        )
        assert response.status_code == 200
        assert await response.get_data() == PNG
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Disposition"].startswith("attachment;")


async def test_missing_stored_object_is_404(client, team, open_ticket, platform):
    """Filesystem: the API answers 404; S3: the presigned redirect leads to an S3 error (403 or 404)."""
    ticket = await open_ticket(team.requester)
    attachment = await (await upload(client, team.requester, ticket, PDF)).get_json()
    await platform.storage.delete(f"org/{team.organization.id}/support/tickets/{ticket['id']}/{attachment['id']}")
    status, _content, _headers = await download(client, team.agent, ticket, attachment)
    assert status in ((403, 404) if platform.settings.storage_url.startswith("s3") else (404,))
