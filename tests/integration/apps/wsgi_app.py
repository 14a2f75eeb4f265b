"""A Flask app behind the WSGI middleware (two lines: the import and wrapping ``app.wsgi_app``)."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

from antechamber.middleware import WsgiWaitingRoom
from tests.integration.apps.common import GREETING, OPTIONS, PROBE_HOST, probe, record

app = Flask(__name__)
waiting_room = app.wsgi_app = WsgiWaitingRoom(app.wsgi_app, **OPTIONS)


@app.route("/", defaults={"path": ""}, methods=["GET", "POST", "HEAD"])
@app.route("/<path:path>", methods=["GET", "POST", "HEAD"])
def anything(path: str) -> Response:
    if request.host == PROBE_HOST:
        return jsonify(probe(waiting_room.node, request.args["room"]))
    query = request.query_string.decode("latin-1")
    target = request.path + (f"?{query}" if query else "")
    answer = record(request.method, target, request.get_data())
    if target == "/" and request.headers.get("accept") == "*/*":
        return Response(GREETING, mimetype="text/plain")
    response = jsonify(answer)
    response.set_cookie("app_session", "abc", path="/")
    if request.path == "/logout":
        response.headers["Cf-Waiting-Room-Command"] = "revoke"
    return response
