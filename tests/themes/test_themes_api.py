"""/api/v1/themes: defaults, create (one per organization), partial update, validation, roles."""

from __future__ import annotations

from vetrai.core.models import AuditLog
from vetrai.plugins.themes.models import Theme
from vetrai.plugins.themes.service import DEFAULT_THEME

from .conftest import PROBLEM, THEME


async def test_defaults_when_the_organization_has_no_theme(client, make_user):
    user = await make_user("user")
    response = await client.get("/api/v1/themes", headers=user.headers)
    assert response.status_code == 200
    body = await response.get_json()
    assert body["is_default"] is True and body["id"] is None
    assert {name: body[name] for name in DEFAULT_THEME} == DEFAULT_THEME
    assert body["logo_url"] is None and body["favicon_url"] is None
    assert body["css_url"] == f"/p/{user.organization.slug}/theme.css"
    assert body["public_url"] == f"/p/{user.organization.slug}/"
    assert body["organization_id"] == user.organization_id


async def test_create_then_409_then_get(client, make_user):
    admin = await make_user("org_admin")
    response = await client.post("/api/v1/themes", json=THEME, headers=admin.headers)
    assert response.status_code == 201, await response.get_data(as_text=True)
    created = await response.get_json()
    assert created["is_default"] is False and created["id"]
    assert created["primary_color"] == "#123456"
    assert created["secondary_color"] == "rgb(10, 20, 30)"
    assert created["font_family"] == '"Acme Sans", Georgia, serif'
    assert created["custom_css"] == ""
    again = await client.post("/api/v1/themes", json=THEME, headers=admin.headers)
    assert again.status_code == 409 and again.content_type == PROBLEM
    assert await Theme.filter(organization_id=admin.organization.id).count() == 1
    read = await (await client.get("/api/v1/themes", headers=admin.headers)).get_json()
    assert read == created
    assert await AuditLog.exists(action="themes.theme_created", target_id=created["id"])


async def test_put_is_partial_and_creates_from_defaults(client, make_user):
    admin = await make_user("org_admin")
    response = await client.put("/api/v1/themes", json={"accent_color": "#ABCDEF"}, headers=admin.headers)
    assert response.status_code == 200
    body = await response.get_json()
    assert body["is_default"] is False and body["accent_color"] == "#abcdef"
    assert body["primary_color"] == DEFAULT_THEME["primary_color"]
    response = await client.put(
        "/api/v1/themes",
        json={"primary_color": "rgba(1,2,3,0.5)", "font_family": "Inter, sans-serif"},
        headers=admin.headers,
    )
    body = await response.get_json()
    assert response.status_code == 200
    assert body["primary_color"] == "rgba(1, 2, 3, 0.5)" and body["accent_color"] == "#abcdef"
    assert body["font_family"] == "Inter, sans-serif"
    assert body["updated_at"] >= body["created_at"]
    # the POST now conflicts
    assert (await client.post("/api/v1/themes", json=THEME, headers=admin.headers)).status_code == 409


async def test_custom_css_is_sanitized_on_save(client, make_user):
    admin = await make_user("org_admin")
    css = (
        "@import url(https://evil.example.com/x.css);\n"
        "body { color: #333; behavior: url(x.htc); -moz-binding: url(x.xml#x); width: expression(alert(1)); }\n"
        ".hero { background: url(https://evil.example.com/track.png); padding: 2rem; }\n"
        "h1 { font-family: 'Open Sans', sans-serif; }\n"
    )
    response = await client.post("/api/v1/themes", json={**THEME, "custom_css": css}, headers=admin.headers)
    assert response.status_code == 201
    saved = (await response.get_json())["custom_css"]
    assert "body { color: #333; }" in saved
    assert ".hero { padding: 2rem; }" in saved
    assert (
        'h1 { font-family: "Open Sans", sans-serif; }' in saved
        or "h1 { font-family: 'Open Sans', sans-serif; }" in saved
    )
    for bad in ("@import", "behavior", "binding", "expression", "evil", "url("):
        assert bad not in saved
    cleared = await client.put("/api/v1/themes", json={"custom_css": ""}, headers=admin.headers)
    assert (await cleared.get_json())["custom_css"] == ""


async def test_validation_errors(client, make_user):
    admin = await make_user("org_admin")
    bad_bodies = [
        {**THEME, "primary_color": "red"},
        {**THEME, "primary_color": "#12345"},
        {**THEME, "primary_color": "rgb(256, 0, 0)"},
        {**THEME, "primary_color": "#123456; background: url(x)"},
        {**THEME, "text_color": "expression(alert(1))"},
        {**THEME, "font_family": "Comic Sans; } body { background: red"},
        {**THEME, "font_family": "NotARealFont"},
        {**THEME, "font_family": '"Bad</style>"'},
        {**THEME, "font_family": ""},
        {**THEME, "unexpected": 1},
        {key: value for key, value in THEME.items() if key != "primary_color"},
    ]
    for body in bad_bodies:
        response = await client.post("/api/v1/themes", json=body, headers=admin.headers)
        assert response.status_code == 422, body
        assert response.content_type == PROBLEM and (await response.get_json())["errors"]
    response = await client.put("/api/v1/themes", json={"accent_color": "javascript:alert(1)"}, headers=admin.headers)
    assert response.status_code == 422
    too_long = await client.put("/api/v1/themes", json={"custom_css": "a{color:red}" * 10_000}, headers=admin.headers)
    assert too_long.status_code == 422
    malformed = await client.post(
        "/api/v1/themes", data="{", headers={**admin.headers, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert not await Theme.exists(organization_id=admin.organization.id)


async def test_only_admins_change_the_theme(client, make_user, make_api_key):
    admin = await make_user("org_admin")
    for role in ("user", "support_agent", "billing_admin"):
        member = await make_user(role, organization=admin.organization)
        assert (await client.get("/api/v1/themes", headers=member.headers)).status_code == 200
        assert (await client.post("/api/v1/themes", json=THEME, headers=member.headers)).status_code == 403
        assert (
            await client.put("/api/v1/themes", json={"accent_color": "#000"}, headers=member.headers)
        ).status_code == 403
    super_admin = await make_user("super_admin")
    assert (await client.post("/api/v1/themes", json=THEME, headers=super_admin.headers)).status_code == 201
    # an API key needs the scope: read-only keys cannot write even for an org_admin
    read_only = await make_api_key(admin, ["themes:read"])
    key_headers = {"Authorization": f"Bearer {read_only}"}
    assert (await client.get("/api/v1/themes", headers=key_headers)).status_code == 200
    denied = await client.put("/api/v1/themes", json={"accent_color": "#000"}, headers=key_headers)
    assert denied.status_code == 403 and (await denied.get_json())["type"].endswith("insufficient-scope")
    writer = await make_api_key(admin, ["themes:read", "themes:write"])
    allowed = await client.put("/api/v1/themes", json={"accent_color": "#000"}, headers={"X-API-Key": writer})
    assert allowed.status_code == 200


async def test_unauthenticated_is_401(client):
    for method, path in (("GET", "/api/v1/themes"), ("POST", "/api/v1/themes"), ("PUT", "/api/v1/themes")):
        response = await client.open(path, method=method, json=THEME)
        assert response.status_code == 401, (method, path)
        assert response.content_type == PROBLEM and "WWW-Authenticate" in response.headers


async def test_themes_are_per_organization(client, make_user):
    first = await make_user("org_admin")
    second = await make_user("org_admin")
    await client.post("/api/v1/themes", json=THEME, headers=first.headers)
    other = await (await client.get("/api/v1/themes", headers=second.headers)).get_json()
    assert other["is_default"] is True and other["organization_id"] == second.organization_id
    # the second organization creates its own without conflicting
    assert (await client.post("/api/v1/themes", json=THEME, headers=second.headers)).status_code == 201
    await client.put("/api/v1/themes", json={"accent_color": "#010101"}, headers=second.headers)
    mine = await (await client.get("/api/v1/themes", headers=first.headers)).get_json()
    assert mine["accent_color"] == THEME["accent_color"]


async def test_theme_changes_emit_events(client, make_user, vetrai_events):
    admin = await make_user("org_admin")
    await client.post("/api/v1/themes", json=THEME, headers=admin.headers)
    await client.put("/api/v1/themes", json={"text_color": "#000000"}, headers=admin.headers)
    changes = vetrai_events.of("themes.theme_changed")
    assert len(changes) == 2
    assert changes[1].data["fields"] == ["text_color"]
    assert changes[1].organization_id == admin.organization.id


async def test_super_admin_works_on_any_organization_others_get_404(client, make_user, make_page):
    import uuid

    super_admin = await make_user("super_admin")
    customer = await make_user("org_admin")
    target = f"?organization_id={customer.organization_id}"
    created = await client.post(f"/api/v1/themes{target}", json=THEME, headers=super_admin.headers)
    assert created.status_code == 201
    assert (await created.get_json())["organization_id"] == customer.organization_id
    mine = await (await client.get("/api/v1/themes", headers=customer.headers)).get_json()
    assert mine["id"] == (await created.get_json())["id"]
    assert (await (await client.get("/api/v1/themes", headers=super_admin.headers)).get_json())["is_default"] is True
    page = await client.post(
        f"/api/v1/themes/pages{target}", json={"slug": "hello", "title": "Hi"}, headers=super_admin.headers
    )
    assert page.status_code == 201 and (await page.get_json())["organization_id"] == customer.organization_id
    listed = await (await client.get(f"/api/v1/themes/pages{target}", headers=super_admin.headers)).get_json()
    assert [item["slug"] for item in listed["items"]] == ["hello"]
    assert (
        await client.put(f"/api/v1/themes/pages/hello{target}", json={"title": "Hello"}, headers=super_admin.headers)
    ).status_code == 200
    assert (await client.get(f"/api/v1/themes/pages/hello{target}", headers=super_admin.headers)).status_code == 200
    assert (await client.delete(f"/api/v1/themes/pages/hello{target}", headers=super_admin.headers)).status_code == 204
    # nobody else may name another organization: 404, as for any other tenant's object
    stranger = await make_user("org_admin")
    for method, path in (("GET", "/api/v1/themes"), ("PUT", "/api/v1/themes"), ("GET", "/api/v1/themes/pages")):
        response = await client.open(
            f"{path}{target}", method=method, json={"accent_color": "#000000"}, headers=stranger.headers
        )
        assert response.status_code == 404, (method, path)
    unknown = f"?organization_id={uuid.uuid4()}"
    assert (await client.get(f"/api/v1/themes{unknown}", headers=super_admin.headers)).status_code == 404
    assert (await client.post(f"/api/v1/themes{unknown}", json=THEME, headers=super_admin.headers)).status_code == 404
    assert (
        await client.get("/api/v1/themes?organization_id=not-a-uuid", headers=super_admin.headers)
    ).status_code == 422
