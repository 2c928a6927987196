"""Secret material: generated secrets kept in the data dir, digests and constant-time checks."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def load_or_create_secret(data_dir: Path, name: str, nbytes: int = 32) -> str:
    """Return the secret stored under ``data_dir/secrets/name``, creating it (mode 0600) once."""
    folder = data_dir / "secrets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    value = secrets.token_urlsafe(nbytes)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def sha256_hex(value: str | bytes) -> str:
    """Digest for high-entropy tokens (API keys, refresh tokens) that are looked up by hash."""
    data = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
