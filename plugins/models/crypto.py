"""Envelope encryption of organization secrets (provider API keys, headers, named secrets).

Every value gets its own random data key (a Fernet key) that encrypts it; the data key is
itself encrypted ("wrapped") by the key-encryption keys from settings through ``MultiFernet``.
A sealed value is ``<wrapped data key>.<ciphertext>`` (Fernet tokens are URL-safe base64, so
the dot is unambiguous). Rotation re-wraps the data key with the newest key encryption key and
leaves the ciphertext as it is, so ``vetrai rotate-secrets`` never handles a plaintext twice.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vetrai.core.errors import ConfigurationError

DERIVATION_INFO = b"vetrai-models-secrets-v1"


class SealError(Exception):
    """A sealed value cannot be opened: no configured key wraps it, or it was altered."""


def derived_key(secret_key: str) -> bytes:
    """The Fernet key derived from VETRAI_SECRET_KEY (HKDF-SHA256), the default key encryption key."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=DERIVATION_INFO).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)


class Sealer:
    """Seals and opens values with the configured key encryption keys (the first one encrypts)."""

    def __init__(self, configured: Sequence[str], secret_key: str) -> None:
        keys: list[Fernet] = []
        try:
            keys.extend(Fernet(key.encode() if isinstance(key, str) else key) for key in configured)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                "VETRAI_MODELS_ENCRYPTION_KEYS must list Fernet keys (32 url-safe base64-encoded bytes)"
            ) from exc
        keys.append(Fernet(derived_key(secret_key)))
        self._kek = MultiFernet(keys)

    def seal(self, plaintext: str) -> str:
        data_key = Fernet.generate_key()
        ciphertext = Fernet(data_key).encrypt(plaintext.encode())
        return f"{self._kek.encrypt(data_key).decode()}.{ciphertext.decode()}"

    def open(self, sealed: str) -> str:
        try:
            wrapped, ciphertext = sealed.split(".", 1)
            data_key = self._kek.decrypt(wrapped.encode())
            return Fernet(data_key).decrypt(ciphertext.encode()).decode()
        except (ValueError, InvalidToken) as exc:
            raise SealError("a stored secret cannot be decrypted with the configured keys") from exc

    def rewrap(self, sealed: str) -> str:
        """The same value with its data key wrapped by the first key encryption key."""
        try:
            wrapped, ciphertext = sealed.split(".", 1)
            return f"{self._kek.rotate(wrapped.encode()).decode()}.{ciphertext}"
        except (ValueError, InvalidToken) as exc:
            raise SealError("a stored secret cannot be decrypted with the configured keys") from exc


def last4(value: str) -> str:
    """What a response may show of a secret: its last 4 characters (none of a short one)."""
    return value[-4:] if len(value) >= 12 else ""


def mask(value: str) -> str:
    tail = last4(value)
    return f"****{tail}" if tail else "****"
