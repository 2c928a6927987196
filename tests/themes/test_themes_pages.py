"""/api/v1/themes/pages: CRUD, slugs, uniqueness, sanitizing on save, tenancy, roles."""

from __future__ import annotations

from vetrai.plugins.themes.models import Page

from .conftest import PROBLEM


async def test_page_crud(client, make_user):
    admin = await make_user("org_admin")
    body = {
        "slug": "about-us",
        "title": "About us",
        "content": '<h2>Who</h2><p>We <strong>build</strong> <a href="https://example.com">things</a>.</p>',
        "is_published": False,
        "meta_description": "Who we are",
    }
    response = await client.post("/api/v1/themes/pages", json=body, headers=admin.headers)
    assert response.status_code == 201, await response.get_data(as_text=True)
    page = await response.get_json()
    assert page["slug"] == "about-us" and page["title"] == "About us" and page["is_published"] is False
    assert page["organization_id"] == admin.organization_id and page["nav_order"] == 0
    assert (
        page["content"] == "<h2>Who</h2><p>We <strong>build</strong> "
        '<a href="https://example.com" rel="noopener noreferrer">things</a>.</p>'
    )
    read = await client.get("/api/v1/themes/pages/about-us", headers=admin.headers)
    assert read.status_code == 200 and await read.get_json() == page
    update = await client.put(
        "/api/v1/themes/pages/about-us", json={"is_published": True, "title": "About"}, headers=admin.headers
    )
    assert update.status_code == 200
    updated = await update.get_json()
    assert updated["is_published"] is True and updated["title"] == "About" and updated["content"] == page["content"]
    assert updated["meta_description"] == "Who we are"
    renamed = await client.put("/api/v1/themes/pages/about-us", json={"slug": "about"}, headers=admin.headers)
    assert renamed.status_code == 200 and (await renamed.get_json())["slug"] == "about"
    assert (await client.get("/api/v1/themes/pages/about-us", headers=admin.headers)).status_code == 404
    listing = await (await client.get("/api/v1/themes/pages", headers=admin.headers)).get_json()
    assert [item["slug"] for item in listing["items"]] == ["about"] and listing["next_cursor"] is None
    deleted = await client.delete("/api/v1/themes/pages/about", headers=admin.headers)
    assert deleted.status_code == 204
    assert (await client.get("/api/v1/themes/pages/about", headers=admin.headers)).status_code == 404
    assert (await client.delete("/api/v1/themes/pages/about", headers=admin.headers)).status_code == 404


async def test_list_pagination_and_filter(client, make_user, make_page):
    admin = await make_user("org_admin")
    for index in range(5):
        await make_page(admin, f"page-{index}", is_published=index % 2 == 0)
    first = await (await client.get("/api/v1/themes/pages?limit=2", headers=admin.headers)).get_json()
    assert [item["slug"] for item in first["items"]] == ["page-4", "page-3"]
    second = await (
        await client.get(f"/api/v1/themes/pages?limit=2&cursor={first['next_cursor']}", headers=admin.headers)
    ).get_json()
    assert [item["slug"] for item in second["items"]] == ["page-2", "page-1"]
    drafts = await (await client.get("/api/v1/themes/pages?is_published=false", headers=admin.headers)).get_json()
    assert sorted(item["slug"] for item in drafts["items"]) == ["page-1", "page-3"]
    assert (await client.get("/api/v1/themes/pages?limit=500", headers=admin.headers)).status_code == 422


async def test_slug_validation_and_uniqueness(client, make_user, make_page):
    admin = await make_user("org_admin")
    for slug in (
        "",
        "About",
        "a b",
        "-lead",
        "trail-",
        "a/b",
        "../x",
        "x" * 101,
        "théâtre",
        "assets",
        "theme.css",
        "a.b",
    ):
        response = await client.post("/api/v1/themes/pages", json={"slug": slug, "title": "T"}, headers=admin.headers)
        assert response.status_code == 422, slug
        assert response.content_type == PROBLEM
    for body in (
        {"slug": "ok"},
        {"slug": "ok", "title": ""},
        {"slug": "ok", "title": "T", "extra": 1},
        {"slug": "ok", "title": "T", "is_published": "maybe"},
    ):
        assert (await client.post("/api/v1/themes/pages", json=body, headers=admin.headers)).status_code == 422, body
    await make_page(admin, "contact")
    await make_page(admin, "team")
    duplicate = await client.post(
        "/api/v1/themes/pages", json={"slug": "contact", "title": "Again"}, headers=admin.headers
    )
    assert duplicate.status_code == 409 and duplicate.content_type == PROBLEM
    clash = await client.put("/api/v1/themes/pages/team", json={"slug": "contact"}, headers=admin.headers)
    assert clash.status_code == 409
    bad_update = await client.put("/api/v1/themes/pages/team", json={"slug": "Bad Slug"}, headers=admin.headers)
    assert bad_update.status_code == 422
    # the same slug in another organization is fine
    other = await make_user("org_admin")
    await make_page(other, "contact")


async def test_content_is_sanitized_on_save(client, make_user):
    admin = await make_user("org_admin")
    dirty = (
        '<p onclick="steal()">Hi<script>alert(1)</script></p>'
        '<a href="javascript:alert(1)">x</a><a href="https://ok.example.com" target="_blank" rel="opener">y</a>'
        '<img src="https://img.example.com/a.png" onerror="alert(1)" alt="a">'
        '<iframe src="https://evil.example.com"></iframe><form action="/steal"><input '
        'name="pw"><button>Go</button></form>'
        '<p style="color: red; position: fixed; background-image: url(https://evil.example.com/t.png)">styled</p>'
    )
    response = await client.post(
        "/api/v1/themes/pages", json={"slug": "x", "title": "X", "content": dirty}, headers=admin.headers
    )
    assert response.status_code == 201
    content = (await response.get_json())["content"]
    stored = (await Page.get(slug="x", organization_id=admin.organization.id)).content
    assert stored == content
    for bad in (
        "<script",
        "onclick",
        "onerror",
        "javascript:",
        "<iframe",
        "<form",
        "<input",
        "<button",
        "position",
        "url(",
        "evil",
        'opener"',
    ):
        assert bad not in content, bad
    assert '<a href="https://ok.example.com" rel="noopener noreferrer">y</a>' in content
    assert '<img src="https://img.example.com/a.png" alt="a">' in content
    assert '<p style="color:red">styled</p>' in content
    updated = await client.put(
        "/api/v1/themes/pages/x", json={"content": "<b onmouseover=alert(1)>bold</b>"}, headers=admin.headers
    )
    assert (await updated.get_json())["content"] == "<b>bold</b>"


async def test_roles_tenancy_and_401(client, make_user, make_page):
    admin = await make_user("org_admin")
    member = await make_user("user", organization=admin.organization)
    await make_page(admin, "private-draft", is_published=False)
    # members read (drafts included), but cannot change
    assert (await client.get("/api/v1/themes/pages/private-draft", headers=member.headers)).status_code == 200
    listing = await (await client.get("/api/v1/themes/pages", headers=member.headers)).get_json()
    assert [item["slug"] for item in listing["items"]] == ["private-draft"]
    assert (
        await client.post("/api/v1/themes/pages", json={"slug": "m", "title": "M"}, headers=member.headers)
    ).status_code == 403
    assert (
        await client.put("/api/v1/themes/pages/private-draft", json={"title": "M"}, headers=member.headers)
    ).status_code == 403
    assert (await client.delete("/api/v1/themes/pages/private-draft", headers=member.headers)).status_code == 403
    # another organization sees a 404 and an empty list
    stranger = await make_user("org_admin")
    assert (await client.get("/api/v1/themes/pages/private-draft", headers=stranger.headers)).status_code == 404
    assert (
        await client.put("/api/v1/themes/pages/private-draft", json={"title": "pwned"}, headers=stranger.headers)
    ).status_code == 404
    assert (await client.delete("/api/v1/themes/pages/private-draft", headers=stranger.headers)).status_code == 404
    assert (await (await client.get("/api/v1/themes/pages", headers=stranger.headers)).get_json())["items"] == []
    assert (await Page.get(slug="private-draft")).title == "Private-Draft"
    for method, path in (
        ("GET", "/api/v1/themes/pages"),
        ("POST", "/api/v1/themes/pages"),
        ("GET", "/api/v1/themes/pages/x"),
        ("DELETE", "/api/v1/themes/pages/x"),
    ):
        assert (await client.open(path, method=method, json={})).status_code == 401


async def test_page_quota(app, client, make_user, make_page, monkeypatch):
    from vetrai.plugins.themes import service
    from vetrai.plugins.themes.settings import ThemesSettings

    monkeypatch.setattr(service, "settings", lambda: ThemesSettings(max_pages=2))
    admin = await make_user("org_admin")
    await make_page(admin, "one")
    await make_page(admin, "two")
    response = await client.post("/api/v1/themes/pages", json={"slug": "three", "title": "T"}, headers=admin.headers)
    assert response.status_code == 403 and (await response.get_json())["type"].endswith("quota-exceeded")
