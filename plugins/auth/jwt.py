"""JWT access tokens signed with ES256 (joserfc); keys rotate, old ones stay in the JWKS."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

ALGORITHM = "ES256"


@dataclass
class AccessClaims:
    subject: uuid.UUID
    organization_id: uuid.UUID
    role: str
    jti: str
    expires_at: int
    session_id: uuid.UUID | None = None
    issued_at: int = 0


class JwtSigner:
    def __init__(self, keys: list[ECKey], issuer: str, audience: str) -> None:
        if not keys:
            raise ValueError("at least one signing key is required")
        self.keys = keys
        members: list[Any] = list(keys)
        self.key_set = KeySet(members)
        self.issuer = issuer
        self.audience = audience

    @classmethod
    def from_settings(cls, configured: str | None, data_dir: Path, issuer: str, audience: str) -> JwtSigner:
        if configured:
            keys = [ECKey.import_key(item) for item in json.loads(configured)["keys"]]
        else:
            keys = _load_or_create(data_dir / "secrets" / "jwks.json")
        return cls(keys, issuer, audience)

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [{**key.as_dict(private=False), "use": "sig", "alg": ALGORITHM} for key in self.keys]}

    def issue(
        self, user_id: uuid.UUID, organization_id: uuid.UUID, role: str, ttl: int, session_id: uuid.UUID | None = None
    ) -> tuple[str, AccessClaims]:
        """A signed token and its claims, valid for ``ttl`` seconds; ``sid`` ties it to a session."""
        issued_at = int(time.time())
        claims = AccessClaims(user_id, organization_id, role, uuid.uuid4().hex, issued_at + ttl, session_id, issued_at)
        return self._encode(claims), claims

    def _encode(self, claims: AccessClaims) -> str:
        key = self.keys[0]
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(claims.subject),
            "org": str(claims.organization_id),
            "role": claims.role,
            "jti": claims.jti,
            "iat": claims.issued_at or int(time.time()),
            "exp": claims.expires_at,
        }
        if claims.session_id is not None:
            payload["sid"] = str(claims.session_id)
        return jwt.encode({"alg": ALGORITHM, "kid": key.kid, "typ": "JWT"}, payload, key, algorithms=[ALGORITHM])

    def decode(self, token: str) -> AccessClaims:
        """Verify signature (ES256 only), iss, aud, exp; raises ValueError on anything wrong."""
        try:
            decoded = jwt.decode(token, self.key_set, algorithms=[ALGORITHM])
            registry = jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.audience},
                exp={"essential": True},
                sub={"essential": True},
                jti={"essential": True},
            )
            registry.validate(decoded.claims)
            claims = decoded.claims
            return AccessClaims(
                uuid.UUID(claims["sub"]),
                uuid.UUID(claims["org"]),
                str(claims["role"]),
                str(claims["jti"]),
                int(claims["exp"]),
                uuid.UUID(claims["sid"]) if claims.get("sid") else None,
                int(claims.get("iat") or 0),
            )
        except (JoseError, KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"invalid access token: {exc}") from exc


def new_private_jwk() -> dict[str, Any]:
    """A fresh P-256 signing key as a private JWK with a random ``kid``."""
    return ECKey.generate_key("P-256", parameters={"kid": uuid.uuid4().hex[:16]}).as_dict(private=True)


def _load_or_create(path: Path) -> list[ECKey]:
    if path.exists():
        return [ECKey.import_key(item) for item in json.loads(path.read_text())["keys"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ECKey.import_key(new_private_jwk())
    data = json.dumps({"keys": [key.as_dict(private=True)]})
    try:
        with path.open("x") as handle:
            handle.write(data)
        path.chmod(0o600)
    except FileExistsError:
        return [ECKey.import_key(item) for item in json.loads(path.read_text())["keys"]]
    return [key]
