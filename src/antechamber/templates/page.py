"""Queue and reject pages: the default localized templates, or the room's own.

The default templates are read from the package once, with their stylesheet inlined
(a queued visitor cannot fetch assets from a covered route), and compiled once through
:func:`~antechamber.templates.render.compile_template`'s cache.

Example::

    html = render_queue_page({"waitTimeKnown": True, "waitTime": 5}, language="fr-FR")
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from antechamber.templates.catalog import SUPPORTED_LANGUAGES, get_catalog, is_rtl, resolve_language
from antechamber.templates.context import template_context
from antechamber.templates.render import TemplateError, compile_template, render_template

__all__ = [
    "SUPPORTED_LANGUAGES",
    "is_rtl",
    "render_queue_page",
    "render_reject_page",
    "template_context",
]

logger = logging.getLogger(__name__)

_STYLE_SLOT = "{{>style}}"


@cache
def default_template(name: str) -> str:
    """The source of ``default/<name>.mustache`` with the shared stylesheet inlined."""
    folder = resources.files("antechamber.templates").joinpath("default")
    source = folder.joinpath(f"{name}.mustache").read_text(encoding="utf-8")
    style = folder.joinpath("style.css").read_text(encoding="utf-8").strip()
    source = source.replace(_STYLE_SLOT, style)
    compile_template(source)  # fail at first use, not on some visitor's request later
    return source


@lru_cache(maxsize=64)
def _custom_template_ok(source: str) -> bool:
    """Whether an operator's template parses; remembered so a broken one is parsed once."""
    try:
        compile_template(source)
    except (TemplateError, RecursionError) as exc:
        logger.warning("custom_page_html is not valid Mustache, serving the default page: %s", exc)
        return False
    return True


def render_queue_page(
    info: Mapping[str, Any],
    *,
    language: str,
    custom_html: str | None = None,
    turnstile_html: str = "",
) -> str:
    """The HTML queue page for one visitor.

    Args:
        info: the ``cfWaitingRoom`` fields for this visitor.
        language: the room's ``default_template_language`` (unknown: en-US).
        custom_html: the room's ``custom_page_html``; empty or ``None`` means the
            default page, and a template that does not parse or render falls back
            to the default page rather than failing the request.
        turnstile_html: challenge widget markup for ``{{{turnstile}}}``.
    """
    context = template_context(info, language=language, turnstile_html=turnstile_html)
    if custom_html and _custom_template_ok(custom_html):
        try:
            return render_template(custom_html, context)
        except Exception as exc:  # an operator's template must never fail a visitor's request
            logger.warning("custom_page_html failed to render, serving the default page: %r", exc)
    return render_template(default_template("queue"), context)


@lru_cache(maxsize=len(SUPPORTED_LANGUAGES) + 1)
def _reject_page(language: str) -> str:
    catalog = get_catalog(language)
    context = {"t": catalog.strings, "page": {"lang": catalog.language, "dir": catalog.direction}}
    return render_template(default_template("reject"), context)


def render_reject_page(language: str) -> str:
    """The static "not available" page of a ``reject`` room (it never refreshes)."""
    return _reject_page(resolve_language(language))
