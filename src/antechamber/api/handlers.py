"""Turn every failure into Cloudflare's envelope with a code from :mod:`antechamber.api.errors`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from antechamber.api import errors
from antechamber.api.envelope import error_body
from antechamber.api.errors import ApiError

logger = logging.getLogger("antechamber.api")


def _describe(error: dict[str, Any]) -> tuple[int, str]:
    """One pydantic error as (code, message), naming the field the way the JSON does."""
    location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(location)
    kind = error.get("type", "")
    if kind == "json_invalid":
        return errors.MALFORMED_JSON, "Malformed JSON in request body"
    if not field and kind in ("model_attributes_type", "dict_type", "model_type", "list_type"):
        return errors.MALFORMED_JSON, "The request body must be a JSON " + (
            "array" if kind == "list_type" else "object"
        )
    if kind == "missing" and not field:
        return errors.MALFORMED_JSON, "A JSON request body is required"
    if kind == "missing":
        return errors.MISSING_FIELD, f"{field}: this field is required"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return errors.INVALID_VALUE, f"{field}: {message}" if field else message


def validation_failure(raw_errors: Sequence[Any]) -> JSONResponse:
    """A 400 listing every field problem at once."""
    described = [_describe(dict(error)) for error in raw_errors] or [(errors.INVALID_VALUE, "invalid request")]
    body = error_body(*described[0])
    body["errors"] = [{"code": code, "message": message} for code, message in described]
    return JSONResponse(body, status_code=400)


async def _on_api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status)


async def _on_request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return validation_failure(exc.errors())


async def _on_model_validation(_request: Request, exc: Exception) -> JSONResponse:
    # Raised when a PATCH is merged into the stored object and validated whole.
    assert isinstance(exc, ValidationError)
    return validation_failure(exc.errors())


async def _on_http_exception(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return JSONResponse(error_body(errors.NO_ROUTE, "No route for that URI"), status_code=404)
    if exc.status_code == 405:
        return JSONResponse(error_body(errors.METHOD_NOT_ALLOWED, "Method not allowed"), status_code=405)
    return JSONResponse(error_body(errors.INVALID_VALUE, str(exc.detail)), status_code=exc.status_code)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Log the path and the exception, never the headers: they carry the token.
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_body(errors.INTERNAL, "Internal error"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler on the app."""
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(ValidationError, _on_model_validation)
    app.add_exception_handler(HTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)
