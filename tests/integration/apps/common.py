"""What every test app shares: its options from the environment, the record of what reached it, the probe.

Each app answers like the forward-auth tests' origin (JSON naming the path, an
``app_session`` cookie), records every request that reached it in the file
``ANTECHAMBER_TEST_RECORD`` names (one JSON line each, appended: several workers
write it), and answers ``/_probe`` on another host (outside every room) with its
node's config version and the main room's counters, so a test can tell when it follows.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from antechamber.middleware.node import NodeHandle

#: The options the test gave (JSON), for the middleware's keywords.
OPTIONS: dict[str, Any] = json.loads(os.environ.get("ANTECHAMBER_TEST_OPTIONS", "{}"))
PROBE_HOST = "probe.test"
#: ``GET /`` with ``Accept: */*`` (the surge's crowd) answers this text, as the gateway tests' origin does.
GREETING = "hello from the origin"


def record(method: str, path: str, body: bytes) -> dict[str, Any]:
    """Note that a request reached the app; returns the JSON answer."""
    entry = {"method": method, "path": path, "body": body.decode("latin-1")}
    with open(os.environ["ANTECHAMBER_TEST_RECORD"], "a") as file:
        file.write(json.dumps(entry) + "\n")
    return {"origin": "hello", **entry}


def probe(handle: NodeHandle, room_id: str) -> dict[str, Any]:
    """This worker's config version and the room's counters as the state backend sees them now."""
    node = handle.ready()
    admission = node.path.admission
    snapshot = node.run(node.state.read(room_id, int(time.time() * 1000))) if node.state else None
    return {
        "version": admission.source.current.version,
        "pid": os.getpid(),
        "active": snapshot.active if snapshot else 0,
        "waiting": snapshot.waiting if snapshot else 0,
    }
