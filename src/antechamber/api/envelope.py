"""Cloudflare's v4 response envelope, as pydantic models (so OpenAPI shows it)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class ResponseMessage(BaseModel):
    """One entry of ``errors`` or ``messages``."""

    code: int
    message: str


class ResultInfo(BaseModel):
    """Pagination facts of a list response."""

    page: int
    per_page: int
    count: int
    total_count: int
    total_pages: int


class Envelope(BaseModel, Generic[T]):
    """A successful single-object response."""

    success: bool = True
    errors: list[ResponseMessage] = Field(default_factory=list)
    messages: list[ResponseMessage] = Field(default_factory=list)
    result: T


class ListEnvelope(BaseModel, Generic[T]):
    """A successful list response, with ``result_info`` when the list is paginated."""

    success: bool = True
    errors: list[ResponseMessage] = Field(default_factory=list)
    messages: list[ResponseMessage] = Field(default_factory=list)
    result: list[T]
    result_info: ResultInfo | None = None


class ErrorEnvelope(BaseModel):
    """Every failed response."""

    success: bool = False
    errors: list[ResponseMessage]
    messages: list[ResponseMessage] = Field(default_factory=list)
    result: None = None


def error_body(code: int, message: str) -> dict[str, object]:
    """The JSON body of a failure."""
    return ErrorEnvelope(errors=[ResponseMessage(code=code, message=message)]).model_dump(mode="json")


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in (
        (400, "Invalid request"),
        (401, "Missing or invalid API token"),
        (403, "The token may not do this"),
        (404, "No such object"),
    )
}
