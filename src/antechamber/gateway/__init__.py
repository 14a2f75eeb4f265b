"""The data plane: reverse proxy and forward-auth endpoints in front of the origin.

Modules, hot path first:

- ``app``: the ASGI app and :func:`~antechamber.gateway.app.create_gateway`; ``Gateway.handle``
  decides a request without I/O for every front end.
- ``raw``: the raw asyncio + httptools HTTP/1.1 front end
  (:func:`~antechamber.gateway.raw.serve_gateway_raw`), an alternative to an ASGI server.
- ``admission``: route → effective config → cookie → decide → counters, shared by every mode.
- ``proxy`` / ``websocket``: streaming HTTP and WebSocket bridging to the origin.
- ``forward_auth``: ``/.antechamber/*`` (auth for Caddy/Traefik and nginx, the nginx page, revoke).
- ``pages``, ``cookies``, ``request``: responses, ``Set-Cookie`` values, request parsing.
- ``config`` / ``follower`` / ``convert``: the immutable configuration and how it follows the store.
- ``live_status``: the management API's live numbers from the room state.
- ``routing``, ``upstream``: route matching and the origin client.

Nothing is re-exported here, so importing the hot path never pulls in SQLAlchemy or FastAPI.
"""
