"""Sample ``cfWaitingRoom`` states shared by the page tests and the screenshot test."""

from __future__ import annotations

from typing import Any

LAST_UPDATED = "2026-11-21T15:30:12.000Z"

QUEUE: dict[str, Any] = {
    "inWaitingRoom": True,
    "waitTimeKnown": True,
    "waitTime": 75,
    "waitTimeFormatted": "More than 1 hour",
    "lastUpdated": LAST_UPDATED,
    "refreshIntervalSeconds": 20,
    "queueingMethod": "fifo",
    "isFIFOQueue": True,
}
QUEUE_ALL: dict[str, Any] = {**QUEUE, "waitTimeKnown": False, "waitTime": 0, "queueAll": True}
QUEUE_FULL: dict[str, Any] = {**QUEUE, "waitTimeKnown": False, "waitTime": 0, "queueIsFull": True}
PREQUEUE: dict[str, Any] = {
    **QUEUE,
    "waitTimeKnown": False,
    "waitTime": 0,
    "isEventActive": True,
    "isEventPrequeueing": True,
    "timeUntilEventStart": 95,
    "timeUntilEventStartFormatted": "95 minutes",
    "shuffleAtEventStart": True,
}
RANDOM: dict[str, Any] = {
    **QUEUE,
    "queueingMethod": "random",
    "isFIFOQueue": False,
    "isRandomQueue": True,
    "waitTime": 10,
    "waitTime25Percentile": 5,
    "waitTime50Percentile": 10,
    "waitTime75Percentile": 15,
}

STATES: dict[str, dict[str, Any]] = {
    "queue": QUEUE,
    "queue_all": QUEUE_ALL,
    "queue_full": QUEUE_FULL,
    "prequeue": PREQUEUE,
    "random": RANDOM,
}
