"""A FastAPI app behind the ASGI middleware (two lines: the import and ``add_middleware``).

Besides the HTTP answers every test app gives, ``/ws`` is a WebSocket that echoes
each message back (``echo:`` before it), as the gateway tests' origin does.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response, WebSocket
from fastapi.responses import JSONResponse, PlainTextResponse

from antechamber.middleware import WaitingRoom
from tests.integration.apps.common import GREETING, OPTIONS, PROBE_HOST, probe, record

app = FastAPI()
app.add_middleware(WaitingRoom, **OPTIONS)


def _middleware() -> WaitingRoom:
    stack = app.middleware_stack
    while stack is not None and not isinstance(stack, WaitingRoom):
        stack = getattr(stack, "app", None)
    assert stack is not None
    return stack


@app.api_route("/{path:path}", methods=["GET", "POST", "HEAD"])
async def anything(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("host") == PROBE_HOST:
        return JSONResponse(probe(_middleware().node, request.query_params["room"]))
    body = await request.body()
    answer = record(request.method, target, body)
    if target == "/" and request.headers.get("accept") == "*/*":
        return PlainTextResponse(GREETING)
    response = JSONResponse(answer)
    response.set_cookie("app_session", "abc", path="/")
    if request.url.path == "/logout":
        response.headers["Cf-Waiting-Room-Command"] = "revoke"
    return response


@app.websocket("/ws")
async def echo(websocket: WebSocket) -> None:
    record("WEBSOCKET", websocket.url.path, b"")
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await websocket.send_text("echo:" + message["text"])
        else:
            await websocket.send_bytes(b"echo:" + message["bytes"])
