"""Cursor pagination (``cursor``/``per_page``), as Cloudflare's list items endpoint does it.

A page's ``result_info.cursors.after`` is present when more items follow; sending it
back as ``cursor`` returns the next page. Cursors are opaque to clients; here one
names the position of the last item of the page it came with.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from antechamber.api.envelope import ResponseMessage
from antechamber.api.errors import invalid

T = TypeVar("T")

MAX_PER_PAGE = 500


class Cursors(BaseModel):
    """Where the neighbouring pages start; ``after`` is absent on the last page."""

    after: str | None = None


class CursorInfo(BaseModel):
    """``result_info`` of a cursor-paginated response."""

    cursors: Cursors


class CursorEnvelope(BaseModel, Generic[T]):
    """A successful cursor-paginated list response."""

    success: bool = True
    errors: list[ResponseMessage] = Field(default_factory=list)
    messages: list[ResponseMessage] = Field(default_factory=list)
    result: list[T]
    result_info: CursorInfo


def encode_cursor(position: int) -> str:
    """The cursor for the page after ``position``."""
    return base64.urlsafe_b64encode(f"after:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The position a cursor from :func:`encode_cursor` names; 400 for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    label, _, position = text.partition(":")
    if label != "after" or not (position.isascii() and position.isdigit()) or len(position) > 18:
        raise invalid("cursor: not a cursor this API returned")
    return int(position)


@dataclass(frozen=True, slots=True)
class CursorPage:
    """Which slice of a list was asked for: the items after ``after``, at most ``per_page`` of them."""

    after: int
    per_page: int


def cursor_params(
    cursor: Annotated[str | None, Query(description="`result_info.cursors.after` of the previous page.")] = None,
    per_page: Annotated[
        int, Query(ge=1, le=MAX_PER_PAGE, description=f"Results per page, 1 to {MAX_PER_PAGE}.")
    ] = MAX_PER_PAGE,
) -> CursorPage:
    """Read and check the cursor pagination parameters."""
    return CursorPage(after=decode_cursor(cursor) if cursor else 0, per_page=per_page)


CursorParams = Annotated[CursorPage, Depends(cursor_params)]
