"""``antechamber serve``: migrate the store, then serve the API with uvicorn.

Kept apart from the CLI because the gateway will be served from here too.
"""

from __future__ import annotations

import asyncio

import uvicorn

from antechamber.api.app import create_app
from antechamber.api.status import StatusSource
from antechamber.db.engine import Database
from antechamber.settings import Settings, parse_bind


async def serve(settings: Settings, status_source: StatusSource | None = None) -> None:
    """Run the management API until interrupted."""
    host, port = parse_bind(settings.api)
    settings.prepare_data_dir()
    database = Database(settings.resolved_database_url())
    try:
        await database.migrate()
        settings.prepare_data_dir()  # the SQLite file may have just been created: tighten it
        app = create_app(database, status_source)
        config = uvicorn.Config(
            app, host=host, port=port, log_level=settings.log_level, log_config=None, access_log=False
        )
        await uvicorn.Server(config).serve()
    finally:
        await database.dispose()


def run(settings: Settings) -> None:
    """Blocking entry point for the CLI."""
    asyncio.run(serve(settings))
