"""User-chosen webhook URLs may not reach the server's own network."""

from __future__ import annotations

import pytest

from vetrai.core.outbound import (
    PrivateAddressError,
    ensure_public_host,
    hmac_sha256_hex,
)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://localhost/hook",
        "no-host-at-all",
    ],
)
async def test_private_destinations_are_refused(url):
    with pytest.raises(PrivateAddressError):
        await ensure_public_host(url)


async def test_a_public_address_passes():
    await ensure_public_host("https://93.184.216.34/hook")


def test_the_signature_covers_timestamp_and_body():
    assert hmac_sha256_hex("s", "1", b"x") != hmac_sha256_hex("s", "2", b"x")
    assert hmac_sha256_hex("s", "1", b"x") == hmac_sha256_hex("s", "1", b"x")
