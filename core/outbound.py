"""Requests the server sends to URLs its users chose (webhooks): signatures and address checks.

A user-supplied URL must not reach the server's own network (cloud metadata, the database,
Redis), so destinations that are loopback, private, link-local, reserved or an IPv6 form of
one of those (IPv4-mapped ``::ffff:127.0.0.1``, IPv4-compatible ``::7f00:1``, NAT64
``64:ff9b::/96``, 6to4, Teredo) are refused unless a deployment allows them.

Checking a name and then letting the HTTP client resolve it again leaves a window in which
the name can change its answer (DNS rebinding). ``guarded_client`` closes it: its transport
resolves the host once, checks every address, and connects to the checked address itself;
TLS still verifies the certificate against the host name. Every outbound sender uses it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import socket
import time
import typing
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpcore
import httpx
from httpcore._backends.auto import AutoBackend

Resolver = Callable[[str, int], Awaitable[list[str]]]
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class PrivateAddressError(ValueError):
    """The URL has no host, or its host resolves to an address inside a private network."""


SIGNATURE_HEADER = "X-VetrAI-Signature"


def hmac_sha256_hex(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``"<timestamp>." + body``: the timestamp is signed so replays age out."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The one signature every outbound webhook carries: ``X-VetrAI-Signature: t=<unix>,v1=<hex>``.

    The timestamp travels inside the signed header so a receiver needs a single header and
    can refuse replays once they are older than its tolerance.
    """
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {SIGNATURE_HEADER: f"t={stamp},v1={hmac_sha256_hex(secret, stamp, body)}"}


def verify_signature(secret: str, body: bytes, header: str, *, tolerance_seconds: int = 300) -> bool:
    """For receivers: ``header`` (the X-VetrAI-Signature value) signs ``body`` and is recent.

    Any ``v1=`` entry may match (a sender rotating its secret can send two); the comparison is
    constant-time and a timestamp further than ``tolerance_seconds`` from now is refused.
    """
    stamp = ""
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            stamp = value
        elif key == "v1":
            candidates.append(value)
    if not (stamp.isascii() and stamp.isdigit()) or not candidates:
        return False
    if abs(time.time() - int(stamp)) > tolerance_seconds:
        return False
    expected = hmac_sha256_hex(secret, stamp, body)
    return any(hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in candidates)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, in any of the forms that reach it."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    packed = ip.packed
    if packed[:12] == bytes(12) and int(ip) > 1:  # IPv4-compatible ::a.b.c.d (deprecated, still routed)
        return ipaddress.IPv4Address(packed[12:])
    if any(ip in network for network in _NAT64):
        return ipaddress.IPv4Address(packed[12:])
    return None


def is_private(address: str) -> bool:
    """True unless ``address`` is a global unicast address (IPv6 forms of IPv4 judged by their IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return not embedded.is_global or embedded.is_multicast
    return not ip.is_global or ip.is_multicast


async def resolve(host: str, port: int = 0) -> list[str]:
    """Every address ``host`` resolves to (a literal resolves to itself, in canonical form)."""
    try:
        return [ipaddress.ip_address(host.strip("[]")).compressed]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def public_addresses(host: str, port: int = 0, resolver: Resolver = resolve) -> list[str]:
    """The addresses of ``host``; PrivateAddressError if any of them is private."""
    addresses = await resolver(host, port)
    if not addresses:
        raise OSError(f"{host} does not resolve")
    if any(is_private(address) for address in addresses):
        raise PrivateAddressError(f"{host} resolves to a private or loopback address")
    return addresses


async def ensure_public_host(url: str) -> None:
    """Raise PrivateAddressError for a private destination; OSError when the name does not resolve."""
    host = urlsplit(url).hostname
    if not host:
        raise PrivateAddressError("the URL has no host")
    await public_addresses(host)


class _CheckedBackend(AutoBackend):
    """httpcore's network backend, resolving once and connecting only to checked addresses."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await public_addresses(host, port, self._resolver)
        error: Exception | None = None
        for address in addresses:
            try:
                return await super().connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error


class GuardedTransport(httpx.AsyncHTTPTransport):
    """An httpx transport that refuses private destinations at connect time (no proxies, no env)."""

    def __init__(self, *, resolver: Resolver = resolve, **options: typing.Any) -> None:
        super().__init__(trust_env=False, **options)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=httpx.Limits().max_connections,
            max_keepalive_connections=httpx.Limits().max_keepalive_connections,
            keepalive_expiry=httpx.Limits().keepalive_expiry,
            network_backend=_CheckedBackend(resolver),
        )


def guarded_client(
    *, timeout: float, allow_private: bool = False, resolver: Resolver = resolve, **options: typing.Any
) -> httpx.AsyncClient:
    """The client for requests to user-chosen URLs: private addresses refused when connecting.

    ``allow_private`` (a deployment's explicit opt-in) gives a plain client instead.
    """
    if allow_private:
        return httpx.AsyncClient(timeout=timeout, follow_redirects=False, **options)
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        transport=GuardedTransport(resolver=resolver),
        **options,
    )
