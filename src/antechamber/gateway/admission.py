"""One request through the waiting room: route, effective config, cookie, decision, counters.

Shared by the reverse proxy, the WebSocket bridge and the forward-auth
endpoints, so every mode decides exactly alike. Nothing here does network
I/O: the config is an in-memory snapshot and the state is applied locally.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from typing import NamedTuple

from antechamber.core.config import effective_config, next_change_ms
from antechamber.core.cookie import CookieCodec
from antechamber.core.counters import NO_DELTAS, Deltas, RoomSnapshot
from antechamber.core.decide import Decision, decide, quiet_until_ms
from antechamber.core.ticket import Ticket
from antechamber.core.types import BUCKET_MS, Outcome, Random, RequestFacts, RoomConfig
from antechamber.crawlers import CrawlerVerifier
from antechamber.gateway.analytics import AnalyticsRecorder
from antechamber.gateway.challenge import ChallengeGate
from antechamber.gateway.config import ConfigSource, GatewayConfig, RoomEntry
from antechamber.gateway.cookies import (
    LANG_COOKIE,
    clear_room_cookie,
    cookie_flags,
    lang_cookie,
    max_age_s,
    room_cookie,
)
from antechamber.gateway.pages import Reply, queue_reply, supported_language
from antechamber.gateway.request import Visitor, cookie_value, cookie_values, header, query_param
from antechamber.rules.compile import never
from antechamber.rules.request import GeoLookup
from antechamber.state.base import RoomState

Clock = Callable[[], int]
#: Decides whether a request bypasses the room (bypass rules, verified crawlers).
BypassCheck = Callable[[RoomEntry, Visitor], bool]

_NEVER = 1 << 62
#: The placeholder decision of a verdict that waits for a crawler's DNS check (nothing decided yet).
_VERIFY = Decision(Outcome.QUEUE, None, NO_DELTAS, None, "draw")
#: Opened cookies remembered (about 200 bytes each): the admitted visitors of a busy node.
_OPENED_MAX = 16384
#: Queued visitors' opened cookies (each lives until the visitor's next counted refresh).
_QUEUED_MAX = 4096
_LANG_COOKIE_BYTES = LANG_COOKIE.encode()
#: Outcomes the analytics count for every request (admissions are counted by their deltas).
_ANALYSED = frozenset((Outcome.REJECT, Outcome.BYPASS))
#: An admitted visitor's request facts by (websocket, wants_json): built once, not per request.
_SESSION_FACTS = {
    (websocket, wants_json): RequestFacts(websocket=websocket, wants_json=wants_json)
    for websocket in (False, True)
    for wants_json in (False, True)
}


def wall_clock_ms() -> int:
    """The current time in integer ms since the epoch."""
    return time.time_ns() // 1_000_000


class Verdict(NamedTuple):
    """The outcome of one request in a room, and the cookies to set for it.

    A named tuple rather than a frozen dataclass, as :class:`~antechamber.gateway.request.Visitor`:
    one per request, built several times faster.
    """

    entry: RoomEntry
    config: RoomConfig
    decision: Decision
    #: The ticket the visitor's cookie held (None: missing, invalid, expired).
    opened: Ticket | None
    #: ``Set-Cookie`` values: the room cookie when its content changed.
    set_cookies: tuple[bytes, ...]
    now_ms: int
    #: The visitor claims to be a search-engine crawler that only a DNS lookup can confirm.
    verifies_crawler: bool = False
    #: The challenge widget for the queue page's ``{{{turnstile}}}`` (empty: none to show).
    turnstile_html: str = ""

    @property
    def outcome(self) -> Outcome:
        return self.decision.outcome

    @property
    def passes(self) -> bool:
        """The request goes on to the origin."""
        return self.decision.outcome in (Outcome.ORIGIN, Outcome.BYPASS)

    @property
    def pending(self) -> bool:
        """Undecided until something is awaited (:meth:`Admission.settle`): a crawler's DNS check,
        or a slot from the shared pool when this node's share of the free slots is spent."""
        return self.verifies_crawler or self.decision.reason == "draw"


class Admission:
    """Decides requests against the configuration in force and the room state."""

    __slots__ = (
        "_bypass",
        "_cache",
        "_no_counters",
        "analytics",
        "challenge",
        "_opened",
        "_queued",
        "_quiet",
        "clock",
        "codec",
        "crawlers",
        "geo",
        "rng",
        "source",
        "state",
    )

    def __init__(
        self,
        source: ConfigSource,
        state: RoomState,
        codec: CookieCodec,
        *,
        clock: Clock = wall_clock_ms,
        rng: Random | None = None,
        bypass: BypassCheck | None = None,
        geo: GeoLookup | None = None,
        crawlers: CrawlerVerifier | None = None,
    ) -> None:
        self.source = source
        #: Answers the geo fields of rules (None: no geo database, such rules were left out).
        self.geo = geo
        #: Verifies search-engine crawlers for zones with ``search_engine_crawler_bypass``.
        self.crawlers = crawlers
        #: The challenge behind ``turnstile_mode`` (None: no challenge is shown, nobody is held for one).
        self.challenge: ChallengeGate | None = None
        #: Where counted admissions, rejections, bypasses, revocations and renewals go (None: not kept).
        self.analytics: AnalyticsRecorder | None = None
        self.state = state
        self.codec = codec
        self.clock = clock
        self.rng: Random = rng if rng is not None else random.SystemRandom()
        self._bypass = bypass
        # room id -> (entry it was computed for, config, valid from, valid until)
        self._cache: dict[str, tuple[RoomEntry, RoomConfig, int, int]] = {}
        # (cookie value, room id, cookie name) -> the ticket it opened to
        self._opened: dict[tuple[str, str, str], Ticket] = {}
        self._queued: dict[tuple[str, str, str], Ticket] = {}
        # Cookie header -> a session whose requests change nothing till then: (its room, until when,
        # the configuration then in force, the Host value when that room covers the host whole)
        self._quiet: dict[bytes, tuple[RoomEntry, int, GatewayConfig, bytes | None]] = {}
        # The counters an admitted visitor's decision is given (it never reads them), for the
        # current ms: building the 14-field snapshot was a tenth of the admitted check.
        self._no_counters = RoomSnapshot(0)

    def route(self, host: str, path: str) -> RoomEntry | None:
        """The room covering ``host`` and ``path`` in the configuration in force."""
        return self.source.current.match(host, path)

    def config_of(self, room_id: str, now_ms: int) -> RoomConfig | None:
        """A room's effective configuration by id (for the state backend's share of the free slots)."""
        entry = self.source.current.rooms.get(room_id)
        return None if entry is None else self.effective(entry, now_ms)

    def effective(self, entry: RoomEntry, now_ms: int) -> RoomConfig:
        """The room's effective configuration, recomputed only when the entry or the active event changes."""
        cached = self._cache.get(entry.room_id)
        if cached is not None and cached[0] is entry and cached[2] <= now_ms < cached[3]:
            return cached[1]
        config = effective_config(entry.room, entry.events, now_ms)
        until = next_change_ms(entry.room, entry.events, now_ms)
        self._cache[entry.room_id] = (entry, config, now_ms, _NEVER if until is None else until)
        return config

    def check(
        self,
        entry: RoomEntry,
        visitor: Visitor,
        *,
        websocket: bool = False,
        count: bool = True,
        cookie_value: str | None = None,
        drawn: bool = False,
        crawler: bool | None = None,
    ) -> Verdict:
        """Decide ``visitor``'s request in ``entry``'s room.

        ``count=False`` makes a read-only check (the nginx page render): the
        decision is made but its counter changes are dropped. ``cookie_value``
        replaces the cookie the request carries (the fresh one from an auth call).
        A verdict that is :attr:`~Verdict.pending` has changed nothing yet: the caller
        awaits :meth:`settle`, which looks again with ``drawn=True`` (never draws) and
        ``crawler`` (the DNS answer for a visitor claiming to be a crawler).
        """
        now = self.clock()
        config = self.effective(entry, now)
        from_request = cookie_value is None
        if cookie_value is None:
            cookie_value = cookie_value_of(visitor, entry)
        opened = self._open(cookie_value, entry, now)
        if opened is not None and opened.session_valid(now):
            # An admitted visitor's decision never reads the counters: skip the state entirely.
            snapshot = self._no_counters
            if snapshot.now_ms != now:
                snapshot = self._no_counters = RoomSnapshot(now)
            facts = _SESSION_FACTS[websocket, visitor.wants_json()]
            challenge = False
            decision = decide(config, snapshot, opened, facts, now, self.rng)
            # A matching rule would answer "origin, no cookie, nothing counted", which is what a
            # session gets anyway, except at a renewal step: only then are the rules worth running
            # (and a crawler claim not yet settled counts as none: a session needs no DNS wait).
            # (NO_DELTAS first: an ordinary request's, and Deltas.__bool__ is a Python call.)
            if decision.deltas is not NO_DELTAS and decision.deltas and self._bypassed(entry, visitor, now, crawler):
                decision = decide(config, snapshot, opened, dataclasses.replace(facts, bypass=True), now, self.rng)
            elif decision.ticket is opened and count and from_request and not config.suspended:
                self._keep_quiet(visitor, entry, config, opened)
        else:
            bypass = self._bypassed(entry, visitor, now, crawler)
            if bypass is None:
                if count:
                    return Verdict(entry, config, _VERIFY, None, (), now, verifies_crawler=True)
                bypass = False  # a read-only look (the page render) never waits on DNS
            snapshot = self.state.snapshot(entry.room_id, now)
            if self.state.open:
                # The shared store is gone and the operator chose to fail open for a while.
                config = dataclasses.replace(config, queueing_method="passthrough", queue_all=False)
            challenge = (
                self.challenge is not None and config.turnstile_mode != "off" and self.challenge.runnable(visitor)
            )
            facts = RequestFacts(
                bypass=bypass, websocket=websocket, wants_json=visitor.wants_json(), challenge=challenge
            )
            decision = decide(config, snapshot, opened, facts, now, self.rng)
            if decision.reason == "draw":
                if count and not drawn:
                    return Verdict(entry, config, decision, opened, (), now)
                decision = decide(config, dataclasses.replace(snapshot, pool=False), opened, facts, now, self.rng)
        deltas = decision.deltas
        if count and (deltas is not NO_DELTAS or decision.outcome is not Outcome.ORIGIN):
            # (Skipped for an admitted visitor's ordinary request: nothing to apply, nothing analysed.)
            if deltas:
                self.state.apply(entry.room_id, decision.deltas, now)
                renewed = decision.ticket
                if decision.reason == "session" and self.analytics is not None and opened and renewed:
                    # A renewal (at most once per renewal step): the one sign of a session's time on origin.
                    self.analytics.renewed(entry.room_id, opened, renewed, now)
            # Only what the analytics count is worth a call (not an admitted visitor's ordinary request).
            if self.analytics is not None and (decision.deltas.admitted or decision.outcome in _ANALYSED):
                self.analytics.decided(entry.room_id, decision, now)
        cookies: tuple[bytes, ...] = ()
        ticket = decision.ticket
        # Identity first: an unchanged session hands back the very ticket it opened (no field compare).
        if ticket is not None and ticket is not opened and ticket != opened:
            value = self.codec.seal(ticket, room_id=entry.room_id, name=entry.cookie_name)
            flags = cookie_flags(entry.cookie, visitor.secure)
            cookies = (room_cookie(entry.cookie_name, value, max_age_s(ticket, now), flags),)
            if count and cookie_value is not None and opened is not None and _carries_over(opened, ticket):
                # Requests already in flight with the old cookie (a browser loading a page's
                # assets in parallel, or its favicon) must not act on it again: a renewal would
                # move the visitor to the new expiry bucket once more, and a queued visitor just
                # let in would take a second place (or be queued again, its slot lost). From now
                # on the old value opens to the new ticket, so they pass without a change.
                self._remember((cookie_value, entry.room_id, entry.cookie_name), ticket)
                self._remember((value, entry.room_id, entry.cookie_name), ticket)
        widget = ""
        if challenge and decision.outcome is Outcome.QUEUE and self.challenge is not None:
            held = decision.ticket or opened
            # An infinite-queue visitor sees what a visitor who passed sees: no widget (and no loop of answers).
            if held is None or not (held.challenge_passed or held.infinite_queue):
                widget = self.challenge.markup(config.turnstile_mode, entry.room_id)
        return Verdict(entry, config, decision, opened, cookies, now, turnstile_html=widget)

    def _bypassed(self, entry: RoomEntry, visitor: Visitor, now: int, crawler: bool | None) -> bool | None:
        """A bypass rule matches, or the visitor is a verified crawler; None: a crawler claim DNS must settle.

        ``crawler`` is what is already known of a crawler claim (None: ask the verifier's cache).
        """
        if entry.bypass is not never and entry.bypass(visitor, now, self.geo) >= 0:
            return True
        if entry.crawler_bypass and self.crawlers is not None and visitor.client_ip is not None:
            if crawler is None:
                agent = header(visitor.headers, b"user-agent") or ""
                crawler = self.crawlers.known(visitor.client_ip, agent)
            if crawler is None or crawler:
                return crawler
        return self._bypass is not None and self._bypass(entry, visitor)

    async def settle(
        self, verdict: Verdict, visitor: Visitor, *, websocket: bool = False, cookie_value: str | None = None
    ) -> Verdict:
        """Await what a :attr:`~Verdict.pending` verdict waits for, then decide again."""
        crawler = None
        if verdict.verifies_crawler and self.crawlers is not None and visitor.client_ip is not None:
            agent = header(visitor.headers, b"user-agent") or ""
            crawler = await self.crawlers.verify(visitor.client_ip, agent)
            verdict = self.check(
                verdict.entry, visitor, websocket=websocket, cookie_value=cookie_value, crawler=crawler
            )
            if not verdict.pending:
                return verdict
        await self.state.draw(verdict.entry.room_id, verdict.now_ms)
        return self.check(
            verdict.entry, visitor, websocket=websocket, cookie_value=cookie_value, drawn=True, crawler=crawler
        )

    def quiet_room(self, host: bytes, path: str, cookie_header: bytes) -> RoomEntry | None:
        """The room of a request for ``host`` and ``path`` with this Cookie header, when it is a quiet session's.

        The admitted visitor's ordinary request (no renewal due, no cookie to set, nothing
        counted) is most of a site's traffic. Once :meth:`check` has answered one such
        request, the same answer holds for the same Cookie header until the renewal step,
        the session's end or the room's next configuration change, whichever is first
        (:func:`~antechamber.core.decide.quiet_until_ms`). Keyed by the whole header, the
        check reads no cookie: a header whose other cookies changed just misses once. It
        is the admitted path's first step, so it is kept flat: on a host one room covers
        whole, a request to the host that was decided needs no route lookup.
        """
        quiet = self._quiet.get(cookie_header)
        if quiet is None:
            return None
        entry, until, config, whole_host = quiet
        if config is not self.source.current or self.clock() >= until:
            return None
        if host == whole_host:
            return entry
        return entry if self.source.current.match(host.decode("latin-1"), path) is entry else None

    def _keep_quiet(self, visitor: Visitor, entry: RoomEntry, config: RoomConfig, ticket: Ticket) -> None:
        cached = self._cache.get(entry.room_id)
        if cached is None or cached[1] is not config:
            return
        headers = [value for name, value in visitor.headers if name == b"cookie"]
        if len(headers) != 1:
            return  # several Cookie headers: always decided
        # Until the renewal step or the session's end, and the next event boundary (a new effective config).
        until = min(quiet_until_ms(config, ticket), cached[3])
        current = self.source.current
        whole_host = visitor.host.encode("latin-1") if current.routes.whole_host(visitor.host) is entry else None
        if len(self._quiet) >= _OPENED_MAX:
            self._quiet.clear()  # many distinct visitors: start over rather than grow
        self._quiet[headers[0]] = (entry, until, current, whole_host)

    def _remember(self, key: tuple[str, str, str], ticket: Ticket) -> None:
        if len(self._opened) >= _OPENED_MAX:
            self._opened.clear()  # many distinct visitors: start over rather than grow
        self._opened[key] = ticket

    def clear_cookie_cache(self) -> None:
        """Forget every opened cookie: after the codec's keys change, a value must open with the new keys.

        (The effective-config cache is not about cookies and stays.)
        """
        self._opened = {}
        self._queued = {}
        self._quiet = {}

    def _open(self, value: str | None, entry: RoomEntry, now_ms: int) -> Ticket | None:
        """``codec.open``, remembering tickets by cookie value.

        An admitted visitor sends the same sealed value on every request until it
        changes; decrypting it again each time is a fifth of the admitted check. A
        value is authenticated ciphertext, so it always opens to the same ticket under
        this codec's keys; only the expiry depends on the time, so it is checked here.
        Only values that opened are kept, so junk cannot fill the tables. Queued
        visitors' tickets go to a table of their own: their cookie changes on every
        counted refresh, and those one-time values must not push admitted visitors out.
        """
        if value is None:
            return None
        key = (value, entry.room_id, entry.cookie_name)
        ticket = self._opened.get(key) or self._queued.get(key)
        if ticket is None:
            ticket = self.codec.open(value, room_id=entry.room_id, name=entry.cookie_name)
            if ticket is None:
                return None
            if ticket.accepted_ms:
                self._remember(key, ticket)
            else:
                if len(self._queued) >= _QUEUED_MAX:
                    self._queued.clear()
                self._queued[key] = ticket
        return ticket if now_ms < ticket.cookie_expires_ms else None

    def revoke(self, entry: RoomEntry, ticket: Ticket | None, visitor: Visitor, now_ms: int) -> tuple[bool, bytes]:
        """End ``ticket``'s session: the room counts one active user less.

        Returns whether a live session was dropped, and the ``Set-Cookie``
        value that deletes the cookie (sent either way, so the visitor's next
        request is a new user).
        """
        dropped = ticket is not None and ticket.session_valid(now_ms)
        for name, value in visitor.headers:
            if name == b"cookie":
                self._quiet.pop(value, None)  # the session ended: its requests are decided again
        if dropped and ticket is not None:
            self.state.apply(
                entry.room_id, Deltas(active=((ticket.expires_ms // BUCKET_MS, -1),), moves_visitor=True), now_ms
            )
            if self.analytics is not None:
                self.analytics.revoked(entry.room_id, now_ms)
        return dropped, clear_room_cookie(entry.cookie_name, cookie_flags(entry.cookie, visitor.secure))

    def session_of(self, entry: RoomEntry, visitor: Visitor, now_ms: int) -> Ticket | None:
        """The ticket in the visitor's cookie for this room (None when missing or invalid)."""
        value = cookie_value_of(visitor, entry)
        return self.codec.open(value, room_id=entry.room_id, name=entry.cookie_name, now_ms=now_ms)


def cookie_value_of(visitor: Visitor, entry: RoomEntry) -> str | None:
    """The value of ``entry``'s room cookie in the visitor's request (None: not sent)."""
    return cookie_value(visitor.headers, entry.cookie_name)


def _carries_over(opened: Ticket, ticket: Ticket) -> bool:
    """``ticket`` is ``opened``'s session renewed, or ``opened``'s queued visitor just let in."""
    if ticket.arrival_ms != opened.arrival_ms or ticket.accepted_ms == 0:
        return False
    if opened.accepted_ms == 0:
        return True  # admitted from the queue
    return ticket.accepted_ms == opened.accepted_ms and ticket.expires_ms > opened.expires_ms


def page_language(visitor: Visitor, config: RoomConfig) -> tuple[str, bytes | None]:
    """The page language, and a ``Set-Cookie`` to remember it when it came from ``?lang=``.

    ``?lang=xx-YY`` > the language cookie > the room's ``default_template_language``.
    """
    # Substring checks first: parsing the query and the cookies is most of a cached page's cost.
    if b"lang=" in visitor.query_string:
        asked = supported_language(query_param(visitor.query_string, "lang"))
        if asked is not None:
            return asked, lang_cookie(asked, visitor.secure)
    if any(name == b"cookie" and _LANG_COOKIE_BYTES in value for name, value in visitor.headers):
        remembered = supported_language(cookie_values(visitor.headers, (LANG_COOKIE,)).get(LANG_COOKIE))
        if remembered:
            return remembered, None
    return config.default_template_language, None


def visitor_queue_reply(verdict: Verdict, visitor: Visitor, *, status: int | None = None) -> Reply:
    """The queue or reject page (or JSON) for a held visitor, in their language.

    A ``?lang=`` choice is remembered with a cookie; ``status`` overrides the room's
    ``queueing_status_code`` (forward auth for Caddy and Traefik needs a non-2xx).
    The room cookie is the caller's to add: the nginx page endpoint re-sends its own.
    """
    info = verdict.decision.info
    assert info is not None  # QUEUE and REJECT decisions always carry it
    language, remember = page_language(visitor, verdict.config)
    reply = queue_reply(
        verdict.config,
        info,
        reject=verdict.outcome is Outcome.REJECT,
        language=language,
        wants_json=visitor.wants_json(),
        status=status,
        turnstile_html=verdict.turnstile_html,
    )
    if remember is not None:
        reply.headers.append((b"set-cookie", remember))
    return reply
