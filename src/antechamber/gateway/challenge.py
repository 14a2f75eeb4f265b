"""The challenge behind ``turnstile_mode`` and ``turnstile_action``: the widget, and its three endpoints.

Self-hosted ALTCHA by default, Cloudflare Turnstile when the operator gives a site
key and secret. The page flow (see :mod:`antechamber.challenge.widget`):

- ``GET /.antechamber/challenge/altcha.i18n.min.js``: the vendored widget.
- ``GET /.antechamber/challenge?room=ID``: a proof-of-work challenge bound to the
  room and to the visitor in the room cookie (its arrival and random rank, which the
  visitor cannot choose and which stay the same while it waits).
- ``POST /.antechamber/challenge/verify?room=ID`` with the solution in the
  ``X-Antechamber-Challenge`` header: redeemed once, then the ticket is re-sealed
  with ``challenge_passed`` (or, for a failure only a bot produces, under
  ``infinite_queue``, with ``infinite_queue``) and sent back as the room cookie.

Outcomes are counted per room (issued, passed, failed as a bot, failed otherwise,
errors) for analytics: under ``log`` that is all the challenge does. A challenge
is only asked where the page can run it: browsers give the widget's WebCrypto
only to secure pages (HTTPS, or a loopback host).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from antechamber.challenge.altcha import Altcha
from antechamber.challenge.result import Outcome as ChallengeOutcome
from antechamber.challenge.result import Result
from antechamber.challenge.spent import SpentSet
from antechamber.challenge.turnstile import Siteverify, action_for
from antechamber.challenge.widget import (
    ALTCHA_SCRIPT_FILE,
    PREFIX,
    SOLUTION_HEADER,
    Endpoints,
    altcha_widget,
    turnstile_widget,
)
from antechamber.core.ticket import Ticket
from antechamber.core.types import TurnstileMode
from antechamber.gateway.config import RoomEntry
from antechamber.gateway.cookies import cookie_flags, max_age_s, room_cookie
from antechamber.gateway.pages import Reply, text_reply
from antechamber.gateway.request import Visitor, cookie_values, header, query_param
from antechamber.gateway.routing import normalize_host

if TYPE_CHECKING:
    from antechamber.gateway.admission import Admission

logger = logging.getLogger(__name__)

ENDPOINTS = Endpoints()
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_SOLUTION_BYTES = SOLUTION_HEADER.encode()
#: An open challenge is handed out again only while it has at least this long to live.
_REUSE_MARGIN_MS = 60_000
#: Open challenges remembered (about 600 bytes each); past this the table starts over.
_ISSUED_MAX = 20_000
#: Longer solutions are refused unread (an ALTCHA payload is about 400 bytes, a Turnstile token up to 2048).
_MAX_SOLUTION = 4096


@dataclass(frozen=True, slots=True)
class TurnstileSite:
    """Cloudflare Turnstile instead of ALTCHA: the site key for the widget, siteverify for the answer."""

    site_key: str
    siteverify: Siteverify


@dataclass(slots=True)
class ChallengeCounts:
    """One room's challenge outcomes on this node (Cloudflare's analytics: likely human, likely bot, bot)."""

    issued: int = 0
    passed: int = 0
    failed_bot: int = 0
    failed: int = 0
    errors: int = 0

    @property
    def unsolved(self) -> int:
        """Issued and never answered: Cloudflare's "likely bots"."""
        return max(0, self.issued - self.passed - self.failed_bot - self.failed - self.errors)


@dataclass
class ChallengeGate:
    """Widget markup for the queue page and the challenge endpoints, for every room of a gateway."""

    altcha: Altcha
    spent: SpentSet
    turnstile: TurnstileSite | None = None
    counts: dict[str, ChallengeCounts] = field(default_factory=dict)
    _markup: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (room id, visitor id) -> a challenge issued and not yet answered, handed out again on a reload.
    _issued: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _script: bytes | None = None

    # --- the page -------------------------------------------------------------

    @staticmethod
    def runnable(visitor: Visitor) -> bool:
        """The visitor's page can run the widget: secure (HTTPS), or a loopback host."""
        if visitor.secure:
            return True
        return normalize_host(visitor.host) in _LOOPBACK_HOSTS

    def markup(self, mode: TurnstileMode, room_id: str) -> str:
        """``{{{turnstile}}}`` for a room: the same for every visitor, so it is built once per room and mode."""
        key = (mode, room_id)
        found = self._markup.get(key)
        if found is None:
            if self.turnstile is not None:
                found = turnstile_widget(
                    mode, room_id, site_key=self.turnstile.site_key, action=action_for(room_id), endpoints=ENDPOINTS
                )
            else:
                found = altcha_widget(mode, room_id, endpoints=ENDPOINTS)
            if len(self._markup) > 4096:
                self._markup.clear()
            self._markup[key] = found
        return found

    # --- the endpoints ----------------------------------------------------------

    @staticmethod
    def handles(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    def reply(
        self, admission: Admission, scope: Mapping[str, Any], visitor: Visitor
    ) -> Reply | Coroutine[Any, Any, Reply]:
        """Answer one of the challenge endpoints."""
        path = str(scope.get("path", ""))
        method = str(scope.get("method", "GET"))
        if path == ENDPOINTS.script:
            return self._script_reply()
        found = self._visitor_ticket(admission, scope, visitor)
        if isinstance(found, Reply):
            return found
        entry, ticket, now = found
        if path == ENDPOINTS.challenge and method == "GET":
            if self.turnstile is not None:
                return _json(404, {"error": "this gateway uses Turnstile, which issues its own challenges"})
            return self._issue(entry.room_id, _visitor_id(ticket), now)
        if path == ENDPOINTS.verify and method == "POST":
            return self._verify(admission, entry, ticket, visitor, now)
        return text_reply(404, "Not found")

    def _issue(self, room_id: str, visitor_id: str, now: int) -> Reply | Coroutine[Any, Any, Reply]:
        """A challenge for the visitor: the one it has not answered yet, else a new one.

        Issuing costs one key derivation (about 0.8 ms), so a visitor reloading the page
        gets its open challenge again rather than a new one each time, and a new one is
        made off the event loop (the derivation releases the GIL).
        """
        key = (room_id, visitor_id)
        open_challenge = self._issued.get(key)
        if (
            open_challenge is not None
            and open_challenge["parameters"].get("expiresAt", 0) * 1000 > now + _REUSE_MARGIN_MS
        ):
            return _json(200, open_challenge)
        return self._issue_new(key, now)

    async def _issue_new(self, key: tuple[str, str], now: int) -> Reply:
        challenge = await asyncio.to_thread(self.altcha.issue, key[0], key[1], now_ms=now)
        self._counts(key[0]).issued += 1
        if len(self._issued) >= _ISSUED_MAX:
            self._issued.clear()
        self._issued[key] = challenge
        return _json(200, challenge)

    def _script_reply(self) -> Reply:
        if self._script is None:
            self._script = resources.files("antechamber.challenge").joinpath(ALTCHA_SCRIPT_FILE).read_bytes()
        headers = [(b"content-type", b"text/javascript; charset=utf-8"), (b"cache-control", b"public, max-age=3600")]
        return Reply(200, self._script, headers)

    def _visitor_ticket(
        self, admission: Admission, scope: Mapping[str, Any], visitor: Visitor
    ) -> tuple[RoomEntry, Ticket, int] | Reply:
        room_id = query_param(scope.get("query_string") or b"", "room")
        entry = admission.source.current.rooms.get(room_id or "")
        if entry is None:
            return _json(404, {"error": "no such waiting room"})
        now = admission.clock()
        config = admission.effective(entry, now)
        if config.turnstile_mode == "off":
            return _json(404, {"error": "this waiting room asks no challenge"})
        value = cookie_values(visitor.headers, (entry.cookie_name,)).get(entry.cookie_name)
        ticket = admission.session_of(entry, visitor, now) if value else None
        if ticket is None:
            # The challenge is bound to the visitor's place: without the room cookie there is nothing to bind to.
            return _json(403, {"error": "no waiting room cookie"})
        return entry, ticket, now

    async def _verify(
        self, admission: Admission, entry: RoomEntry, ticket: Ticket, visitor: Visitor, now: int
    ) -> Reply:
        counts = self._counts(entry.room_id)
        # Answered, right or wrong: the next fetch gets a fresh challenge (a spent one would fail as a replay).
        self._issued.pop((entry.room_id, _visitor_id(ticket)), None)
        if ticket.challenge_passed or ticket.infinite_queue:
            # Nothing to change; an infinite-queue visitor is told it passed, so its page looks real.
            return _json(200, {"verified": True})
        solution = header(visitor.headers, _SOLUTION_BYTES) or ""
        if len(solution) > _MAX_SOLUTION:
            result = Result(ChallengeOutcome.FAILED, ("oversized",), bot=True)
        elif self.turnstile is not None:
            result = await self.turnstile.siteverify.verify(
                solution,
                remote_ip=visitor.client_ip,
                action=action_for(entry.room_id),
                hostname=normalize_host(visitor.host),
            )
        else:
            result = await self.altcha.redeem(
                solution, entry.room_id, _visitor_id(ticket), now_ms=now, spent=self.spent
            )
        config = admission.effective(entry, now)
        if result.outcome is ChallengeOutcome.ERROR:
            # Our side could not tell (siteverify or the used-set store is down): let the visitor
            # through rather than hold every newcomer out of the line for an outage of ours.
            counts.errors += 1
            logger.warning("room %s: the challenge could not be checked (%s); passing", entry.room_id, result.reasons)
            updated = ticket.with_flags(challenge_passed=True)
        elif result.passed:
            counts.passed += 1
            updated = ticket.with_flags(challenge_passed=True)
        elif result.bot:
            counts.failed_bot += 1
            if config.turnstile_action != "infinite_queue":
                return _json(200, {"verified": False, "reason": ",".join(result.reasons)})
            # Looks like a pass to the bot; from now on it waits in a queue that never moves.
            updated = ticket.with_flags(infinite_queue=True)
        else:
            counts.failed += 1
            return _json(200, {"verified": False, "reason": ",".join(result.reasons)})
        return _json(200, {"verified": True}, cookie=_cookie(admission, entry, updated, visitor, now))

    def _counts(self, room_id: str) -> ChallengeCounts:
        found = self.counts.get(room_id)
        if found is None:
            found = self.counts[room_id] = ChallengeCounts()
        return found


def _visitor_id(ticket: Ticket) -> str:
    return f"{ticket.arrival_ms}:{ticket.rank}"


def _cookie(admission: Admission, entry: RoomEntry, ticket: Ticket, visitor: Visitor, now: int) -> bytes:
    value = admission.codec.seal(ticket, room_id=entry.room_id, name=entry.cookie_name)
    return room_cookie(entry.cookie_name, value, max_age_s(ticket, now), cookie_flags(entry.cookie, visitor.secure))


def _json(status: int, body: object, *, cookie: bytes | None = None) -> Reply:
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    if cookie is not None:
        headers.append((b"set-cookie", cookie))
    return Reply(status, json.dumps(body, separators=(",", ":")).encode(), headers)
