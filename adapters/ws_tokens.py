"""WebSocket JWTs (DESIGN §4): HS256, claims sub, room, exp; issued by the CLI, checked on $connect."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import jwt

from application.errors import PermanentError


class TokenRefused(PermanentError):
    """The connection is refused: expired, forged, or missing a claim."""


def issue(secret: str, *, subject: str, room: str, ttl_s: int = 3600, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    return jwt.encode({"sub": subject, "room": room, "iat": issued, "exp": issued + ttl_s}, secret,
                      algorithm="HS256")


def verify(token: str, secrets: Sequence[str], *, now: float | None = None) -> dict[str, Any]:
    """Claims of a valid token; any of `secrets` may have signed it (rotation)."""
    last: Exception | None = None
    for secret in secrets:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, secret, algorithms=["HS256"], options={"require": ["sub", "room", "exp"]},
                leeway=0 if now is None else (time.time() - now),
            )
            return claims
        except jwt.ExpiredSignatureError as exc:
            raise TokenRefused("token expired", code="TOKEN_EXPIRED") from exc
        except jwt.InvalidTokenError as exc:
            last = exc
    raise TokenRefused(f"token refused: {type(last).__name__ if last else 'no secret'}", code="TOKEN_INVALID")
