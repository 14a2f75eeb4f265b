"""The management API: Cloudflare's API v4 for waiting rooms, under ``/client/v4``.

Point the official SDK at it and use it as you would Cloudflare::

    import cloudflare

    client = cloudflare.Cloudflare(api_token=TOKEN, base_url="http://127.0.0.1:8080/client/v4")
    room = client.waiting_rooms.create(
        zone_id=ZONE_ID, host="shop.example.com", name="shop", new_users_per_minute=200, total_active_users=500
    )

``TOKEN`` comes from ``antechamber tokens create`` and ``ZONE_ID`` from
``antechamber zones create example.com``. Error codes are listed in
:mod:`antechamber.api.errors`; the OpenAPI document is at ``/client/v4/openapi.json``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from antechamber.api.app import create_app
    from antechamber.api.status import LiveNumbers, StatusSource, ZeroStatusSource

__all__ = ["LiveNumbers", "StatusSource", "ZeroStatusSource", "create_app"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the in-app middleware reads the API's room model and errors
    # (antechamber.api.models, .errors) and must not load FastAPI and every route with them.
    if name == "create_app":
        from antechamber.api.app import create_app

        return create_app
    if name in ("LiveNumbers", "StatusSource", "ZeroStatusSource"):
        from antechamber.api import status

        return getattr(status, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
