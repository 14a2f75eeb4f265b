"""The management API's application factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Response

from antechamber import __version__
from antechamber.api.handlers import install_error_handlers
from antechamber.api.models.fields import MIN_USERS, min_user_limit
from antechamber.api.routes import analytics, events, lists, preview, rooms, rules, statuses, zone_settings
from antechamber.api.status import StatusSource, ZeroStatusSource
from antechamber.db.engine import Database
from antechamber.db.ids import utc_now

API_PREFIX = "/client/v4"


def create_app(
    database: Database,
    status_source: StatusSource | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
    min_users: int = MIN_USERS,
    rules_geo: bool = False,
    metrics: Callable[[], tuple[bytes, str]] | None = None,
    dashboard: bool = True,
) -> FastAPI:
    """Build the API on an open, migrated store.

    Args:
        database: the config store; the caller migrates it before and disposes it after.
        status_source: live numbers for the status endpoint (zeros when ``None``).
        clock: the current time, timezone-aware (injected so tests can move time).
        min_users: the lowest user limit rooms and events may set (Cloudflare's 200 unless lowered).
        rules_geo: a geo database is configured, so bypass rules may use ``ip.src.country`` and the like.
        metrics: the Prometheus exposition and its content type, served at ``/metrics`` (None: no such path).
        dashboard: serve the operator's web dashboard at ``/dashboard``.
    """
    app = FastAPI(
        title="Antechamber management API",
        version=__version__,
        description="Cloudflare API v4 for waiting rooms, self-hosted. Every response uses the v4 envelope.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.database = database
    app.state.status_source = status_source or ZeroStatusSource()
    app.state.clock = clock
    app.state.min_user_limit = min_users
    app.state.rules_geo = rules_geo
    if min_users != MIN_USERS:
        app.add_middleware(_UserMinimum, minimum=min_users)
    install_error_handlers(app)
    # Zone-level paths (settings, preview) come before /{waiting_room_id} so they are not read as room ids.
    for module in (zone_settings, preview, rooms, events, rules, statuses, lists, analytics):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(preview.page_router)
    if dashboard:
        from antechamber.dashboard.mount import mount_dashboard

        mount_dashboard(app)
    if metrics is not None:
        exposition = metrics

        @app.get("/metrics", include_in_schema=False)
        async def scrape() -> Response:
            body, content_type = exposition()
            return Response(body, media_type=content_type)

    app.openapi = lambda: _openapi_without_422(app)  # type: ignore[method-assign]
    return app


class _UserMinimum:
    """Sets the user-limit minimum for the request's validation (a context variable, read by the models)."""

    def __init__(self, app: Any, minimum: int) -> None:
        self.app = app
        self.minimum = minimum

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        token = min_user_limit.set(self.minimum)
        try:
            await self.app(scope, receive, send)
        finally:
            min_user_limit.reset(token)


def _openapi_without_422(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, minus FastAPI's 422 responses: invalid input is answered with 400."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema
