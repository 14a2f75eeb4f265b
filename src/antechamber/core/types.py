"""The values the decision core takes and returns.

These are the seam between the pure core (``antechamber.core``), the state
backends (``antechamber.state``), the simulator (``antechamber.sim``) and the
gateway (``antechamber.gateway``). Times are integer milliseconds since the
Unix epoch throughout; minutes appear only in fields that mirror Cloudflare's
JSON names.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal, Protocol

QueueingMethod = Literal["fifo", "random", "passthrough", "reject"]
TurnstileMode = Literal["off", "invisible", "visible_non_interactive", "visible_managed"]
TurnstileAction = Literal["log", "infinite_queue"]

MINUTE_MS = 60_000
REFRESH_INTERVAL_S = 20
#: A queued visitor keeps the place this long after the last refresh.
QUEUE_PLACE_HOLD_MS = 5 * MINUTE_MS
#: Past this estimated wait the queue reports itself full.
QUEUE_FULL_WAIT_MINUTES = 24 * 60
REFRESH_INTERVAL_MS = REFRESH_INTERVAL_S * 1000

#: Counter resolution: arrival order, session expiry and admissions are kept
#: per second, so FIFO holds to the second (Cloudflare: to the minute).
BUCKET_MS = 1000
#: Queued users are grouped by the 10-second window of their last counted
#: refresh; a whole window is dropped once its newest member's hold ran out.
REFRESH_BUCKET_MS = 10_000
#: A queued user who refreshed this recently is *present*. Only present users
#: block the line: one who stopped refreshing keeps the place for the 5-minute
#: hold but does not hold up everyone behind for all that time (two missed
#: refreshes plus slack).
PRESENT_MS = 2 * REFRESH_INTERVAL_MS + 5_000
#: Burst tolerance of the paced new-user budget: at most this much of the
#: minute's budget may be spent at once. It must exceed the 20 s refresh
#: interval, otherwise slots reserved for queued users who have not refreshed
#: yet would be lost and the budget under-used.
PACE_BURST_MS = 30_000
#: The cap on new users in any 60 s is checked on the admissions of this many
#: whole seconds: a 60 s interval can touch 61 of them (its first and last
#: partly), so a cap on every 61 whole seconds bounds every real 60 s too.
CAP_WINDOW_S = 61
#: The cap itself: ``new_users_per_minute`` plus this much of it (DESIGN
#: section 5 allows 1.02 × the budget). In steady state the pace puts 61/60 of
#: the budget in 61 seconds, so 0.33 % is left for a burst. The cap is a gate:
#: the slots the pace holds for queued users who have not refreshed yet are
#: not counted against it (FIFO excepted, see :mod:`antechamber.core.budget`).
MINUTE_CAP_SLACK_MS = 1_200
#: The shortest refresh interval a FIFO user whose turn is near is given
#: (see :func:`antechamber.core.budget.fifo_refresh_s`).
FIFO_REFRESH_MIN_S = 1
#: A full room whose next session ends further off than this is waiting for
#: its sessions to start ending, and the wait estimate adds the time (see
#: :func:`antechamber.core.estimate.first_exit_ms`). Shorter gaps are the
#: ordinary spacing of exits, which the turnover accounts for.
FIRST_EXIT_MIN_MS = REFRESH_INTERVAL_MS // 2
#: A valid session's expiry is pushed forward only when it moves by at least
#: this much, so parallel requests of one page rarely all emit a counter move.
RENEW_STEP_MS = 5_000
#: The measured outflow behind wait estimates looks this far back.
OUTFLOW_WINDOW_S = 300
#: Weight of the last minute's admissions in the measured outflow (the five-minute window has the rest).
OUTFLOW_RECENT_WEIGHT = 0.25


class Random(Protocol):
    """The injected random source (``random.Random`` satisfies it)."""

    def random(self) -> float: ...

    def getrandbits(self, k: int, /) -> int: ...


@dataclass(frozen=True, slots=True)
class EventWindow:
    """The event in force for a room, as the core needs it."""

    event_id: str
    prequeue_start_ms: int | None
    start_ms: int
    end_ms: int
    shuffle_at_event_start: bool


@dataclass(frozen=True, slots=True)
class RoomConfig:
    """A room's effective configuration: the room with the active event's overrides.

    Built by :func:`antechamber.core.config.effective_config`; ``event`` is the
    active (prequeueing or running, not suspended) event or ``None``.
    """

    room_id: str
    total_active_users: int
    new_users_per_minute: int
    session_duration: int
    disable_session_renewal: bool = False
    queueing_method: QueueingMethod = "fifo"
    queue_all: bool = False
    suspended: bool = False
    queueing_status_code: int = 200
    json_response_enabled: bool = False
    custom_page_html: str = ""
    default_template_language: str = "en-US"
    turnstile_mode: TurnstileMode = "invisible"
    turnstile_action: TurnstileAction = "log"
    enabled_origin_commands: tuple[str, ...] = ()
    event: EventWindow | None = None


class Outcome(enum.Enum):
    """What the gateway does with a request."""

    ORIGIN = "origin"  # pass to the origin (admitted, or passthrough)
    QUEUE = "queue"  # answer with the queue page or JSON
    REJECT = "reject"  # answer with the static reject page
    BYPASS = "bypass"  # pass to the origin, untouched: no cookie, not counted


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the gateway learned from the request before asking the core."""

    bypass: bool = False  # a bypass rule or a verified crawler matched
    websocket: bool = False
    wants_json: bool = False
    #: The visitor can be shown the challenge (the gateway has one and the page can run it).
    challenge: bool = False
