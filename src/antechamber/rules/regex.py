"""Regular expressions for ``matches`` and ``regex_replace``, on RE2.

wirefilter uses Rust's ``regex`` crate: linear time, no backreferences or
lookaround. RE2 has the same guarantees and nearly the same syntax, so a
pattern the operator writes cannot make a visitor's long header take
exponential time, which Python's backtracking ``re`` could. RE2's Python
wrapper costs about 1.7 µs a search even when called at its lowest level;
rules rarely use ``matches``, and no other operator goes through here.
"""

from __future__ import annotations

import re
from typing import Any

import re2

#: Longer patterns are refused (Cloudflare's own limit on a regex is undocumented).
MAX_PATTERN_BYTES = 1024

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # an operator's bad pattern is answered in the API error, not on stderr
_UNANCHORED = re2._Anchor.UNANCHORED


class PatternError(ValueError):
    """The pattern does not compile."""


class Pattern:
    """A compiled pattern with a fast ``search`` on bytes."""

    __slots__ = ("_match", "_regexp", "source")

    def __init__(self, source: bytes) -> None:
        if len(source) > MAX_PATTERN_BYTES:
            raise PatternError(f"the regular expression is longer than {MAX_PATTERN_BYTES} bytes")
        _check_braces(source)
        try:
            self._regexp: Any = re2.compile(source, _OPTIONS)
        except re2.error as exc:
            message = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
            raise PatternError(f"invalid regular expression: {message}") from None
        self._match = self._regexp._regexp.Match
        self.source = source

    def search(self, value: bytes) -> bool:
        """Whether the pattern matches anywhere in ``value``."""
        return self._match(_UNANCHORED, value, 0, len(value))[0][0] >= 0  # type: ignore[no-any-return]

    def replace(self, value: bytes, replacement: bytes) -> bytes:
        """``value`` with the first match replaced (``${1}`` names a group), as ``regex_replace`` does."""
        return self._regexp.sub(_rust_replacement(replacement), value, count=1)  # type: ignore[no-any-return]


_REPETITION = re.compile(rb"\{[0-9]+(,[0-9]*)?\}")


def _check_braces(source: bytes) -> None:
    """Rust's regex reads every unescaped ``{`` outside a class as a counted repetition; RE2 would take it literally."""
    i, in_class = 0, False
    while i < len(source):
        byte = source[i : i + 1]
        if byte == b"\\":
            i += 2
            continue
        if in_class:
            in_class = byte != b"]"
        elif byte == b"[":
            in_class = True
            if source[i + 1 : i + 2] == b"]":
                i += 1  # a leading ] is literal in a class
        elif byte == b"{":
            if _REPETITION.match(source, i) is None:
                raise PatternError("invalid regular expression: { must start a counted repetition such as {2} or {2,5}")
        i += 1


def _rust_replacement(replacement: bytes) -> bytes:
    r"""Rust's ``${1}`` / ``$1`` group references in Python's ``\g<1>`` form; other backslashes stay literal."""
    out = bytearray()
    i = 0
    while i < len(replacement):
        byte = replacement[i : i + 1]
        if byte == b"\\":
            out += b"\\\\"
            i += 1
        elif byte == b"$" and replacement[i + 1 : i + 2] == b"{":
            end = replacement.find(b"}", i)
            if end < 0:
                out += b"$"
                i += 1
            else:
                out += b"\\g<" + replacement[i + 2 : end] + b">"
                i = end + 1
        elif byte == b"$" and replacement[i + 1 : i + 2].isdigit():
            j = i + 1
            while replacement[j : j + 1].isdigit():
                j += 1
            out += b"\\g<" + replacement[i + 1 : j] + b">"
            i = j
        elif byte == b"$" and replacement[i + 1 : i + 2] == b"$":
            out += b"$"
            i += 2
        else:
            out += byte
            i += 1
    return bytes(out)
