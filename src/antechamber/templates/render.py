"""The one place that knows which Mustache engine renders pages.

Templates are untrusted operator input (``custom_page_html``), so only plain
dicts, lists and scalars are ever passed in, and compiled templates are cached
by their source text so a room's page is parsed once per change.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import combustache
import combustache.ctx


class TemplateError(ValueError):
    """The template text is not valid Mustache."""


_MISSING = combustache.ctx.MISSING


def _plain_lookup(item: Any, key: str) -> Any:
    """Resolve one part of a (dotted) name in plain data only: mapping keys and list indexes.

    combustache falls back to ``getattr`` and calls whatever callable it finds, so
    ``{{waitTime.__class__.__base__.__subclasses__}}`` would walk from an int to every
    class in the process, and a section would call the result with operator-written
    text. Operator templates are untrusted, so attributes are never looked up.
    """
    if type(item) is dict:  # the common case, without the slow ABC isinstance check
        return item.get(key, _MISSING)
    if isinstance(item, Mapping):
        return item[key] if key in item else _MISSING
    if isinstance(item, list | tuple):
        try:
            return item[int(key)]
        except (ValueError, IndexError):
            return _MISSING
    return _MISSING


# Patched on the class because combustache builds its Ctx internally for every render.
combustache.ctx.Ctx.deep_get = staticmethod(_plain_lookup)


@lru_cache(maxsize=256)
def compile_template(source: str) -> combustache.Template:
    """Parse a Mustache template once; raises :class:`TemplateError` on bad syntax."""
    try:
        return combustache.Template(source)
    except combustache.CombustacheError as exc:
        raise TemplateError(str(exc)) from exc


def to_text(value: Any) -> str:
    """Turn a context value into text the way Cloudflare's JavaScript edge would.

    Cloudflare renders templates in JavaScript, so a custom page written for it expects
    ``{{queueIsFull}}`` to print ``false`` (not Python's ``False``) and ``{{waitTime}}``
    to print ``5`` for 5.0.
    """
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render_template(source: str, context: Mapping[str, Any]) -> str:
    """Render ``source`` with ``context`` (``{{x}}`` escaped, ``{{{x}}}`` raw)."""
    try:
        return str(compile_template(source).render(dict(context), stringify=to_text))
    except combustache.CombustacheError as exc:
        raise TemplateError(str(exc)) from exc
