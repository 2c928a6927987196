"""User-chosen webhook URLs may not reach the server's own network."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from vetrai.core.outbound import (
    PrivateAddressError,
    ensure_public_host,
    hmac_sha256_hex,
    signature_headers,
    verify_signature,
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


def test_the_signature_header_is_t_and_v1_over_timestamp_and_body():
    headers = signature_headers("secret", b'{"a":1}', timestamp=1700000000)
    expected = hmac.new(b"secret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert headers == {"X-VetrAI-Signature": f"t=1700000000,v1={expected}"}


def test_a_receiver_accepts_its_own_signature_and_nothing_else():
    body = b'{"event":"x"}'
    header = signature_headers("secret", body)["X-VetrAI-Signature"]
    assert verify_signature("secret", body, header)
    assert not verify_signature("other", body, header)
    assert not verify_signature("secret", body + b" ", header)
    assert not verify_signature("secret", body, header.replace("v1=", "v0="))
    assert not verify_signature("secret", body, "sha256=" + header.partition("v1=")[2])
    assert not verify_signature("secret", body, "")
    assert not verify_signature("secret", body, "t=\u00b2," + header.partition(",")[2])


def test_a_rotated_secret_may_send_two_v1_entries():
    body = b"{}"
    old = signature_headers("old", body)["X-VetrAI-Signature"]
    new = signature_headers("new", body, timestamp=int(old.split(",")[0][2:]))["X-VetrAI-Signature"]
    assert verify_signature("new", body, old + "," + new.partition(",")[2])


def test_stale_and_future_timestamps_are_refused():
    body = b"{}"
    stale = signature_headers("secret", body, timestamp=int(time.time()) - 301)["X-VetrAI-Signature"]
    future = signature_headers("secret", body, timestamp=int(time.time()) + 301)["X-VetrAI-Signature"]
    assert not verify_signature("secret", body, stale)
    assert not verify_signature("secret", body, future)
    assert verify_signature("secret", body, stale, tolerance_seconds=3600)
