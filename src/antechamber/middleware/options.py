"""How an app's waiting room is set up: a single room in code or TOML, or the config store; memory or Redis.

Given as keywords to the middleware, or as a TOML file (``config="antechamber.toml"``)
with the same names at the top level and the room as a ``[room]`` table::

    state = "redis://127.0.0.1:6379/0"     # several workers: they share the counters here
    data_dir = "/var/lib/shop/antechamber"  # the cookie keys, shared by every worker

    [room]                                  # the Cloudflare API's fields, validated as the API does
    host = "shop.example.com"
    path = "/checkout"
    total_active_users = 500
    new_users_per_minute = 300

or ``database = "postgresql://..."`` instead of ``[room]``: the app then follows the
rooms the management API (and the Cloudflare SDKs) manage, like a gateway node.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from antechamber.api.errors import ApiError
from antechamber.api.models.fields import min_user_limit
from antechamber.api.models.room import RoomInput
from antechamber.api.room_checks import check_room_fields
from antechamber.gateway.config import GatewayConfig, entry_from_stored
from antechamber.gateway.request import DEFAULT_TRUSTED
from antechamber.state.factory import check_state_url

#: The zone a room given in code belongs to (it has no account, zone or API).
IN_CODE_ZONE = "in-code"


class OptionsError(ValueError):
    """The waiting room's options cannot work (said before the app serves a request)."""


@dataclass(frozen=True, slots=True)
class Options:
    """Everything the middleware needs; exactly one of ``room`` and ``database``."""

    #: A room body with the Cloudflare API's fields (``host``, ``total_active_users``, ...).
    room: Mapping[str, Any] | None = None
    #: The config store's URL (``postgresql://...``, ``sqlite:///...``): follow the API's rooms.
    database: str | None = None
    #: ``memory`` (one process) or a Redis URL (several workers or machines).
    state: str = "memory"
    #: Holds the cookie keys (created on first start, mode 0600); every worker must share it.
    data_dir: Path = Path(".antechamber")
    #: IPs and CIDRs whose ``X-Forwarded-*`` headers are believed.
    trusted_proxies: Sequence[str] = DEFAULT_TRUSTED
    #: The first part of every Redis key, so deployments can share one Redis.
    state_prefix: str = "antechamber"
    #: Seconds between the config store's polls (``database`` only; changes usually arrive at once).
    follow_interval: float = 1.0
    #: A room given in code may go below the API's 200-user minimum (the app's own operator sets it).
    min_user_limit: int = 1

    @classmethod
    def of(cls, config: str | Path | None = None, **overrides: Any) -> Options:
        """The options from a TOML file (if any) with keyword ``overrides`` on top, checked."""
        values: dict[str, Any] = {}
        if config is not None:
            try:
                values = tomllib.loads(Path(config).read_text())
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise OptionsError(f"cannot read the waiting room's config {config}: {exc}") from exc
        values.update(overrides)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise OptionsError(
                f"unknown waiting room option(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"])
        if "trusted_proxies" in values:
            values["trusted_proxies"] = tuple(values["trusted_proxies"])
        options = cls(**values)
        options.check()
        return options

    def check(self) -> None:
        """Raise :class:`OptionsError` unless these options can run."""
        if (self.room is None) == (self.database is None):
            raise OptionsError("give the waiting room either a room (in code or [room] in TOML) or a database")
        try:
            check_state_url(self.state)
        except ValueError as exc:
            raise OptionsError(str(exc)) from exc
        if self.room is not None:
            self.room_body()  # raises with the API's own message

    def room_body(self) -> dict[str, Any]:
        """The room as the API would store it (defaults filled in), or :class:`OptionsError` with the API's message."""
        assert self.room is not None
        token = min_user_limit.set(self.min_user_limit)
        try:
            # The API asks every room for a name; one given in code may leave it out.
            body = RoomInput.model_validate({"name": "in_code_room", **self.room}).model_dump(mode="json")
            check_room_fields(body)  # and the API's cross-field rules (new users within active users, ...)
            return body
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'room'}: {e['msg']}" for e in exc.errors())
            raise OptionsError(f"the waiting room's room is not valid: {problems}") from exc
        except ApiError as exc:
            raise OptionsError(f"the waiting room's room is not valid: {exc.message}") from exc
        finally:
            min_user_limit.reset(token)

    def room_config(self) -> GatewayConfig:
        """The one room given in code, as the gateway's configuration."""
        body = self.room_body()
        return GatewayConfig([entry_from_stored(room_id(body), IN_CODE_ZONE, body)], version="in-code")


def room_id(body: Mapping[str, Any]) -> str:
    """A room given in code gets the same id in every worker and after every restart: its counters are shared."""
    routes = [body.get("host"), body.get("path"), body.get("additional_routes") or [], body.get("name")]
    return hashlib.sha256(json.dumps(routes, sort_keys=True).encode()).hexdigest()[:32]
