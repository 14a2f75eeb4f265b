"""The default queue and reject pages in every language, and custom templates."""

from __future__ import annotations

import re
from html import escape
from typing import Any

import pytest

from antechamber.templates import page
from antechamber.templates.catalog import SUPPORTED_LANGUAGES, raw_catalog
from antechamber.templates.page import render_queue_page, render_reject_page
from tests.templates.pages import PREQUEUE, QUEUE, QUEUE_ALL, QUEUE_FULL, RANDOM, STATES

EN = raw_catalog("en-US")
OTHER_LANGUAGES = [lang for lang in SUPPORTED_LANGUAGES if lang != "en-US"]
# English sentences and labels long enough that finding one in another language's page means a leak.
EN_PHRASES = [
    value
    for key, value in EN.items()
    if isinstance(value, str)
    # language_name appears on every page on purpose: the picker names each language in itself.
    and key not in ("footer", "duration_join", "language_name")
    and len(value) > 8
    and "{" not in value
]


def _text(html: str) -> str:
    """The page without its <style> block, where CSS could contain anything."""
    return re.sub(r"<style>.*?</style>", "", html, flags=re.S)


def _assert_complete(html: str) -> None:
    body = _text(html)
    assert "{{" not in body and "}}" not in body
    assert not re.search(r"\{(time|from|to|n|a|b)\}", body)
    assert html.startswith("<!DOCTYPE html>")
    assert "<main>" in html and "<footer>" in html


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("state", sorted(STATES))
def test_every_language_renders_every_state(language: str, state: str) -> None:
    """Each state renders in each language with no unfilled tag or placeholder."""
    html = render_queue_page(STATES[state], language=language)
    _assert_complete(html)
    catalog = raw_catalog(language)
    assert f'lang="{language}"' in html
    assert escape(catalog["refresh_note"]) in html
    assert 'role="status"' in html and 'aria-live="polite"' in html


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_reject_page(language: str) -> None:
    """The reject page says the site is unavailable and never refreshes."""
    html = render_reject_page(language)
    _assert_complete(html)
    catalog = raw_catalog(language)
    assert escape(catalog["reject_title"]) in html and escape(catalog["reject_body"]) in html
    assert "refresh" not in html.lower().split("</style>")[0].split("<style>")[0]
    assert 'http-equiv="refresh"' not in html


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
@pytest.mark.parametrize("state", sorted(STATES))
def test_no_english_leaks(language: str, state: str) -> None:
    """No English sentence from en-US shows up on another language's page."""
    text = _text(render_queue_page(STATES[state], language=language)) + _text(render_reject_page(language))
    leaked = [phrase for phrase in EN_PHRASES if phrase in text]
    assert [] == leaked


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_direction(language: str) -> None:
    """Arabic, Persian and Hebrew pages are dir="rtl"; the rest dir="ltr"."""
    expected = "rtl" if language in ("ar-EG", "fa-IR", "he-IL") else "ltr"
    assert f'<html lang="{language}" dir="{expected}">' in render_queue_page(QUEUE, language=language)
    assert f'<html lang="{language}" dir="{expected}">' in render_reject_page(language)


class TestStates:
    def test_known_wait(self) -> None:
        """A known wait shows the label and the localized duration."""
        html = render_queue_page(QUEUE, language="de-DE")
        assert "Geschätzte Wartezeit" in html and "1 Stunde 15 Minuten" in html

    def test_queue_all_hides_the_estimate(self) -> None:
        """Queue-all says no estimate is possible and shows no wait value."""
        html = render_queue_page(QUEUE_ALL, language="en-US")
        assert EN["queue_all"] in html
        assert EN["wait_label"] not in html

    def test_queue_all_wins_over_prequeue(self) -> None:
        """Queue-all overrides an event's prequeue, as in Cloudflare."""
        html = render_queue_page({**PREQUEUE, "queueAll": True}, language="en-US")
        assert EN["queue_all"] in html and EN["prequeue_heading"] not in html

    def test_queue_full(self) -> None:
        """A full queue says the visitor joins once space frees up."""
        html = render_queue_page(QUEUE_FULL, language="en-US")
        assert EN["full_heading"] in html
        assert "You will be placed in the queue automatically once space is available." in html

    def test_prequeue_countdown_and_shuffle(self) -> None:
        """The prequeue page counts down to the start and explains the shuffle."""
        html = render_queue_page(PREQUEUE, language="en-US")
        assert "The event starts in 1 hour 35 minutes." in html
        assert EN["prequeue_shuffle"] in html

    def test_prequeue_about_to_start(self) -> None:
        """With no minutes left the prequeue page says the event is about to start."""
        html = render_queue_page({**PREQUEUE, "timeUntilEventStart": 0, "shuffleAtEventStart": False}, language="fr-FR")
        assert escape(raw_catalog("fr-FR")["prequeue_starts_soon"]) in html
        assert escape(raw_catalog("fr-FR")["prequeue_shuffle"]) not in html

    def test_random_queue_shows_a_range(self) -> None:
        """A random queue shows the 25th to 75th percentile range."""
        assert "5 minutes to 15 minutes" in render_queue_page(RANDOM, language="en-US")
        assert "Up to 15 minutes" in render_queue_page({**RANDOM, "waitTime25Percentile": 0}, language="en-US")

    def test_unknown_estimate(self) -> None:
        """An unknown estimate without queue-all says it will appear shortly."""
        html = render_queue_page({**QUEUE, "waitTimeKnown": False}, language="en-US")
        assert EN["wait_calculating"] in html

    def test_infinite_queue_looks_like_a_real_queue(self) -> None:
        """A bot in the infinite queue gets the very page a real visitor would."""
        real = render_queue_page(QUEUE, language="en-US")
        assert real == render_queue_page({**QUEUE, "infiniteQueue": True}, language="en-US")

    def test_refresh_meta_and_last_updated(self) -> None:
        """The queue page refreshes by meta tag as well and shows when it was last updated."""
        html = render_queue_page(QUEUE, language="en-US")
        assert '<meta http-equiv="refresh" content="20">' in html
        assert 'Last updated: <time dir="ltr" datetime="2026-11-21T15:30:12.000Z">15:30:12 UTC</time>' in html

    def test_no_refresh_meta_without_interval(self) -> None:
        """A refresh interval of 0 leaves the meta refresh out."""
        assert 'http-equiv="refresh"' not in render_queue_page({**QUEUE, "refreshIntervalSeconds": 0}, language="en-US")

    def test_bad_last_updated_is_left_out(self) -> None:
        """A lastUpdated that is not ISO 8601 hides the line instead of failing."""
        assert EN["last_updated"].split("{")[0] not in render_queue_page(
            {**QUEUE, "lastUpdated": "soon"}, language="en-US"
        )

    def test_unknown_language_is_english(self) -> None:
        """An unsupported language renders the en-US page."""
        assert render_queue_page(QUEUE, language="en-US") == render_queue_page(QUEUE, language="tlh-KL")
        assert render_reject_page("en-US") == render_reject_page("xx")


class TestAccessibility:
    def test_landmarks_and_progress(self) -> None:
        """The page has main/footer landmarks and a labelled step list with the current step marked."""
        html = render_queue_page(QUEUE, language="en-US")
        assert '<ol class="steps" aria-label="Your progress">' in html
        assert 'aria-current="step"' in html
        assert '<span class="vh"> (done)</span>' in html

    def test_reduced_motion(self) -> None:
        """The only animation stops when the visitor prefers reduced motion."""
        assert "@media (prefers-reduced-motion:reduce)" in render_queue_page(QUEUE, language="en-US")

    def test_self_contained(self) -> None:
        """No external stylesheet, script, image or font: a covered route would queue them too."""
        html = render_queue_page(QUEUE, language="ja-JP")
        assert not re.search(r"<(link|script|img)\b", html)
        assert "url(" not in html and "@import" not in html


class TestTurnstileAndEscaping:
    def test_turnstile_is_raw(self) -> None:
        """{{{turnstile}}} inserts the widget markup unescaped."""
        widget = '<div class="cf-turnstile" data-sitekey="x"></div>'
        assert widget in render_queue_page(QUEUE, language="en-US", turnstile_html=widget)

    def test_turnstile_from_info(self) -> None:
        """Without turnstile_html, the turnstile field of info fills the slot."""
        assert '<div id="w"></div>' in render_queue_page({**QUEUE, "turnstile": '<div id="w"></div>'}, language="en-US")

    def test_double_mustache_escapes(self) -> None:
        """{{var}} is HTML-escaped while {{{var}}} is not."""
        info = {**QUEUE, "turnstile": "<b>&</b>"}
        html = render_queue_page(info, language="en-US", custom_html="[{{turnstile}}][{{{turnstile}}}]")
        assert "[&lt;b&gt;&amp;&lt;/b&gt;][<b>&</b>]" == html


ALL_VARIABLES_TEMPLATE = "\n".join(
    [
        f"{name}={{{{{name}}}}}"
        for name in page.template_context({}, language="en-US")
        if name not in ("t", "page", "cfWaitingRoom")
    ]
    + ["cf.waitTime={{cfWaitingRoom.waitTime}}", "t.title={{t.title}}", "page.waitDisplay={{page.waitDisplay}}"]
    + ["{{#waitTimeKnown}}known{{/waitTimeKnown}}{{^queueIsFull}}notfull{{/queueIsFull}}"]
)


class TestCustomTemplates:
    def test_every_variable(self) -> None:
        """A custom template sees every Cloudflare variable, JS-style booleans, and Antechamber's extras."""
        info: dict[str, Any] = {**RANDOM, "waitTime": 135, "turnstile": "<i>t</i>"}
        html = render_queue_page(info, language="es-ES", custom_html=ALL_VARIABLES_TEMPLATE)
        lines = dict(line.split("=", 1) for line in html.splitlines() if "=" in line)
        assert lines["waitTime"] == "135"
        assert lines["waitTimeHours"] == "2"
        assert lines["waitTimeHourMinutes"] == "15"
        assert lines["waitTime25Percentile"] == "5"
        assert lines["waitTimeKnown"] == "true"
        assert lines["queueIsFull"] == "false"
        assert lines["isRandomQueue"] == "true"
        assert lines["queueingMethod"] == "random"
        assert lines["lastUpdated"] == "2026-11-21T15:30:12.000Z"
        assert lines["timeUntilEventEndFormatted"] == "unavailable"
        assert lines["turnstile"] == "&lt;i&gt;t&lt;/i&gt;"
        assert lines["cf.waitTime"] == "135"
        assert lines["t.title"] == "Sala de espera"
        assert lines["page.waitDisplay"] == "De 5 minutos a 15 minutos"
        assert "knownnotfull" in html
        assert 27 == len([name for name in lines if "." not in name])

    def test_cloudflare_example(self) -> None:
        """The example custom_page_html from Cloudflare's API schema renders as documented."""
        source = (
            "{{#waitTimeKnown}} {{waitTime}} mins {{/waitTimeKnown}} "
            "{{^waitTimeKnown}} Queue all enabled {{/waitTimeKnown}}"
        )
        assert " 75 mins  " == render_queue_page(QUEUE, language="en-US", custom_html=source)
        assert "  Queue all enabled " == render_queue_page(QUEUE_ALL, language="en-US", custom_html=source)

    @pytest.mark.parametrize(
        "broken", ["{{#waitTimeKnown}}unclosed", "{{/stray}}", "{{=<% %>=}}<%#a%>x", "{{> }}{{#a}}"]
    )
    def test_broken_template_falls_back(self, broken: str) -> None:
        """A custom template that does not parse yields the default page, not an error."""
        assert render_queue_page(QUEUE, language="it-IT") == render_queue_page(
            QUEUE, language="it-IT", custom_html=broken
        )

    def test_empty_custom_html_is_default(self) -> None:
        """An empty custom_page_html (Cloudflare's default value) means the default page."""
        assert render_queue_page(QUEUE, language="en-US") == render_queue_page(QUEUE, language="en-US", custom_html="")

    def test_no_python_objects_reach_templates(self) -> None:
        """Only plain data is in the context, so a template cannot walk into Python attributes."""
        html = render_queue_page(
            QUEUE, language="en-US", custom_html="[{{t.__class__}}][{{page.items}}][{{waitTime.real}}]"
        )
        assert "[][][]" == html

    def test_no_attribute_walk_to_python_internals(self) -> None:
        """The classic template-injection walk from a value to object.__subclasses__ finds nothing."""
        walk = "waitTime.__class__.__base__.__subclasses__"
        source = f"[{{{{{walk}}}}}][{{{{{walk}.5}}}}][{{{{#{walk}}}}}id{{{{/{walk}}}}}][{{{{lastUpdated.upper}}}}]"
        assert "[][][][]" == render_queue_page(QUEUE, language="en-US", custom_html=source)

    def test_lists_and_sections_still_work(self) -> None:
        """Plain-data lookups keep working: sections push values and dotted names reach into dicts."""
        source = "{{#page}}{{lang}}{{/page}} {{#page.refresh}}{{.}}s{{/page.refresh}} {{cfWaitingRoom.queueingMethod}}"
        assert "en-US 20s fifo" == render_queue_page(QUEUE, language="en-US", custom_html=source)


def test_documented_example_renders() -> None:
    """The custom template example in docs/TEMPLATES.md renders with its variables filled in."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "TEMPLATES.md").read_text(encoding="utf-8")
    example = re.search(r"```html\n(.*?)```", doc, flags=re.S)
    assert example is not None
    html = render_queue_page(QUEUE, language="es-ES", custom_html=example.group(1))
    assert '<html lang="es-ES" dir="ltr">' in html
    assert "Your wait: about 1 h 15 min" in html
    assert "Example Shop: Sala de espera" in html
    assert "{{" not in html


class TestLanguagePicker:
    def test_lists_every_language_by_its_own_name(self) -> None:
        """The default page links to all 39 languages with ?lang=, each named in itself."""
        html = render_queue_page(QUEUE, language="de-DE")
        for code in SUPPORTED_LANGUAGES:
            assert f'href="?lang={code}"' in html
        assert ">日本語" in html
        assert "<summary>Sprache</summary>" in html

    def test_marks_the_current_language(self) -> None:
        """Only the page's own language carries aria-current in the picker."""
        html = render_queue_page(QUEUE, language="ja-JP")
        assert 1 == html.count('aria-current="true"')
        assert 'href="?lang=ja-JP" hreflang="ja-JP" lang="ja-JP" aria-current="true"' in html
