"""Cloudflare Turnstile instead of the self-hosted challenge: the siteverify client.

The widget (see :func:`antechamber.challenge.widget.turnstile_widget`) gives the
browser a token; the gateway hands it to :meth:`Siteverify.verify`, which POSTs
``secret``, ``response`` and ``remoteip`` (and an optional ``idempotency_key``) to
Cloudflare and reads the verdict. Cloudflare makes each token single-use and valid
for 300 s, so no used-set is needed here; the widget's ``data-action`` carries the
room (:func:`action_for`), checked against the verdict's ``action``.

Which challenge the visitor meets (managed, non-interactive, invisible) is a property
of the site key, chosen in the Cloudflare dashboard; the room's ``turnstile_mode``
only decides whether the widget shows (see the widget module).

How each answer maps to a :class:`~antechamber.challenge.result.Result`:

* ``success: true`` with the expected action and hostname: ``passed``;
* ``invalid-input-response`` (a forged or mangled token): ``failed``, a bot signal;
* ``timeout-or-duplicate``, ``missing-input-response``, a wrong action or hostname:
  ``failed``, no bot signal (a slow tab or a double submit does these);
* our own faults (``missing-``/``invalid-input-secret``, ``bad-request``), Cloudflare's
  ``internal-error``, an HTTP error, a non-JSON body or no answer within ``timeout``:
  ``error``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from types import TracebackType
from typing import Any

import httpx

from antechamber.challenge.result import PASSED, Outcome, Result, error, failed

SITEVERIFY_URL = "https://challenges.cloudflare.com/turnstile/v0/siteverify"
#: Cloudflare's limit on a token's length; longer ones are refused without asking.
MAX_TOKEN_CHARS = 2048
DEFAULT_TIMEOUT_S = 5.0

_OUR_FAULT = frozenset({"missing-input-secret", "invalid-input-secret", "bad-request", "internal-error"})
_BOT = frozenset({"invalid-input-response"})
_ACTION = re.compile(r"[A-Za-z0-9_-]{1,32}")


def action_for(room_id: str) -> str:
    """The widget's ``data-action`` for a room: the id itself when Turnstile accepts it, else a hash.

    Turnstile allows up to 32 characters of ``[A-Za-z0-9_-]``; Cloudflare's room ids are
    32 hex digits, so they fit.
    """
    if _ACTION.fullmatch(room_id):
        return room_id
    return hashlib.sha256(room_id.encode()).hexdigest()[:32]


def _verdict(body: Any, *, action: str | None, hostname: str | None) -> Result:
    if not isinstance(body, dict) or not isinstance(body.get("success"), bool):
        return error("bad-answer")
    if body["success"]:
        if action is not None and body.get("action") != action:
            return failed("wrong-action", bot=False)
        if hostname is not None and str(body.get("hostname", "")).lower() != hostname.lower():
            return failed("wrong-hostname", bot=False)
        return PASSED
    raw = body.get("error-codes")
    codes = tuple(str(c) for c in raw if c) if isinstance(raw, list) else ()
    if not codes or any(code in _OUR_FAULT for code in codes):
        return Result(Outcome.ERROR, codes or ("siteverify",))
    return Result(Outcome.FAILED, codes, bot=any(code in _BOT for code in codes))


class Siteverify:
    """A siteverify client with a time limit.

    Example::

        async with Siteverify(secret) as siteverify:
            result = await siteverify.verify(token, remote_ip=ip, action=action_for(room_id))

    Args:
        secret: the widget's secret key.
        url: the siteverify endpoint (tests point it at a stand-in on loopback).
        timeout: seconds for the whole call, connect to last byte.
        client: an ``httpx.AsyncClient`` to share (closing it stays the caller's job);
            by default the instance makes and closes its own.
    """

    __slots__ = ("_client", "_owned", "_secret", "timeout", "url")

    def __init__(
        self,
        secret: str,
        *,
        url: str = SITEVERIFY_URL,
        timeout: float = DEFAULT_TIMEOUT_S,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not secret:
            raise ValueError("the Turnstile secret key is empty")
        self._secret = secret
        self.url = url
        self.timeout = timeout
        self._owned = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def verify(
        self,
        token: str,
        *,
        remote_ip: str | None = None,
        action: str | None = None,
        hostname: str | None = None,
        idempotency_key: str | None = None,
    ) -> Result:
        """Ask Cloudflare about ``token``; never raises for a network fault (that is ``error``).

        Args:
            token: the widget's response token.
            remote_ip: the visitor's address, for Cloudflare's checks.
            action: when given, the verdict's ``action`` must equal it.
            hostname: when given, the verdict's ``hostname`` must equal it (the room's host).
            idempotency_key: a UUID that makes a retried call safe (the token is single-use).
        """
        if not token:
            return failed("missing-input-response", bot=False)
        if len(token) > MAX_TOKEN_CHARS:
            return failed("invalid-input-response", bot=True)
        form = {"secret": self._secret, "response": token}
        if remote_ip:
            form["remoteip"] = remote_ip
        if idempotency_key:
            form["idempotency_key"] = idempotency_key
        try:
            # httpx's timeouts are per phase; the outer limit bounds the whole call, so a
            # server dripping bytes cannot hold a visitor's request past ``timeout``.
            async with asyncio.timeout(self.timeout):
                response = await self._client.post(self.url, data=form, timeout=self.timeout)
        except (TimeoutError, httpx.TimeoutException):
            return error("timeout")
        except httpx.HTTPError:
            return error("unreachable")
        if response.status_code != 200:
            return error(f"http-{response.status_code}")
        try:
            body = response.json()
        except ValueError:
            return error("bad-answer")
        return _verdict(body, action=action, hostname=hostname)

    async def aclose(self) -> None:
        """Close the HTTP client if this instance made it."""
        if self._owned:
            await self._client.aclose()

    async def __aenter__(self) -> Siteverify:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
