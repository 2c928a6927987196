"""Logo and favicon uploads: sniffed from the bytes, size-limited, stored, served publicly."""

from __future__ import annotations

import pytest

from vetrai.core.models import AuditLog
from vetrai.plugins.themes.models import Theme
from vetrai.plugins.themes.service import sniff_image

from .conftest import JPEG, PROBLEM, SVG, THEME, WEBP, ico, multipart, png


def test_sniffing_judges_the_bytes_not_the_name():
    assert sniff_image(png()) == "png"
    assert sniff_image(JPEG) == "jpg"
    assert sniff_image(WEBP) == "webp"
    assert sniff_image(ico()) == "ico"
    assert sniff_image(SVG) is None
    assert sniff_image(b"GIF89a" + b"\x00" * 20) is None
    assert sniff_image(b"<html><script>alert(1)</script>") is None
    assert sniff_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 4) is None  # truncated: no IHDR


async def test_logo_upload_is_stored_and_served_publicly(client, make_user, upload, platform):
    admin = await make_user("org_admin")
    image = png(5, 4)
    response = await upload(admin, "logo", image, filename="../../evil.svg", content_type="image/svg+xml")
    assert response.status_code == 200, await response.get_data(as_text=True)
    body = await response.get_json()
    logo_url = body["logo_url"]
    assert logo_url.startswith(f"/p/{admin.organization.slug}/assets/logo-") and logo_url.endswith(".png")
    assert body["is_default"] is False  # a theme was created from the defaults to hold it
    theme = await Theme.get(organization_id=admin.organization.id)
    assert theme.logo_key.startswith(f"org/{admin.organization_id}/themes/logo-")
    stored = b"".join([chunk async for chunk in platform.storage.open(theme.logo_key)])
    assert stored == image
    public = await client.get(logo_url)  # no credentials
    assert public.status_code == 200
    assert public.content_type == "image/png"
    assert await public.get_data() == image
    assert public.headers["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in public.headers["Cache-Control"]
    etag = public.headers["ETag"]
    again = await client.get(logo_url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and await again.get_data() == b""
    assert await AuditLog.exists(action="themes.logo_uploaded", target_id=str(theme.id))


@pytest.mark.parametrize(
    ("data", "extension", "content_type"),
    [(JPEG, "jpg", "image/jpeg"), (WEBP, "webp", "image/webp"), (ico(), "ico", "image/x-icon")],
    ids=["jpeg", "webp", "ico"],
)
async def test_other_formats_are_accepted(client, make_user, upload, data, extension, content_type):
    admin = await make_user("org_admin")
    response = await upload(admin, "favicon", data, filename="whatever.bin", content_type="application/octet-stream")
    assert response.status_code == 200, await response.get_data(as_text=True)
    url = (await response.get_json())["favicon_url"]
    assert url.endswith(f".{extension}")
    served = await client.get(url)
    assert served.status_code == 200 and served.content_type == content_type


async def test_replacing_an_asset_deletes_the_old_file(client, make_user, upload, platform):
    admin = await make_user("org_admin")
    first = await (await upload(admin, "logo", png(2, 2))).get_json()
    old_key = (await Theme.get(organization_id=admin.organization.id)).logo_key
    second = await (await upload(admin, "logo", png(3, 3))).get_json()
    assert first["logo_url"] != second["logo_url"]
    assert (await client.get(first["logo_url"])).status_code == 404
    assert (await client.get(second["logo_url"])).status_code == 200
    with pytest.raises(FileNotFoundError):
        [chunk async for chunk in platform.storage.open(old_key)]
    # the theme's colors were kept
    await client.put("/api/v1/themes", json={"accent_color": "#000000"}, headers=admin.headers)
    theme = await (await client.get("/api/v1/themes", headers=admin.headers)).get_json()
    assert theme["logo_url"] == second["logo_url"] and theme["accent_color"] == "#000000"


async def test_refused_uploads(client, make_user, upload, settings_factory):
    admin = await make_user("org_admin")
    svg = await upload(admin, "logo", SVG, filename="logo.svg", content_type="image/svg+xml")
    assert svg.status_code == 415 and svg.content_type == PROBLEM
    assert "SVG" in (await svg.get_json())["detail"]
    disguised = await upload(
        admin, "logo", b"<svg xmlns='http://www.w3.org/2000/svg'/>", filename="logo.png", content_type="image/png"
    )
    assert disguised.status_code == 415
    html = await upload(admin, "logo", b"<html><script>alert(1)</script></html>", filename="a.png")
    assert html.status_code == 415
    gif = await upload(admin, "logo", b"GIF89a" + b"\x00" * 32, filename="a.gif", content_type="image/gif")
    assert gif.status_code == 415
    empty = await upload(admin, "logo", b"")
    assert empty.status_code == 422
    too_big = await upload(admin, "favicon", png() + b"\x00" * (256 * 1024))
    assert too_big.status_code == 413
    way_too_big = await upload(admin, "logo", png() + b"\x00" * (2 * 1024 * 1024))
    assert way_too_big.status_code == 413
    body, headers = multipart(png(), field="image")
    missing = await client.post("/api/v1/themes/assets/logo", data=body, headers={**admin.headers, **headers})
    assert missing.status_code == 422
    not_multipart = await client.post(
        "/api/v1/themes/assets/logo", data=png(), headers={**admin.headers, "Content-Type": "image/png"}
    )
    assert not_multipart.status_code == 415
    unknown_kind = await upload(admin, "banner", png())
    assert unknown_kind.status_code == 404
    assert not await Theme.exists(organization_id=admin.organization.id)


async def test_only_admins_upload_and_anonymous_is_401(client, make_user, upload):
    admin = await make_user("org_admin")
    member = await make_user("user", organization=admin.organization)
    assert (await upload(member, "logo", png())).status_code == 403
    body, headers = multipart(png())
    assert (await client.post("/api/v1/themes/assets/logo", data=body, headers=headers)).status_code == 401
    assert (await client.delete("/api/v1/themes/assets/logo", headers=member.headers)).status_code == 403


async def test_delete_asset(client, make_user, upload, platform):
    admin = await make_user("org_admin")
    url = (await (await upload(admin, "favicon", ico())).get_json())["favicon_url"]
    key = (await Theme.get(organization_id=admin.organization.id)).favicon_key
    response = await client.delete("/api/v1/themes/assets/favicon", headers=admin.headers)
    assert response.status_code == 204
    assert (await (await client.get("/api/v1/themes", headers=admin.headers)).get_json())["favicon_url"] is None
    assert (await client.get(url)).status_code == 404
    with pytest.raises(FileNotFoundError):
        [chunk async for chunk in platform.storage.open(key)]
    assert (await client.delete("/api/v1/themes/assets/favicon", headers=admin.headers)).status_code == 404


async def test_assets_are_not_served_across_organizations(client, make_user, upload):
    first = await make_user("org_admin")
    second = await make_user("org_admin")
    await client.post("/api/v1/themes", json=THEME, headers=second.headers)
    url = (await (await upload(first, "logo", png())).get_json())["logo_url"]
    name = url.rsplit("/", 1)[-1]
    assert (await client.get(f"/p/{second.organization.slug}/assets/{name}")).status_code == 404
    assert (await client.get(f"/p/{first.organization.slug}/assets/logo-0000.png")).status_code == 404
    assert (await client.get(f"/p/{first.organization.slug}/assets/..%2F..%2Fetc%2Fpasswd")).status_code == 404
