"""Request-scoped helpers the routers share: the store, the clock, write transactions."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.api import errors
from antechamber.api.auth import database
from antechamber.api.errors import ApiError
from antechamber.api.status import StatusSource
from antechamber.db.engine import Database
from antechamber.db.revision import bump_revision

Clock = Callable[[], datetime]


def clock(request: Request) -> Clock:
    """The app's clock (injected so tests can move time)."""
    now: Clock = request.app.state.clock
    return now


def status_source(request: Request) -> StatusSource:
    """Where live room numbers come from."""
    source: StatusSource = request.app.state.status_source
    return source


DatabaseDep = Annotated[Database, Depends(database)]
ClockDep = Annotated[Clock, Depends(clock)]
StatusSourceDep = Annotated[StatusSource, Depends(status_source)]


@contextlib.asynccontextmanager
async def write_transaction(db: Database) -> AsyncIterator[AsyncConnection]:
    """One transaction for a whole write: any error rolls everything back.

    The config revision is bumped first, which also makes concurrent writes wait
    for each other (see :func:`antechamber.db.revision.bump_revision`). A unique
    constraint that still fires means a write outside the API won a race.
    """
    try:
        async with db.begin() as connection:
            await bump_revision(connection)
            yield connection
    except IntegrityError:
        raise ApiError(
            400, errors.RULE_VIOLATION, "conflicts with a concurrent change (name or route already in use); retry"
        ) from None
