"""Bearer-token authentication and per-zone (or per-account) authorization.

Tokens are compared by their SHA-256 only and never appear in logs or errors.
GET needs a ``read`` or ``write`` token; every other method needs ``write``.
Account-level objects (lists) apply to every zone of the account, so only a
token for every zone may touch them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from antechamber.api import errors
from antechamber.api.errors import ApiError
from antechamber.db import accounts
from antechamber.db.accounts import Zone
from antechamber.db.engine import Database
from antechamber.db.ids import is_id
from antechamber.db.tokens import ApiToken, token_for_secret

bearer = HTTPBearer(auto_error=False, description="An API token made with `antechamber tokens create`.")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Where the dashboard puts its signed-in principal on its in-process calls (the ASGI scope,
#: which no client can write to; see :mod:`antechamber.dashboard.in_process`).
PRINCIPAL_SCOPE_KEY = "antechamber.principal"


def database(request: Request) -> Database:
    """The config store the app was built with."""
    db: Database = request.app.state.database
    return db


async def current_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiToken:
    """The caller's token; 401 when it is missing or not valid."""
    token: ApiToken | None = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if token is None:
        if credentials is None:
            raise ApiError(
                401, errors.AUTHENTICATION, "Authentication error: send an API token as 'Authorization: Bearer'"
            )
        async with database(request).connect() as connection:
            token = await token_for_secret(connection, credentials.credentials)
        if token is None:
            raise ApiError(401, errors.INVALID_TOKEN, "Invalid access token")
    if request.method not in READ_METHODS and not token.allows_write():
        raise ApiError(403, errors.AUTHENTICATION, "Authentication error: this token is read-only")
    return token


Token = Annotated[ApiToken, Depends(current_token)]


async def authorized_zone(zone_id: str, request: Request, token: Token) -> Zone:
    """The zone named in the path, if the token may act on it; 403 or 404 otherwise."""
    if not token.allows_zone(zone_id):
        raise ApiError(403, errors.AUTHENTICATION, "Authentication error: this token may not access this zone")
    zone = None
    if is_id(zone_id):
        async with database(request).connect() as connection:
            zone = await accounts.zone_by_id(connection, zone_id)
    if zone is None:
        raise ApiError(
            404,
            errors.UNKNOWN_ZONE,
            f"Could not route to /zones/{zone_id}, perhaps your object identifier is invalid?",
        )
    return zone


AuthorizedZone = Annotated[Zone, Depends(authorized_zone)]


async def authorized_account(account_id: str, request: Request, token: Token) -> str:
    """The account id named in the path, if the token may act on the account; 403 or 404 otherwise."""
    if token.zone_ids is not None:
        raise ApiError(
            403,
            errors.AUTHENTICATION,
            "Authentication error: this token is limited to some zones and may not access account-level objects",
        )
    found = False
    if is_id(account_id):
        async with database(request).connect() as connection:
            found = await accounts.account_exists(connection, account_id)
    if not found:
        raise ApiError(
            404,
            errors.UNKNOWN_ZONE,
            f"Could not route to /accounts/{account_id}, perhaps your object identifier is invalid?",
        )
    return account_id


AuthorizedAccount = Annotated[str, Depends(authorized_account)]
