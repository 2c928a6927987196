"""Logo and favicon on S3-compatible storage (a real S3 API: moto in server mode on loopback)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from vetrai.core.config import Settings
from vetrai.core.conformance import free_port
from vetrai.plugins.themes.models import Theme

from .conftest import ico, png


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], s3_endpoint: str) -> Settings:
    bucket = f"themes-{uuid.uuid4().hex[:12]}"
    storage_url = f"s3://{bucket}/assets?endpoint_url={s3_endpoint}&create_bucket=true&access_key_id=testing&secret_access_key=testing"
    return settings_factory(plugins=["auth", "keys", "themes"], storage_url=storage_url)


async def test_assets_round_trip_through_s3(client, make_user, upload, platform):
    assert type(platform.storage).__name__ == "S3Storage"
    admin = await make_user("org_admin")
    image = png(7, 3)
    body = await (await upload(admin, "logo", image)).get_json()
    served = await client.get(body["logo_url"])
    assert served.status_code == 200 and served.content_type == "image/png" and await served.get_data() == image
    favicon = await (await upload(admin, "favicon", ico())).get_json()
    assert (await client.get(favicon["favicon_url"])).content_type == "image/x-icon"
    # replacing the logo deletes the old object from the bucket
    old_key = (await Theme.get(organization_id=admin.organization.id)).logo_key
    replaced = await (await upload(admin, "logo", png(9, 9))).get_json()
    with pytest.raises(FileNotFoundError):
        [chunk async for chunk in platform.storage.open(old_key)]
    # an object missing from the bucket is a 404, not a 500
    key = (await Theme.get(organization_id=admin.organization.id)).logo_key
    await platform.storage.delete(key)
    assert (await client.get(replaced["logo_url"])).status_code == 404
