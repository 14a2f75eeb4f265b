"""HTML forms to the management API's JSON bodies, and its errors back to the form's fields.

A form sends text; the API's models are strict. Numbers that read as integers are
sent as integers and anything else is sent as typed, so that the API refuses it with
its own message (the dashboard never has validation of its own). Checkboxes absent
from a submitted form are false.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FieldKind = Literal["text", "raw", "int", "bool", "time", "optional_int", "optional_text"]

_INTEGER = re.compile(r"^[+-]?\d{1,12}$")
_LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


@dataclass(frozen=True, slots=True)
class FormSpec:
    """The fields a form carries, by kind (``raw`` text is sent as typed, other text without surrounding spaces)."""

    kinds: dict[str, FieldKind]

    def body(self, form: Mapping[str, str]) -> dict[str, Any]:
        """The JSON body for these fields: ``optional_*`` fields left empty are left out (the API's default)."""
        body: dict[str, Any] = {}
        for name, kind in self.kinds.items():
            raw = form.get(name)
            if kind == "bool":
                body[name] = raw is not None and raw not in ("", "false", "off")
                continue
            text = raw or "" if kind == "raw" else (raw or "").strip()
            if kind.startswith("optional") and text == "":
                continue
            if kind in ("int", "optional_int"):
                body[name] = int(text) if _INTEGER.match(text) else text
            elif kind == "time":
                body[name] = utc_time(text)
            else:
                body[name] = text
        return body


def utc_time(text: str) -> str:
    """A ``datetime-local`` value (no zone; the form says UTC) as RFC 3339; other text is passed on as typed."""
    if _LOCAL_TIME.match(text):
        return (text if text.count(":") == 2 else text + ":00") + "Z"
    return text


def local_time(rfc3339: str | None) -> str:
    """An API time as a ``datetime-local`` value in UTC (the inverse of :func:`utc_time`)."""
    if not rfc3339:
        return ""
    return rfc3339.replace("Z", "")[:16]


ROOM = FormSpec(
    {
        "name": "text",
        "host": "text",
        "path": "text",
        "description": "text",
        "total_active_users": "int",
        "new_users_per_minute": "int",
        "session_duration": "int",
        "queueing_method": "text",
        "queueing_status_code": "int",
        "default_template_language": "text",
        "json_response_enabled": "bool",
        "disable_session_renewal": "bool",
        "queue_all": "bool",
        "suspended": "bool",
        "turnstile_mode": "text",
        "turnstile_action": "text",
        "custom_page_html": "raw",
    }
)

EVENT = FormSpec(
    {
        "name": "text",
        "description": "text",
        "prequeue_start_time": "optional_text",
        "event_start_time": "time",
        "event_end_time": "time",
        "total_active_users": "optional_int",
        "new_users_per_minute": "optional_int",
        "queueing_method": "optional_text",
        "shuffle_at_event_start": "bool",
        "suspended": "bool",
    }
)

RULE = FormSpec({"expression": "text", "description": "text", "enabled": "bool"})


def event_body(form: Mapping[str, str]) -> dict[str, Any]:
    """An event's body (its prequeue time, when given, is a UTC form time like the others)."""
    body = EVENT.body(form)
    if "prequeue_start_time" in body:
        body["prequeue_start_time"] = utc_time(body["prequeue_start_time"])
    return body


def rule_body(form: Mapping[str, str]) -> dict[str, Any]:
    """A rule's body: the one action the API knows."""
    return {"action": "bypass_waiting_room", **RULE.body(form)}


@dataclass(slots=True)
class FormErrors:
    """The API's refusal, sorted for the form: messages by field, and those that name no field."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, messages: Iterable[str], known: Iterable[str]) -> FormErrors:
        """Attribute ``"field: message"`` to the field when the form has it, and ``"field must ..."`` too.

        The API words a rule between fields (an event's prequeue before its start) as a
        sentence whose subject is the field at fault; that field is where to show it.
        """
        names = set(known)
        errors = cls()
        for message in messages:
            name, sep, rest = message.partition(": ")
            top = name.split(".")[0]
            subject = message.split(" ", 1)[0]
            if sep and top in names:
                errors.fields.setdefault(top, []).append(rest)
            elif subject in names and " " in message:
                errors.fields.setdefault(subject, []).append(message)
            else:
                errors.general.append(message)
        return errors

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)
