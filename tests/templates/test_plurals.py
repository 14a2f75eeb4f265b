"""Plural rules: the right noun form for each count in languages that inflect."""

from __future__ import annotations

import pytest

from antechamber.templates.catalog import get_catalog


@pytest.mark.parametrize(
    ("language", "counts", "expected"),
    [
        (
            "ru-RU",
            (1, 2, 5, 11, 21, 22, 25, 111),
            "1 минута|2 минуты|5 минут|11 минут|21 минута|22 минуты|25 минут|111 минут",
        ),
        ("uk-UA", (1, 3, 7, 14, 31), "1 хвилина|3 хвилини|7 хвилин|14 хвилин|31 хвилина"),
        ("pl-PL", (1, 2, 5, 12, 21, 22), "1 minuta|2 minuty|5 minut|12 minut|21 minut|22 minuty"),
        ("cs-CZ", (1, 3, 5), "1 minuta|3 minuty|5 minut"),
        ("sl-SI", (1, 2, 3, 5, 101, 102), "1 minuta|2 minuti|3 minute|5 minut|101 minuta|102 minuti"),
        ("lt-LT", (1, 2, 10, 11, 21), "1 minutė|2 minutės|10 minučių|11 minučių|21 minutė"),
        ("lv-LV", (1, 2, 10, 21), "1 minūte|2 minūtes|10 minūtes|21 minūte"),
        ("ro-RO", (1, 2, 19, 20, 101), "1 minut|2 minute|19 minute|20 de minute|101 minute"),
        ("hr-HR", (1, 2, 5, 21), "1 minuta|2 minute|5 minuta|21 minuta"),
        ("sr-BA", (1, 2, 5), "1 минут|2 минута|5 минута"),
        ("ar-EG", (1, 2, 3, 11, 100), "دقيقة واحدة|دقيقتين|3 دقائق|11 دقيقة|100 دقيقة"),
        ("he-IL", (1, 2, 3), "דקה אחת|שתי דקות|3 דקות"),
        ("fr-FR", (1, 2), "1\u00a0minute|2\u00a0minutes"),
        ("en-US", (1, 2), "1 minute|2 minutes"),
        ("ja-JP", (1, 2), "1分|2分"),
    ],
)
def test_minutes(language: str, counts: tuple[int, ...], expected: str) -> None:
    """Counted minutes take the grammatical form the language requires."""
    catalog = get_catalog(language)
    assert expected == "|".join(catalog.count("minutes", n) for n in counts)


def test_hours_and_days_inflect_too() -> None:
    """Hours and days follow the same rule as minutes."""
    ru = get_catalog("ru-RU")
    assert ["1 час", "3 часа", "5 часов", "21 день", "2 дня", "7 дней"] == [
        ru.count("hours", 1),
        ru.count("hours", 3),
        ru.count("hours", 5),
        ru.count("days", 21),
        ru.count("days", 2),
        ru.count("days", 7),
    ]
