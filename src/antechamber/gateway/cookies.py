"""``Set-Cookie`` values for the room cookie and the visitor's language choice.

The room cookie is host-only (no ``Domain``), ``Path=/`` and ``HttpOnly``;
its lifetime is ``Max-Age`` (relative, so a visitor's wrong clock does not
matter) taken from the ticket's own expiry.
"""

from __future__ import annotations

from antechamber.core.ticket import Ticket
from antechamber.gateway.convert import CookiePolicy

#: Remembers a ``?lang=`` choice across refreshes (a language tag, nothing secret).
LANG_COOKIE = "__antechamber_lang"
_LANG_MAX_AGE = 365 * 24 * 3600


def cookie_flags(policy: CookiePolicy, request_secure: bool) -> str:
    """The attribute string for a room's cookie on this request.

    ``secure``: ``auto`` follows the visitor's scheme. ``samesite``: ``auto`` is
    ``None`` on secure cookies (so the room works in cross-site frames) and
    ``Lax`` otherwise. Browsers drop ``SameSite=None`` cookies that are not
    ``Secure``, which would leave the visitor queued forever, so an insecure
    cookie falls back to ``Lax`` even when ``none`` was asked for.
    """
    if policy.secure == "always":
        secure = True
    elif policy.secure == "never":
        secure = False
    else:
        secure = request_secure
    if policy.samesite == "strict":
        samesite = "Strict"
    elif policy.samesite == "lax":
        samesite = "Lax"
    else:  # auto, none
        samesite = "None" if secure else "Lax"
    return f"; Path=/; HttpOnly; SameSite={samesite}" + ("; Secure" if secure else "")


def max_age_s(ticket: Ticket, now_ms: int) -> int:
    """Seconds until the ticket is of no more use, rounded up, at least 1."""
    return max(1, -(-(ticket.cookie_expires_ms - now_ms) // 1000))


def room_cookie(name: str, value: str, max_age: int, flags: str) -> bytes:
    """A ``Set-Cookie`` value carrying a sealed ticket."""
    return f"{name}={value}; Max-Age={max_age}{flags}".encode("latin-1")


def clear_room_cookie(name: str, flags: str) -> bytes:
    """A ``Set-Cookie`` value that deletes the room cookie (the session ends)."""
    return f"{name}=; Max-Age=0{flags}".encode("latin-1")


def lang_cookie(language: str, request_secure: bool) -> bytes:
    """A ``Set-Cookie`` value remembering the visitor's language for a year."""
    secure = "; Secure" if request_secure else ""
    return f"{LANG_COOKIE}={language}; Max-Age={_LANG_MAX_AGE}; Path=/; SameSite=Lax{secure}".encode("latin-1")
