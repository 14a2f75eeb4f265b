"""Translated strings for the default pages, one JSON catalog per language.

Catalogs live in ``i18n/<language>.json`` inside the package and are read through
:mod:`importlib.resources`, so they are found in an installed wheel as well as in a
checkout. A catalog value is either a string with ``{name}`` placeholders or, for
counted nouns, a mapping from plural category to string (see :mod:`.plurals`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from antechamber.templates.plurals import PLURAL_RULES, plural_category

DEFAULT_LANGUAGE = "en-US"

# The order of Cloudflare's default_template_language enum.
SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(PLURAL_RULES)

RTL_LANGUAGES = frozenset({"ar-EG", "fa-IR", "he-IL"})

# Keys whose values are plural mappings; every other key holds a plain string.
PLURAL_KEYS = ("minutes", "hours", "days")


def is_rtl(language: str) -> bool:
    """Whether ``language`` is written right to left."""
    return language in RTL_LANGUAGES


def resolve_language(language: str | None) -> str:
    """``language`` if a catalog exists for it, else the default (``en-US``)."""
    return language if language in PLURAL_RULES else DEFAULT_LANGUAGE


def _load_json(language: str) -> dict[str, Any]:
    path = resources.files("antechamber.templates").joinpath("i18n", f"{language}.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"catalog {language}.json is not a JSON object")
    return data


@dataclass(frozen=True, slots=True)
class Catalog:
    """One language's strings, with the counted-noun and duration phrasing built on them."""

    language: str
    strings: Mapping[str, str]
    plurals: Mapping[str, Mapping[str, str]]

    @property
    def direction(self) -> str:
        """``"rtl"`` or ``"ltr"``, for the ``dir`` attribute."""
        return "rtl" if is_rtl(self.language) else "ltr"

    def text(self, key: str, **values: str) -> str:
        """The string for ``key`` with its ``{name}`` placeholders filled in."""
        template = self.strings[key]
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
        return template

    def count(self, key: str, n: int) -> str:
        """``n`` with its noun in the right plural form, e.g. ``count("minutes", 5)``."""
        forms = self.plurals[key]
        return forms[plural_category(self.language, n)].replace("{n}", str(n))

    def duration(self, minutes: int) -> str:
        """A wait or countdown in words: minutes, hours and minutes, or days and hours."""
        if minutes <= 0:
            return self.strings["wait_under_minute"]
        if minutes < 60:
            return self.count("minutes", minutes)
        if minutes < 24 * 60:
            hours, rest = divmod(minutes, 60)
            if not rest:
                return self.count("hours", hours)
            return self.text("duration_join", a=self.count("hours", hours), b=self.count("minutes", rest))
        days, hours = divmod(minutes // 60, 24)
        if not hours:
            return self.count("days", days)
        return self.text("duration_join", a=self.count("days", days), b=self.count("hours", hours))


@cache
def get_catalog(language: str) -> Catalog:
    """The catalog for ``language`` (unknown languages get ``en-US``), loaded once."""
    language = resolve_language(language)
    data = _load_json(language)
    plurals = {key: dict(data[key]) for key in PLURAL_KEYS}
    strings = {key: value for key, value in data.items() if key not in PLURAL_KEYS}
    return Catalog(language=language, strings=strings, plurals=plurals)


def raw_catalog(language: str) -> dict[str, Any]:
    """The catalog file's parsed JSON as is (for tests and tooling)."""
    return _load_json(language)
