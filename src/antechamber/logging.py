"""Log setup: one line per record on stderr, with anything token-shaped redacted.

Tokens never reach a log call on purpose; the redaction is a second line of
defence against, say, an exception message quoting a header.
"""

from __future__ import annotations

import logging
import re
import sys

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


class RedactTokens(logging.Filter):
    """Replace ``Bearer <token>`` in every record's message with ``Bearer [redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the message in place; never drops a record."""
        message = record.getMessage()
        redacted = _BEARER.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: str = "info") -> None:
    """Send Antechamber's, uvicorn's and SQLAlchemy's records to stderr through the redactor."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
