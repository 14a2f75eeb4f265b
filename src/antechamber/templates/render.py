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


class TemplateError(ValueError):
    """The template text is not valid Mustache."""


@lru_cache(maxsize=256)
def compile_template(source: str) -> combustache.Template:
    """Parse a Mustache template once; raises :class:`TemplateError` on bad syntax."""
    try:
        return combustache.Template(source)
    except combustache.CombustacheError as exc:
        raise TemplateError(str(exc)) from exc


def render_template(source: str, context: Mapping[str, Any]) -> str:
    """Render ``source`` with ``context`` (``{{x}}`` escaped, ``{{{x}}}`` raw)."""
    try:
        return str(compile_template(source).render(dict(context)))
    except combustache.CombustacheError as exc:
        raise TemplateError(str(exc)) from exc
