"""Helpers shared by the SDK tests: the server handle, room and event factories, error checks."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import cloudflare
from cloudflare.pagination import SyncV4PagePaginationArray
from cloudflare.types.waiting_rooms import Event, WaitingRoom

HEX32 = re.compile(r"^[0-9a-f]{32}$")
E = TypeVar("E", bound=cloudflare.APIStatusError)


@dataclass
class ApiServer:
    """Where one running server listens, and the zones and tokens made for it."""

    backend: str
    origin: str
    zone_id: str
    zone_name: str
    pager_zone_id: str
    other_zone_id: str
    settings_zone_id: str
    account_id: str
    write_token: str
    read_token: str
    zone_token: str

    @property
    def base_url(self) -> str:
        """The SDK's base URL: the server's ``/client/v4`` prefix."""
        return f"{self.origin}/client/v4"

    def client(self, token: str | None = None, **kwargs: Any) -> cloudflare.Cloudflare:
        """An SDK client for this server (write token unless told otherwise), never retrying."""
        return cloudflare.Cloudflare(
            api_token=token if token is not None else self.write_token,
            base_url=self.base_url,
            max_retries=0,
            timeout=30,
            **kwargs,
        )


def discover_account_id(client: cloudflare.Cloudflare, zone_created: dict[str, object], server: ApiServer) -> str:
    """The account the zones belong to: from the CLI's output, else the server's fixed default account."""
    for key in ("account_id", "account"):
        value = zone_created.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            return str(value["id"])
    # Antechamber has one account, with an id fixed in the code so that every node agrees on it.
    from antechamber.db.accounts import DEFAULT_ACCOUNT_ID

    return DEFAULT_ACCOUNT_ID


def unique(prefix: str = "room") -> str:
    """A fresh name made of the characters Cloudflare allows in names."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def unique_host(zone_name: str) -> str:
    """A fresh host name inside ``zone_name``, so tests never share a route."""
    return f"h{uuid.uuid4().hex[:12]}.{zone_name}"


def new_room(client: cloudflare.Cloudflare, zone_id: str, zone_name: str = "example.com", **fields: Any) -> WaitingRoom:
    """Create a room with a unique name and host; ``fields`` override or add anything."""
    params: dict[str, Any] = {
        "name": unique(),
        "host": unique_host(zone_name),
        "new_users_per_minute": 200,
        "total_active_users": 300,
    }
    params.update(fields)
    room = client.waiting_rooms.create(zone_id=zone_id, **params)
    assert room is not None
    return room


def iso(moment: datetime) -> str:
    """Cloudflare's timestamp shape: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def parse_ts(text: str | None) -> datetime:
    """Parse an ISO 8601 timestamp from the API into an aware datetime."""
    assert text, "expected a timestamp"
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, f"timestamp without a zone: {text}"
    return parsed


def now() -> datetime:
    """The current time, UTC, whole seconds."""
    return datetime.now(UTC).replace(microsecond=0)


def new_event(
    client: cloudflare.Cloudflare,
    zone_id: str,
    room_id: str,
    start_in: timedelta = timedelta(hours=1),
    length: timedelta = timedelta(hours=1),
    **fields: Any,
) -> Event:
    """Create an event starting ``start_in`` from now and lasting ``length``."""
    start = now() + start_in
    params: dict[str, Any] = {
        "name": unique("event"),
        "event_start_time": iso(start),
        "event_end_time": iso(start + length),
    }
    params.update(fields)
    event = client.waiting_rooms.events.create(room_id, zone_id=zone_id, **params)
    assert event is not None
    return event


def edit_event(client: cloudflare.Cloudflare, zone_id: str, room_id: str, event: Event, **changes: Any) -> Event | None:
    """PATCH ``event`` with ``changes``; the SDK also requires name and times, sent as they are unless changed."""
    params: dict[str, Any] = {
        "name": str(event.name),
        "event_start_time": str(event.event_start_time),
        "event_end_time": str(event.event_end_time),
    }
    params.update(changes)
    return client.waiting_rooms.events.edit(str(event.id), zone_id=zone_id, waiting_room_id=room_id, **params)


def assert_cloudflare_error(error: cloudflare.APIStatusError, status: int) -> tuple[int, str]:
    """The error is Cloudflare's envelope with ``success: false``; return its first (code, message)."""
    assert status == error.status_code
    body = error.body
    assert isinstance(body, dict), f"error body is not JSON: {body!r}"
    assert body.get("success") is False
    assert body.get("result") is None
    assert isinstance(body.get("messages"), list)
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, f"no errors in {body!r}"
    first = errors[0]
    assert isinstance(first, dict)
    code, message = first.get("code"), first.get("message")
    assert isinstance(code, int) and code > 0, f"error code {code!r} is not a positive integer"
    assert isinstance(message, str) and message, "error message is empty"
    # The SDK parses the same errors and quotes the body in its exception message.
    assert error.errors and error.errors[0].code == code and error.errors[0].message == message
    # (the body is quoted as a Python dict, so a message with both kinds of quote shows escaped)
    assert message in error.message or repr(message) in error.message
    return code, message


def raises(kind: type[E], call: Callable[[], object]) -> E:
    """Run ``call``, expecting the SDK to raise ``kind``; return the exception."""
    try:
        result = call()
    except kind as exc:
        return exc
    except cloudflare.APIStatusError as exc:
        got = f"{type(exc).__name__} {exc.status_code}: {exc.body}"
        raise AssertionError(f"expected {kind.__name__}, got {got}") from exc
    raise AssertionError(f"expected {kind.__name__}, the call succeeded with {result!r}")


def info(page: SyncV4PagePaginationArray[Any]) -> dict[str, Any]:
    """A list page's ``result_info`` as a dict (``count`` and ``total_count`` included)."""
    assert page.result_info is not None, "the list response has no result_info"
    return page.result_info.model_dump()


def room_snapshot(client: cloudflare.Cloudflare, zone_id: str) -> list[dict[str, Any]]:
    """Every room of the zone as plain dicts, to compare the store before and after a refusal."""
    return [room.model_dump() for room in client.waiting_rooms.list(zone_id=zone_id, per_page=100)]
