"""Page preview: upload a template (API), then view it at ``/preview/<uuid>`` (public page)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from antechamber.api.auth import AuthorizedZone
from antechamber.api.context import ClockDep, DatabaseDep, write_transaction
from antechamber.api.envelope import ERROR_RESPONSES, Envelope
from antechamber.api.errors import not_found
from antechamber.api.models.zone import PreviewCreated, PreviewInput
from antechamber.api.preview_page import WELCOME_PAGE, render_preview, shows_origin
from antechamber.db import previews

router = APIRouter(tags=["page preview"], responses=ERROR_RESPONSES)
page_router = APIRouter(include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}


@router.post("/zones/{zone_id}/waiting_rooms/preview", response_model=Envelope[PreviewCreated])
async def create_preview(
    zone: AuthorizedZone, body: PreviewInput, request: Request, db: DatabaseDep
) -> Envelope[PreviewCreated]:
    """Store a template and return the URL that shows it."""
    async with write_transaction(db) as connection:
        preview_id = await previews.create_preview(connection, zone.id, body.custom_html)
    return Envelope(result=PreviewCreated(preview_url=f"{request.base_url}preview/{preview_id}"))


@page_router.get("/preview/{preview_id}", response_class=HTMLResponse)
async def show_preview(preview_id: str, request: Request, db: DatabaseDep, clock: ClockDep) -> HTMLResponse:
    """Render a stored template in the state the query string asks for."""
    async with db.connect() as connection:
        template = await previews.preview_html(connection, preview_id)
    if template is None:
        raise not_found("preview")
    query = dict(request.query_params)
    if shows_origin(query):
        return HTMLResponse(WELCOME_PAGE, headers=NO_STORE)
    return HTMLResponse(render_preview(template, query, clock()), headers=NO_STORE)
