"""Password hashing: argon2id (OWASP parameters) with bcrypt accepted and upgraded on login.

Hashing is CPU work of tens of milliseconds, so it always runs in a thread; a login storm
must not stall every other request on the event loop.
"""

from __future__ import annotations

import asyncio

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

_hasher = PasswordHash((Argon2Hasher(memory_cost=19456, time_cost=2, parallelism=1), BcryptHasher()))
_DUMMY_HASH = _hasher.hash("vetrai-timing-equaliser")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(valid, new hash when the stored one should be upgraded). A missing user costs the same."""
    if password_hash is None:
        await asyncio.to_thread(_hasher.verify_and_update, password, _DUMMY_HASH)
        return False, None
    return await asyncio.to_thread(_hasher.verify_and_update, password, password_hash)


def password_problems(password: str, email: str) -> list[str]:
    problems = []
    if len(password) < 10:
        problems.append("password must be at least 10 characters long")
    if password.strip().lower() == email.strip().lower():
        problems.append("password must not equal the email address")
    return problems
