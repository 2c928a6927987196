"""Attacks on the core: deep JSON, oversized settings, SSRF through IPv6 forms and DNS rebinding, /metrics."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from vetrai.core.json_depth import MAX_JSON_DEPTH, too_deep
from vetrai.core.organizations.schemas import MAX_SETTINGS_BYTES
from vetrai.core.outbound import PrivateAddressError, ensure_public_host, guarded_client, is_private, public_addresses

JSON = {"Content-Type": "application/json"}


def nested_array(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


# --- JSON nesting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        nested_array(1000),  # the reviewed attack
        nested_object(1000),
        '{"email": "a@example.com", "password": ' + nested_array(500) + "}",
        nested_array(MAX_JSON_DEPTH + 1),
        "[" * 100_000,  # malformed and deep: the parser would still descend
        '[{"a": [' * 40 + "1" + "]}]" * 40,
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/login", "/api/v1/register", "/api/v1/organizations"])
async def test_deep_json_is_a_400_before_parsing(client, make_user, body, path):
    admin = await make_user("org_admin")
    response = await client.post(path, data=body, headers={**JSON, **admin.headers})
    assert response.status_code == 400
    problem = await response.get_json()
    assert problem["type"].endswith("json-too-deep") and str(MAX_JSON_DEPTH) in problem["detail"]


async def test_json_nested_to_the_limit_and_brackets_in_strings_pass(client, make_user):
    admin = await make_user("org_admin")
    url = f"/api/v1/organizations/{admin.organization_id}"
    deep_but_allowed = {"settings": {"tree": __import__("json").loads(nested_array(MAX_JSON_DEPTH - 3))}}
    response = await client.put(url, json=deep_but_allowed, headers=admin.headers)
    assert response.status_code == 200
    text_of_brackets = {"settings": {"note": "[" * 5000 + "{" * 5000}}
    assert (await client.put(url, json=text_of_brackets, headers=admin.headers)).status_code == 200


def test_the_depth_scan_on_its_own():
    assert not too_deep(b'{"a": "[[[[[[[[[[\\"]]]]"}' * 100)
    assert too_deep(nested_array(65).encode()) and not too_deep(nested_array(64).encode())
    assert too_deep(b"[" * 65 + b"}" * 65)  # mismatched brackets count as nesting too
    assert not too_deep(b"[" + b"[1]," * 100_000 + b"[]]")


# --- organization settings ---------------------------------------------------------------------


@pytest.mark.parametrize("size", [MAX_SETTINGS_BYTES + 1, 15 * 1024 * 1024])
async def test_oversized_settings_are_refused(client, make_user, size):
    admin = await make_user("org_admin")
    url = f"/api/v1/organizations/{admin.organization_id}"
    response = await client.put(url, json={"settings": {"blob": "x" * size}}, headers=admin.headers)
    assert response.status_code in (413, 422)
    fetched = await (await client.get(url, headers=admin.headers)).get_json()
    assert fetched["settings"] == {}
    root = await make_user("super_admin")
    created = await client.post(
        "/api/v1/organizations", json={"name": "Big", "settings": {"blob": "x" * size}}, headers=root.headers
    )
    assert created.status_code in (413, 422)


async def test_settings_up_to_the_limit_are_kept(client, make_user):
    admin = await make_user("org_admin")
    url = f"/api/v1/organizations/{admin.organization_id}"
    settings = {"blob": "x" * (MAX_SETTINGS_BYTES - 100)}
    response = await client.put(url, json={"settings": settings}, headers=admin.headers)
    assert response.status_code == 200 and (await response.get_json())["settings"] == settings


# --- SSRF --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://[::7f00:1]/",  # the reviewed attack: IPv4-compatible IPv6
        "http://[::ffff:7f00:1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::127.0.0.1]/",
        "http://[64:ff9b::7f00:1]/",  # NAT64
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of the cloud metadata address
        "http://[2002:7f00:1::]/",  # 6to4
        "http://[::a00:1]/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://[::]/",
        "http://0.0.0.0/",
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://0x7f.1/",
        "http://127.1/",
        "http://100.64.0.1/",
    ],
)
async def test_private_destinations_in_any_form_are_refused(url):
    with pytest.raises(PrivateAddressError):
        await ensure_public_host(url)
    async with guarded_client(timeout=2) as client:
        with pytest.raises(PrivateAddressError):
            await client.get(url)


def test_public_forms_stay_public():
    for address in ("93.184.216.34", "2606:4700:4700::1111", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"):
        assert not is_private(address), address


@pytest.fixture
def local_server():
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()


async def test_a_name_that_rebinds_after_the_check_is_refused_at_connect(local_server):
    """DNS rebinding: public when checked, loopback when connecting. The transport checks what it dials."""
    port, hits = local_server
    answers = [["93.184.216.34"], ["127.0.0.1"]]
    calls: list[str] = []

    async def rebinding(host: str, port: int = 0) -> list[str]:
        calls.append(host)
        return answers[min(len(calls) - 1, 1)]

    assert await public_addresses("rebind.example.com", resolver=rebinding) == ["93.184.216.34"]
    async with guarded_client(timeout=2, resolver=rebinding) as client:
        with pytest.raises(PrivateAddressError):
            await client.get(f"http://rebind.example.com:{port}/secret")
    assert hits == []
    async with guarded_client(timeout=2, allow_private=True) as client:  # the explicit opt-in still works
        assert (await client.get(f"http://127.0.0.1:{port}/ok")).status_code == 204
    assert hits == ["/ok"]


# --- /metrics --------------------------------------------------------------------------------


async def test_metrics_are_not_public_by_default(app, client, monkeypatch):
    settings = app.app.extensions["vetrai"].settings
    assert (await client.get("/metrics")).status_code == 403
    monkeypatch.setattr(settings, "metrics_token", "s3cret-scrape")
    assert (await client.get("/metrics")).status_code == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401
    right = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
    assert right.status_code == 200 and b"vetrai_http_requests_total" in await right.get_data()
    monkeypatch.setattr(settings, "metrics_token", None)
    monkeypatch.setattr(settings, "metrics_public", True)
    assert (await client.get("/metrics")).status_code == 200


async def test_an_unstorable_character_anywhere_in_a_json_body_is_422_naming_where(client, make_user):
    """PostgreSQL stores no NUL in text or jsonb, no UTF-8 column holds an unpaired UTF-16
    surrogate and JSON columns no integer past 64 bits: refused on every backend, before any
    route (the fuzzer found 500s)."""
    admin = await make_user(role="org_admin")
    for body, location in (
        ('{"name": "a\\u0000b"}', ["body", "name"]),
        ('{"settings": {"k\\u0000": 1}}', ["body", "settings", "k\x00"]),
        ('{"settings": {"list": ["ok", "n\\u0000"]}}', ["body", "settings", "list", 1]),
        ('{"name": "lone \\ud82c"}', ["body", "name"]),
        ('{"settings": {"\\uDE2Cx": 1}}', ["body", "settings", "\ude2cx"]),
        ('{"settings": {"big": [1, 18446744073709551616]}}', ["body", "settings", "big", 1]),
        ('{"settings": {"small": -9223372036854775809}}', ["body", "settings", "small"]),
    ):
        response = await client.put(
            f"/api/v1/organizations/{admin.organization_id}",
            data=body,
            headers={**admin.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, body
        assert (await response.get_json())["errors"][0]["loc"] == location
    largest = '{"settings": {"n": 18446744073709551615, "m": -9223372036854775808}}'  # 64 bits: stored
    response = await client.put(
        f"/api/v1/organizations/{admin.organization_id}",
        data=largest,
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200 and (await response.get_json())["settings"]["n"] == 2**64 - 1
    paired = '{"name": "a pair \\ud83d\\ude00 is one character"}'  # an emoji, escaped: stored as it is
    response = await client.put(
        f"/api/v1/organizations/{admin.organization_id}",
        data=paired,
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200 and (await response.get_json())["name"] == "a pair \U0001f600 is one character"


async def test_an_unstorable_character_in_a_query_or_path_parameter_is_422(client, make_user):
    admin = await make_user(role="org_admin")
    response = await client.get("/api/v1/audit-logs?action=a%00b", headers=admin.headers)
    assert response.status_code == 422
    assert (await response.get_json())["errors"][0]["loc"] == ["query", "action"]
    response = await client.get("/api/v1/users/a%00b", headers=admin.headers)
    assert response.status_code == 422
    assert (await response.get_json())["errors"][0]["loc"] == ["path", "user_id"]
    assert (await client.get("/api/v1/audit-logs?action=a%C3%A9", headers=admin.headers)).status_code == 200
