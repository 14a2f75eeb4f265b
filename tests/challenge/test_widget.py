"""The ``{{{turnstile}}}`` markup, read back with an HTML parser, and the vendored script it loads."""

from __future__ import annotations

import hashlib
import json
from html.parser import HTMLParser
from importlib import resources

import pytest

from antechamber.challenge.widget import (
    ALTCHA_SCRIPT_FILE,
    SOLUTION_HEADER,
    Endpoints,
    altcha_widget,
    turnstile_widget,
)
from antechamber.core.types import TurnstileMode
from tests.challenge.support import ROOM

HOSTILE = '"><script>alert(1)</script><!--&'


class Elements(HTMLParser):
    """The start tags (name, attributes) and each script's text, in order."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data

    def attrs(self, tag: str) -> dict[str, str | None]:
        return next(attrs for name, attrs in self.tags if name == tag)


class TestAltcha:
    @pytest.mark.parametrize(
        ("mode", "display", "auto"),
        [
            ("invisible", "invisible", "onload"),
            ("visible_non_interactive", "standard", "onload"),
            ("visible_managed", "standard", "off"),
        ],
    )
    def test_modes(self, mode: TurnstileMode, display: str, auto: str) -> None:
        """Invisible solves hidden on load, non-interactive solves visibly on load, managed waits for a click."""
        parsed = Elements(altcha_widget(mode, ROOM))
        assert ["script", "altcha-widget", "script"] == [name for name, _ in parsed.tags]
        assert {"type": "module", "src": "/.antechamber/challenge/altcha.i18n.min.js"} == parsed.attrs("script")
        widget = parsed.attrs("altcha-widget")
        assert (display, auto, mode) == (widget["display"], widget["auto"], widget["data-antechamber-mode"])
        assert f"/.antechamber/challenge?room={ROOM}" == widget["challenge"]
        configuration = json.loads(widget["configuration"] or "")
        assert "verifyUrl" not in configuration  # the inline script sends the solution in a header
        assert json.dumps(f"/.antechamber/challenge/verify?room={ROOM}") in parsed.scripts[-1]
        assert SOLUTION_HEADER in parsed.scripts[-1]
        assert (mode == "invisible") == ("minDuration" in configuration)

    def test_off_is_empty(self) -> None:
        """No challenge, no markup."""
        assert "" == altcha_widget("off", ROOM)

    def test_same_markup_for_every_visitor(self) -> None:
        """The markup depends on the room and mode only, so the page cache still serves everyone."""
        assert altcha_widget("invisible", ROOM) == altcha_widget("invisible", ROOM)

    def test_paths_are_parameters(self) -> None:
        """The gateway chooses where the script, the challenge and the verify endpoint live."""
        paths = Endpoints(script="/s/a.js", challenge="/c?x=1", verify="/v")
        parsed = Elements(altcha_widget("visible_managed", ROOM, endpoints=paths))
        assert "/s/a.js" == parsed.attrs("script")["src"]
        widget = parsed.attrs("altcha-widget")
        assert f"/c?x=1&room={ROOM}" == widget["challenge"]
        assert json.dumps(f"/v?room={ROOM}") in parsed.scripts[-1]

    def test_hostile_room_id_stays_data(self) -> None:
        """A room id full of markup is percent-encoded into the URLs and never becomes an element."""
        parsed = Elements(altcha_widget("invisible", HOSTILE))
        assert ["script", "altcha-widget", "script"] == [name for name, _ in parsed.tags]
        challenge = parsed.attrs("altcha-widget")["challenge"] or ""
        assert challenge.startswith("/.antechamber/challenge?room=%22%3E%3Cscript%3E")
        assert "alert(1)" not in "".join(parsed.scripts)  # only percent-encoded, inside a JSON string


class TestTurnstile:
    @pytest.mark.parametrize(
        ("mode", "appearance"),
        [("invisible", "interaction-only"), ("visible_non_interactive", "always"), ("visible_managed", "always")],
    )
    def test_modes(self, mode: TurnstileMode, appearance: str) -> None:
        """Cloudflare's script and a widget with the site key, the room's action and our callback."""
        parsed = Elements(turnstile_widget(mode, ROOM, site_key="1x00000000000000000000AA", action=ROOM))
        assert ["script", "div", "script"] == [name for name, _ in parsed.tags]
        assert "https://challenges.cloudflare.com/turnstile/v0/api.js" == parsed.attrs("script")["src"]
        div = parsed.attrs("div")
        assert {
            "class": "cf-turnstile",
            "data-sitekey": "1x00000000000000000000AA",
            "data-action": ROOM,
            "data-appearance": appearance,
            "data-response-field": "false",
            "data-callback": "antechamberTurnstilePassed",
        } == div
        assert f'"/.antechamber/challenge/verify?room={ROOM}"' in parsed.scripts[1]

    def test_off_is_empty(self) -> None:
        """No challenge, no markup."""
        assert "" == turnstile_widget("off", ROOM, site_key="k", action="a")

    def test_hostile_values_stay_data(self) -> None:
        """Site key, action and verify path full of markup stay attribute values and JS string contents."""
        markup = turnstile_widget(
            "visible_managed", ROOM, site_key=HOSTILE, action=HOSTILE, endpoints=Endpoints(verify=HOSTILE)
        )
        parsed = Elements(markup)
        assert ["script", "div", "script"] == [name for name, _ in parsed.tags]
        assert HOSTILE == parsed.attrs("div")["data-sitekey"] == parsed.attrs("div")["data-action"]
        inline = parsed.scripts[1]
        assert "</script" not in inline and "<!--" not in inline
        assert '"\\"\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\\u003c!--\\u0026?room=' in inline


class TestVendoredScript:
    def test_script_and_licence_ship_in_the_package(self) -> None:
        """The widget, its MIT licence and the README's checksum are all in the package, and they agree."""
        static = resources.files("antechamber.challenge").joinpath("static")
        script = resources.files("antechamber.challenge").joinpath(ALTCHA_SCRIPT_FILE).read_bytes()
        assert "MIT License" in static.joinpath("LICENSE-altcha.txt").read_text()
        assert hashlib.sha256(script).hexdigest() in static.joinpath("README.md").read_text()
        # Self-contained: the proof-of-work workers ride inside, and nothing is imported.
        assert b'new Worker("data:text/javascript' in script
        assert b"import(" not in script and b"importScripts(" not in script
