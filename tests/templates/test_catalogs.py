"""The translation catalogs: complete, consistent and really translated."""

from __future__ import annotations

import re

import pytest

from antechamber.templates.catalog import (
    PLURAL_KEYS,
    SUPPORTED_LANGUAGES,
    get_catalog,
    is_rtl,
    raw_catalog,
    resolve_language,
)
from antechamber.templates.plurals import plural_category

CLOUDFLARE_LANGUAGES = (
    "en-US es-ES de-DE fr-FR it-IT ja-JP ko-KR pt-BR zh-CN zh-TW nl-NL pl-PL id-ID tr-TR ar-EG ru-RU "
    "fa-IR bg-BG hr-HR cs-CZ da-DK fi-FI lt-LT lv-LV ms-MY nb-NO ro-RO el-GR he-IL hi-IN hu-HU sr-BA "
    "sk-SK sl-SI sv-SE tl-PH th-TH uk-UA vi-VN"
).split()

OTHER_LANGUAGES = [lang for lang in SUPPORTED_LANGUAGES if lang != "en-US"]
PLACEHOLDER = re.compile(r"\{[a-z]+\}")
EN = raw_catalog("en-US")


def _placeholders(value: str) -> set[str]:
    return set(PLACEHOLDER.findall(value))


def test_supported_languages_are_cloudflares_enum() -> None:
    """The languages are exactly Cloudflare's default_template_language values, in its order."""
    assert tuple(CLOUDFLARE_LANGUAGES) == SUPPORTED_LANGUAGES


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_same_keys_as_english(language: str) -> None:
    """Every catalog has exactly the en-US key set."""
    assert set(EN) == set(raw_catalog(language))


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_no_empty_values(language: str) -> None:
    """No string and no plural form is empty or only whitespace."""
    for key, value in raw_catalog(language).items():
        forms = value.values() if isinstance(value, dict) else [value]
        for form in forms:
            assert isinstance(form, str) and form.strip(), (language, key)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_placeholders_match_english(language: str) -> None:
    """A translation keeps every {placeholder} of the English string and adds none."""
    catalog = raw_catalog(language)
    for key, value in EN.items():
        if key in PLURAL_KEYS:
            continue
        assert _placeholders(value) == _placeholders(catalog[key]), (language, key)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_plural_forms_cover_the_rule(language: str) -> None:
    """Each counted noun has one form per category the language's rule can return, each with {n}."""
    categories = {plural_category(language, n) for n in range(10_000)}
    catalog = raw_catalog(language)
    for key in PLURAL_KEYS:
        assert set(catalog[key]) == categories, (language, key)
        for category, form in catalog[key].items():
            # Arabic and Hebrew spell out one and two ("دقيقة واحدة", "שעתיים"), as natives write them.
            if category not in ("one", "two") or not is_rtl(language):
                assert "{n}" in form, (language, key, category)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_no_english_left_in_translations(language: str) -> None:
    """No translated string equals its English original (format-only strings aside)."""
    catalog = raw_catalog(language)
    for key, english in EN.items():
        if key in PLURAL_KEYS or not re.search(r"[A-Za-z]", PLACEHOLDER.sub("", english)):
            continue
        assert catalog[key] != english, (language, key)
    for key in PLURAL_KEYS:
        assert catalog[key].get("other") != EN[key]["other"], (language, key)


def test_language_names_are_distinct() -> None:
    """Every catalog names its own language (an endonym), so no file is a copy of another."""
    names = [raw_catalog(lang)["language_name"] for lang in SUPPORTED_LANGUAGES]
    assert len(set(names)) == len(names)


def test_rtl_languages() -> None:
    """Arabic, Persian and Hebrew are right to left; the rest left to right."""
    assert {lang for lang in SUPPORTED_LANGUAGES if is_rtl(lang)} == {"ar-EG", "fa-IR", "he-IL"}
    assert get_catalog("he-IL").direction == "rtl"
    assert get_catalog("de-DE").direction == "ltr"


def test_unknown_language_falls_back_to_english() -> None:
    """A language without a catalog resolves to en-US."""
    assert "en-US" == resolve_language("xx-XX")
    assert "en-US" == get_catalog("klingon").language


class TestDurations:
    def test_english(self) -> None:
        """Minutes, hours and minutes, days and hours; zero is "less than a minute"."""
        c = get_catalog("en-US")
        assert [
            "Less than a minute",
            "1 minute",
            "59 minutes",
            "1 hour",
            "2 hours 5 minutes",
            "1 day",
            "3 days 4 hours",
        ] == [c.duration(m) for m in (0, 1, 59, 60, 125, 1440, 3 * 1440 + 4 * 60 + 30)]

    def test_joined_with_language_conjunction(self) -> None:
        """Languages that join units with "and" get their own conjunction."""
        assert "2 horas y 5 minutos" == get_catalog("es-ES").duration(125)
        assert "2時間5分" == get_catalog("ja-JP").duration(125)
        assert "ساعتين و5 دقائق" == get_catalog("ar-EG").duration(125)
