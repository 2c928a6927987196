"""The public routes /p/{org}/...: themed HTML, navigation, 404s, caching and security headers."""

from __future__ import annotations

import re
from email.utils import format_datetime, parsedate_to_datetime

from vetrai.plugins.themes.public import CONTENT_SECURITY_POLICY

from .conftest import THEME, png


def assert_security_headers(response) -> None:
    csp = response.headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'none'" and directives["script-src"] == "'none'"
    assert directives["style-src"] == "'self'" and directives["frame-ancestors"] == "'self'"
    assert "unsafe-inline" not in directives["style-src"] and "unsafe" not in directives["script-src"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


async def publish_site(client, admin, make_page, upload):
    await client.post(
        "/api/v1/themes", json={**THEME, "custom_css": ".vt-title { letter-spacing: 1px; }"}, headers=admin.headers
    )
    await upload(admin, "logo", png())
    await make_page(
        admin,
        "home",
        title="Home <b>sweet</b> home",
        content="<p>Welcome!</p>",
        nav_order=1,
        meta_description='Say "hi" <now>',
    )
    await make_page(admin, "pricing", title="Pricing", content="<p>Cheap.</p>", nav_order=2)
    await make_page(admin, "secret", title="Secret plans", content="<p>draft</p>", is_published=False)


async def test_published_page_is_a_themed_document(client, make_user, make_page, upload):
    admin = await make_user("org_admin")
    await publish_site(client, admin, make_page, upload)
    slug = admin.organization.slug
    response = await client.get(f"/p/{slug}/home")  # no credentials
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    assert_security_headers(response)
    html = await response.get_data(as_text=True)
    assert html.startswith("<!doctype html>")
    assert "<title>Home &lt;b&gt;sweet&lt;/b&gt; home · " in html  # titles are text, escaped
    assert '<meta name="description" content="Say &#34;hi&#34; &lt;now&gt;">' in html
    assert f'<link rel="stylesheet" href="/p/{slug}/theme.css?v=' in html
    theme = await (await client.get("/api/v1/themes", headers=admin.headers)).get_json()
    assert f'<img class="vt-logo" src="{theme["logo_url"]}"' in html
    assert "<p>Welcome!</p>" in html
    assert f'<a href="/p/{slug}/home" aria-current="page">' in html
    assert f'<a href="/p/{slug}/pricing">Pricing</a>' in html
    assert "Secret plans" not in html
    assert html.index(f"/p/{slug}/home") < html.index(f"/p/{slug}/pricing")  # nav_order
    assert "<style" not in html and "<script" not in html


async def test_index_lists_published_pages(client, make_user, make_page, upload):
    admin = await make_user("org_admin")
    await publish_site(client, admin, make_page, upload)
    response = await client.get(f"/p/{admin.organization.slug}/")
    assert response.status_code == 200
    assert_security_headers(response)
    html = await response.get_data(as_text=True)
    assert "Pricing" in html and "Home &lt;b&gt;sweet&lt;/b&gt; home" in html and "Secret plans" not in html
    redirect = await client.get(f"/p/{admin.organization.slug}")
    assert redirect.status_code in (301, 308)
    empty = await make_user("org_admin")
    html = await (await client.get(f"/p/{empty.organization.slug}/")).get_data(as_text=True)
    assert "No pages have been published yet." in html


async def test_theme_css(client, make_user, make_page, upload):
    admin = await make_user("org_admin")
    await publish_site(client, admin, make_page, upload)
    response = await client.get(f"/p/{admin.organization.slug}/theme.css")
    assert response.status_code == 200
    assert response.content_type == "text/css; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    css = await response.get_data(as_text=True)
    assert "--vt-primary: #123456;" in css and "--vt-secondary: rgb(10, 20, 30);" in css
    assert '--vt-font: "Acme Sans", Georgia, serif;' in css
    assert ".vt-title { letter-spacing: 1px; }" in css
    default = await client.get("/p/theme.css")
    assert default.status_code == 200 and "--vt-primary: #2563eb;" in await default.get_data(as_text=True)
    unknown = await client.get("/p/no-such-org/theme.css")
    assert unknown.status_code == 404 and unknown.content_type.startswith("text/css")


async def test_themed_404s(client, make_user, make_page, upload):
    admin = await make_user("org_admin")
    await publish_site(client, admin, make_page, upload)
    slug = admin.organization.slug
    for path in (f"/p/{slug}/secret", f"/p/{slug}/nope"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.content_type == "text/html; charset=utf-8"
        assert_security_headers(response)
        html = await response.get_data(as_text=True)
        assert "Page not found" in html and f"/p/{slug}/theme.css" in html and "vt-logo" in html
        assert "Secret plans" not in html and "draft" not in html
        assert response.headers["Cache-Control"] == "no-cache"
    unknown = await client.get("/p/no-such-org/home")
    assert unknown.status_code == 404 and "Page not found" in await unknown.get_data(as_text=True)
    assert '<link rel="stylesheet" href="/p/theme.css">' in await unknown.get_data(as_text=True)
    assert (await client.get("/p/no-such-org/")).status_code == 404
    # publishing makes it visible, unpublishing hides it again
    await client.put("/api/v1/themes/pages/secret", json={"is_published": True}, headers=admin.headers)
    assert (await client.get(f"/p/{slug}/secret")).status_code == 200
    await client.put("/api/v1/themes/pages/secret", json={"is_published": False}, headers=admin.headers)
    assert (await client.get(f"/p/{slug}/secret")).status_code == 404


async def test_deactivated_organization_pages_are_gone(client, make_user, make_page):
    admin = await make_user("org_admin")
    await make_page(admin, "home")
    admin.organization.is_active = False
    await admin.organization.save()
    assert (await client.get(f"/p/{admin.organization.slug}/home")).status_code == 404


async def test_etag_and_last_modified(client, make_user, make_page, upload):
    admin = await make_user("org_admin")
    await publish_site(client, admin, make_page, upload)
    path = f"/p/{admin.organization.slug}/pricing"
    first = await client.get(path)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and first.headers["Cache-Control"].startswith("public, max-age=")
    last_modified = parsedate_to_datetime(first.headers["Last-Modified"])
    not_modified = await client.get(path, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and await not_modified.get_data() == b""
    assert not_modified.headers["ETag"] == etag
    assert (await client.get(path, headers={"If-None-Match": f'"other", W/{etag}'})).status_code == 304
    assert (await client.get(path, headers={"If-None-Match": '"stale"'})).status_code == 200
    since = format_datetime(last_modified, usegmt=True)
    assert (await client.get(path, headers={"If-Modified-Since": since})).status_code == 304
    # a change anywhere on the page (here: the theme) changes the ETag, and the stylesheet URL
    css_version = re.search(r"theme\.css\?v=(\w+)", await first.get_data(as_text=True)).group(1)
    await client.put("/api/v1/themes", json={"primary_color": "#000000"}, headers=admin.headers)
    changed = await client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert re.search(r"theme\.css\?v=(\w+)", await changed.get_data(as_text=True)).group(1) != css_version
    # so does editing the page itself
    etag = changed.headers["ETag"]
    await client.put("/api/v1/themes/pages/pricing", json={"content": "<p>Cheaper.</p>"}, headers=admin.headers)
    assert (await client.get(path, headers={"If-None-Match": etag})).status_code == 200
    css_path = f"/p/{admin.organization.slug}/theme.css"
    css_etag = (await client.get(css_path)).headers["ETag"]
    assert (await client.get(css_path, headers={"If-None-Match": css_etag})).status_code == 304


async def test_public_routes_ignore_credentials_and_head_works(client, make_user, make_page):
    admin = await make_user("org_admin")
    await make_page(admin, "home")
    path = f"/p/{admin.organization.slug}/home"
    assert (await client.get(path, headers={"Authorization": "Bearer garbage"})).status_code == 200
    head = await client.head(path)
    assert head.status_code == 200 and head.headers["ETag"]


async def test_public_routes_are_documented_without_security(client):
    document = await (await client.get("/openapi.json")).get_json()
    for path in (
        "/p/{org_slug}/",
        "/p/{org_slug}/{page_slug}",
        "/p/{org_slug}/theme.css",
        "/p/{org_slug}/assets/{name}",
    ):
        assert document["paths"][path]["get"]["security"] == [], path
    assert "security" not in document["paths"]["/api/v1/themes"]["get"]
