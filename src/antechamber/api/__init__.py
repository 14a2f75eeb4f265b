"""The management API: Cloudflare's API v4 for waiting rooms, under ``/client/v4``."""

from antechamber.api.app import create_app
from antechamber.api.status import LiveNumbers, StatusSource, ZeroStatusSource

__all__ = ["LiveNumbers", "StatusSource", "ZeroStatusSource", "create_app"]
