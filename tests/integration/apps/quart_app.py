"""A Quart app behind the ASGI middleware (two lines: the import and wrapping ``app.asgi_app``, as in Flask)."""

from __future__ import annotations

from quart import Quart, Response, jsonify, request

from antechamber.middleware import WaitingRoom
from tests.integration.apps.common import OPTIONS, record

app = Quart(__name__)
app.asgi_app = WaitingRoom(app.asgi_app, **OPTIONS)


@app.route("/", defaults={"path": ""})
@app.route("/<path:path>")
async def anything(path: str) -> Response:
    query = request.query_string.decode("latin-1")
    answer = record(request.method, request.path + (f"?{query}" if query else ""), await request.get_data())
    response = jsonify(answer)
    response.set_cookie("app_session", "abc", path="/")
    return response
