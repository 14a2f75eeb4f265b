"""Just enough of the Chrome DevTools Protocol to load a page, read it and click in it.

The screenshot tests only need ``chromium --screenshot``; the challenge tests must
watch a page change and press a checkbox, so they talk to the browser over its
DevTools WebSocket (``websockets`` is installed with ``uvicorn[standard]``). The
click is ``Input.dispatchMouseEvent``: a trusted event, as a person's would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-port=0",
)


#: What Chromium answers to an evaluation caught by a page (re)load.
_NAVIGATING = ("navigated or closed", "context was destroyed", "Cannot find context")


class CdpError(Exception):
    """The browser answered a command with an error, or a script threw."""


class Page:
    """One tab, driven through a flat CDP session."""

    def __init__(self, browser: Browser, session_id: str) -> None:
        self._browser = browser
        self._session = session_id

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return await self._browser.call(method, params, session=self._session)

    async def goto(self, url: str, timeout: float = 15.0) -> None:
        """Navigate and wait for the load event."""
        loaded = self._browser.expect("Page.loadEventFired", self._session)
        await self.call("Page.navigate", {"url": url})
        await asyncio.wait_for(loaded, timeout)

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (promises are awaited)."""
        reply = await self.call(
            "Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}
        )
        if "exceptionDetails" in reply:
            raise CdpError(json.dumps(reply["exceptionDetails"])[:2000])
        return reply["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        """Poll ``expression`` until it is truthy; its value. Polls that meet a navigation count as falsy."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = await self.evaluate(expression)
            except CdpError as exc:
                if not any(sign in str(exc) for sign in _NAVIGATING):
                    raise
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expression!r} stayed falsy for {timeout}s")
            await asyncio.sleep(0.02)

    async def click(self, x: float, y: float) -> None:
        """Press and release the left mouse button at viewport coordinates."""
        for kind in ("mousePressed", "mouseReleased"):
            await self.call(
                "Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}
            )


class Browser:
    """A headless Chromium process and its DevTools connection."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: list[tuple[str, str | None, asyncio.Future[dict[str, Any]]]] = []
        #: Console messages and uncaught exceptions of every page, for failure messages.
        self.console: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self._ws:
            message = json.loads(raw)
            if "id" in message:
                future = self._pending.pop(message["id"], None)
                if future is not None and not future.done():
                    if "error" in message:
                        future.set_exception(CdpError(json.dumps(message["error"])))
                    else:
                        future.set_result(message.get("result", {}))
                continue
            self._note(message)
            for waiter in list(self._waiters):
                method, session, future = waiter
                if message.get("method") == method and session in (None, message.get("sessionId")):
                    self._waiters.remove(waiter)
                    if not future.done():
                        future.set_result(message.get("params", {}))

    def _note(self, message: dict[str, Any]) -> None:
        params = message.get("params", {})
        if message.get("method") == "Runtime.consoleAPICalled":
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.console.append(f"console.{params.get('type')}: {args}"[:1000])
        elif message.get("method") == "Runtime.exceptionThrown":
            self.console.append(json.dumps(params.get("exceptionDetails", {}))[:1000])

    def expect(self, method: str, session: str | None = None) -> asyncio.Future[dict[str, Any]]:
        """A future for the next event named ``method`` (register before causing it)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((method, session, future))
        return future

    async def call(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None) -> Any:
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self._ws.send(json.dumps(message))
        return await asyncio.wait_for(future, 30)

    async def new_page(self) -> Page:
        """A fresh tab (800 x 600) in a context of its own (an empty cookie jar), Page and Runtime enabled."""
        context = await self.call("Target.createBrowserContext", {"disposeOnDetach": True})
        target = await self.call(
            "Target.createTarget", {"url": "about:blank", "browserContextId": context["browserContextId"]}
        )
        attached = await self.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        page = Page(self, attached["sessionId"])
        await page.call("Page.enable")
        await page.call("Runtime.enable")
        return page

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader
        await self._ws.close()


def _devtools_url(profile: Path, process: subprocess.Popen[bytes], timeout: float) -> str:
    # Chromium writes the port it bound (and the browser target's path) once it listens.
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with status {process.returncode}")
        with contextlib.suppress(FileNotFoundError, ValueError):
            port, path = port_file.read_text().split("\n")[:2]
            if port and path:
                return f"ws://127.0.0.1:{int(port)}{path}"
        time.sleep(0.05)
    raise TimeoutError(f"chromium did not open DevTools within {timeout}s")


@contextlib.asynccontextmanager
async def chromium(binary: str, timeout: float = 30.0) -> AsyncIterator[Browser]:
    """Start headless Chromium with a throwaway profile; yield the connected :class:`Browser`."""
    # Chromium's helper processes may still write to the profile as the browser exits.
    with tempfile.TemporaryDirectory(prefix="antechamber-cdp-", ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [binary, *_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "LANG": "en_US.UTF-8"},
        )
        try:
            url = await asyncio.to_thread(_devtools_url, Path(profile), process, timeout)
            async with connect(url, max_size=None, open_timeout=timeout) as ws:
                browser = Browser(ws)
                try:
                    yield browser
                finally:
                    await browser.close()
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
