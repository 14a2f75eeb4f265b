"""The waiting room inside a Python web app: ASGI, WSGI and Django middleware (docs/EMBED.md).

- :class:`WaitingRoom`: ASGI (FastAPI, Starlette, Litestar, Quart, any ASGI app).
- :class:`WsgiWaitingRoom`: WSGI (Flask, any WSGI app).
- :class:`antechamber.middleware.django.WaitingRoomMiddleware`: Django, sync and async.

All three decide with the gateway's own request path; :class:`Options` says which rooms
(one in code or TOML, or the config store's) and where the counters live (memory or Redis).
"""

from antechamber.middleware.asgi import WaitingRoom
from antechamber.middleware.options import Options, OptionsError
from antechamber.middleware.wsgi import WsgiWaitingRoom

__all__ = ["Options", "OptionsError", "WaitingRoom", "WsgiWaitingRoom"]
