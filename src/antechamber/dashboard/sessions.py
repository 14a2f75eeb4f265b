"""Who is signed in to the dashboard: the session cookie, its CSRF token, the principal behind it.

The cookie holds 256 random bits and opens a session row in the config store
(:mod:`antechamber.db.dashboard`, which keeps only its hash). It is ``HttpOnly`` and
``SameSite=Strict``, scoped to ``/dashboard``, and ``Secure`` whenever the request
came over TLS (directly or through a trusted proxy's ``X-Forwarded-Proto``). A
session signed in with an API token re-checks the token on every request, so
revoking the token ends the session. The CSRF token of a form is an HMAC of the
session's secret: it needs no storage and no other session can produce it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request

from antechamber.db import dashboard as stored
from antechamber.db import tokens
from antechamber.db.engine import Database
from antechamber.db.tokens import ApiToken

SESSION_COOKIE = "antechamber_dashboard"
#: The sign-in form's own CSRF defence (a double-submitted nonce): there is no session yet.
SIGNIN_COOKIE = "antechamber_dashboard_signin"
COOKIE_PATH = "/dashboard"
SESSION_LIFETIME_MS = 8 * 3600 * 1000
SIGNIN_NONCE_MAX_AGE_S = 3600

#: The principal of a sign-in with the operator password: may do what a write token for every zone may.
OPERATOR = ApiToken(
    id="operator", name="operator password", scope="write", zone_ids=None, created_on="", revoked_on=None
)


@dataclass(frozen=True, slots=True)
class Viewer:
    """A signed-in request: the principal the API sees, and the session's secret."""

    principal: ApiToken
    secret: str

    @property
    def csrf(self) -> str:
        """The token every form of this session must send back."""
        return csrf_token(self.secret)

    @property
    def can_act(self) -> bool:
        """Whether the principal may change anything (a read token sees only)."""
        return self.principal.allows_write()

    @property
    def who(self) -> str:
        """How the page names who is signed in (never the secret)."""
        if self.principal is OPERATOR:
            return "operator"
        return f"token {self.principal.name or self.principal.id[:8]} ({self.principal.scope})"

    def csrf_matches(self, sent: str | None) -> bool:
        """Whether a form sent this session's CSRF token."""
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf.encode())


def csrf_token(secret: str) -> str:
    """The CSRF token of the session with this secret."""
    return hmac.new(secret.encode(), b"antechamber dashboard csrf", hashlib.sha256).hexdigest()


def new_nonce() -> str:
    """A fresh sign-in form nonce."""
    return secrets.token_urlsafe(24)


def is_secure(request: Request) -> bool:
    """The request came over TLS (uvicorn applies a trusted proxy's X-Forwarded-Proto to the scheme)."""
    return request.url.scheme == "https"


def cookie(name: str, value: str, max_age_s: int, secure: bool) -> str:
    """A ``Set-Cookie`` value for the dashboard's cookies."""
    flags = f"; Max-Age={max_age_s}; Path={COOKIE_PATH}; HttpOnly; SameSite=Strict"
    return f"{name}={value}{flags}" + ("; Secure" if secure else "")


def now_ms(request: Request) -> int:
    """The app's clock, in milliseconds."""
    return int(request.app.state.clock().timestamp() * 1000)


async def viewer_of(request: Request) -> Viewer | None:
    """The signed-in viewer of this request, or ``None``."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret or len(secret) > 100:
        return None
    database: Database = request.app.state.database
    async with database.connect() as connection:
        session = await stored.live_session(connection, secret, now_ms(request))
        if session is None:
            return None
        if session.token_id is None:
            return Viewer(OPERATOR, secret)
        token = await tokens.live_token(connection, session.token_id)
    return None if token is None else Viewer(token, secret)
