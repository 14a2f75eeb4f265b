"""The error codes the API returns, and the exception that carries them.

Every failure is answered in Cloudflare's v4 envelope,
``{"success": false, "errors": [{"code": N, "message": "..."}], "messages": [], "result": null}``,
with one of these codes. Where Cloudflare has a well-known code for the same
situation it is reused (7000, 7003, 9109, 10000); the 1xxx codes are our own,
one per kind of rejection, so that clients can branch on them.

=====  ======  =====================================================================
code   status  meaning
=====  ======  =====================================================================
1001   400     the body is not valid JSON (or not a JSON object/array where one is needed)
1002   400     a field has the wrong type, is out of range, or is not an allowed value
1003   400     a field is missing
1004   400     the request breaks a rule that involves several fields or other objects
               (event times, route already used, name taken, too many events, ...)
1005   404     no such waiting room, event, rule or preview
7000   404     no route for that URI (unknown path)
7001   405     method not allowed on this path
7003   404     no such zone or account ("Could not route to ..., perhaps your object
               identifier is invalid?")
9109   401     the Bearer token is not valid (unknown or revoked)
10000  401     no usable credentials (no ``Authorization: Bearer`` header)
10000  403     the token may not do this (read-only scope, or another zone)
10002  500     internal error (a bug; reported without details)
=====  ======  =====================================================================
"""

from __future__ import annotations

MALFORMED_JSON = 1001
INVALID_VALUE = 1002
MISSING_FIELD = 1003
RULE_VIOLATION = 1004
NOT_FOUND = 1005
NO_ROUTE = 7000
METHOD_NOT_ALLOWED = 7001
UNKNOWN_ZONE = 7003
INVALID_TOKEN = 9109
AUTHENTICATION = 10000
INTERNAL = 10002


class ApiError(Exception):
    """A failure to be answered in the envelope with ``status`` and ``[{code, message}]``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def invalid(message: str) -> ApiError:
    """A single field's value is not acceptable (400, 1002)."""
    return ApiError(400, INVALID_VALUE, message)


def conflict(message: str) -> ApiError:
    """The request breaks a cross-field or cross-object rule (400, 1004)."""
    return ApiError(400, RULE_VIOLATION, message)


def not_found(what: str) -> ApiError:
    """No such object (404, 1005)."""
    return ApiError(404, NOT_FOUND, f"{what} not found")
