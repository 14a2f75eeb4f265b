"""The dashboard's calls to the management API, in-process, as the signed-in operator.

The dashboard holds no API token of its own and never sees one after sign-in: it
calls the API app directly over ASGI (httpx's ASGI transport, no socket) with the
session's principal in the ASGI scope, where :func:`antechamber.api.auth.current_token`
finds it. A client cannot put anything in the scope, so only the dashboard can
speak this way. Every rule of the API (scopes, zones, validation, messages) applies
unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from antechamber.api.auth import PRINCIPAL_SCOPE_KEY
from antechamber.db.tokens import ApiToken

ASGIApp = Any
_BASE = "http://antechamber.internal/client/v4"


@dataclass(frozen=True, slots=True)
class Answer:
    """The API's answer: the HTTP status and the envelope (or the CSV text)."""

    status: int
    envelope: dict[str, Any]
    text: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and bool(self.envelope.get("success", True))

    @property
    def result(self) -> Any:
        return self.envelope.get("result")

    @property
    def messages(self) -> list[str]:
        """The errors' messages, as the API words them."""
        return [str(error.get("message", "")) for error in self.envelope.get("errors") or []]


class InProcessApi:
    """Calls the API app as a principal."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def call(
        self,
        principal: ApiToken,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        """``method path`` (under ``/client/v4``) with a JSON body; never raises for an API refusal."""
        transport = httpx.ASGITransport(app=_AsPrincipal(self.app, principal))
        async with httpx.AsyncClient(transport=transport, base_url=_BASE) as client:
            response = await client.request(method, _BASE + path, json=json, params=params)
        if response.headers.get("content-type", "").startswith("application/json"):
            return Answer(response.status_code, response.json())
        return Answer(response.status_code, {"success": response.is_success}, response.text)

    async def all_pages(self, principal: ApiToken, path: str) -> list[dict[str, Any]]:
        """Every item of a paginated list (the API's largest pages)."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            answer = await self.call(principal, "GET", path, params={"page": str(page), "per_page": "100"})
            if not answer.ok:
                return items
            found = answer.result or []
            items.extend(found)
            info = answer.envelope.get("result_info") or {}
            if len(found) < 100 or page * 100 >= int(info.get("total_count", 0)):
                return items
            page += 1


class _AsPrincipal:
    """The API app, with the principal set in each request's scope."""

    def __init__(self, app: ASGIApp, principal: ApiToken) -> None:
        self.app = app
        self.principal = principal

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app({**scope, PRINCIPAL_SCOPE_KEY: self.principal}, receive, send)
