"""Plural categories for whole numbers, per default-template language.

Each rule maps a non-negative count to a CLDR plural category ("zero", "one", "two",
"few", "many", "other"); a catalog's plural entries hold exactly the categories its
language's rule can return. Only integers occur (minutes, hours, days), so the CLDR
operands for fractions are left out.
"""

from __future__ import annotations

from collections.abc import Callable

PluralRule = Callable[[int], str]


def _other_only(n: int) -> str:
    # Chinese, Japanese, Korean, Thai, Vietnamese, Indonesian, Malay: no plural inflection.
    return "other"


def _one_other(n: int) -> str:
    return "one" if n == 1 else "other"


def _zero_one_other(n: int) -> str:
    # French, Brazilian Portuguese, Hindi, Persian: 0 and 1 take the singular.
    return "one" if n in (0, 1) else "other"


def _east_slavic(n: int) -> str:
    # Russian, Ukrainian: 1, 21, 31 минута; 2-4, 22-24 минуты; 5-20, 25-30 минут.
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


def _south_slavic(n: int) -> str:
    # Croatian, Serbian: same split as Russian, but CLDR calls the last form "other".
    category = _east_slavic(n)
    return "other" if category == "many" else category


def _polish(n: int) -> str:
    # Only exactly 1 is singular: 21 minut, but 22 minuty.
    if n == 1:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


def _czech_slovak(n: int) -> str:
    if n == 1:
        return "one"
    if 2 <= n <= 4:
        return "few"
    return "other"


def _slovenian(n: int) -> str:
    # Slovenian keeps a dual: 1 minuta, 2 minuti, 3 minute, 5 minut (and again at 101, 102...).
    rest = n % 100
    if rest == 1:
        return "one"
    if rest == 2:
        return "two"
    if rest in (3, 4):
        return "few"
    return "other"


def _lithuanian(n: int) -> str:
    # 1, 21 minutė; 2-9, 22-29 minutės; 10-20, 30 minučių.
    if 11 <= n % 100 <= 19:
        return "other"
    if n % 10 == 1:
        return "one"
    if n % 10 >= 2:
        return "few"
    return "other"


def _latvian(n: int) -> str:
    # 0, 10-20, 30 minūšu; 1, 21 minūte; the rest minūtes.
    if n % 10 == 0 or 11 <= n % 100 <= 19:
        return "zero"
    if n % 10 == 1:
        return "one"
    return "other"


def _romanian(n: int) -> str:
    # 1 minut; 2-19 minute; from 20 on "de" is inserted: 20 de minute.
    if n == 1:
        return "one"
    if n == 0 or 1 <= n % 100 <= 19:
        return "few"
    return "other"


def _arabic(n: int) -> str:
    rest = n % 100
    if n == 0:
        return "zero"
    if n == 1:
        return "one"
    if n == 2:
        return "two"
    if 3 <= rest <= 10:
        return "few"
    if 11 <= rest <= 99:
        return "many"
    return "other"


def _hebrew(n: int) -> str:
    # Hebrew has a dual for 2 (שעתיים, יומיים).
    if n == 1:
        return "one"
    if n == 2:
        return "two"
    return "other"


def _filipino(n: int) -> str:
    # CLDR: "one" unless the last digit is 4, 6 or 9; Filipino nouns themselves do not inflect.
    return "other" if n % 10 in (4, 6, 9) else "one"


PLURAL_RULES: dict[str, PluralRule] = {
    "en-US": _one_other,
    "es-ES": _one_other,
    "de-DE": _one_other,
    "fr-FR": _zero_one_other,
    "it-IT": _one_other,
    "ja-JP": _other_only,
    "ko-KR": _other_only,
    "pt-BR": _zero_one_other,
    "zh-CN": _other_only,
    "zh-TW": _other_only,
    "nl-NL": _one_other,
    "pl-PL": _polish,
    "id-ID": _other_only,
    "tr-TR": _one_other,
    "ar-EG": _arabic,
    "ru-RU": _east_slavic,
    "fa-IR": _zero_one_other,
    "bg-BG": _one_other,
    "hr-HR": _south_slavic,
    "cs-CZ": _czech_slovak,
    "da-DK": _one_other,
    "fi-FI": _one_other,
    "lt-LT": _lithuanian,
    "lv-LV": _latvian,
    "ms-MY": _other_only,
    "nb-NO": _one_other,
    "ro-RO": _romanian,
    "el-GR": _one_other,
    "he-IL": _hebrew,
    "hi-IN": _zero_one_other,
    "hu-HU": _one_other,
    "sr-BA": _south_slavic,
    "sk-SK": _czech_slovak,
    "sl-SI": _slovenian,
    "sv-SE": _one_other,
    "tl-PH": _filipino,
    "th-TH": _other_only,
    "uk-UA": _east_slavic,
    "vi-VN": _other_only,
}


def plural_category(language: str, n: int) -> str:
    """The CLDR plural category of the whole number ``n`` in ``language``."""
    return PLURAL_RULES[language](n)
