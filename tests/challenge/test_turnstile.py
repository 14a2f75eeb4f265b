"""The siteverify client against a stand-in siteverify served on loopback (Cloudflare is out of reach)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from antechamber.challenge.result import Outcome, Result
from antechamber.challenge.turnstile import MAX_TOKEN_CHARS, Siteverify, action_for
from tests import services

SECRET = "0x4AAAAAAAtest-secret"
ACTION = "0123456789abcdef0123456789abcdef"
HOST = "shop.example.com"
_INVALID = "invalid-input-response"


class StandIn(BaseHTTPRequestHandler):
    """Answers like siteverify, choosing the answer by the token; remembers every form it got."""

    forms: list[dict[str, str]] = []

    def do_POST(self) -> None:
        try:
            self._answer()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first: what the time-limit tests want

    def _answer(self) -> None:
        assert "application/x-www-form-urlencoded" == self.headers.get("content-type")
        length = int(self.headers.get("content-length", "0"))
        form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        self.forms.append(form)
        token = form.get("response", "")
        if form.get("secret") != SECRET:
            self._json({"success": False, "error-codes": ["invalid-input-secret"]})
        elif token == "slow":
            time.sleep(1.5)
            self._json({"success": True})
        elif token == "drip":
            self._drip()
        elif token == "http-500":
            self._send(500, b"oops", "text/plain")
        elif token == "not-json":
            self._send(200, b"<html>", "text/html")
        elif token.startswith("codes:"):
            self._json({"success": False, "error-codes": token.removeprefix("codes:").split(",")})
        elif token.startswith("good"):
            action = token.removeprefix("good:") if ":" in token else ACTION
            self._json({"success": True, "error-codes": [], "hostname": HOST, "action": action})
        else:
            self._json({"success": False, "error-codes": ["invalid-input-response"]})

    def _json(self, body: dict[str, Any]) -> None:
        self._send(200, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drip(self) -> None:
        # Each byte well within a per-read timeout; all of them far beyond the whole-call limit.
        body = b" " * 15 + b'{"success": true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        for i in range(len(body)):
            self.wfile.write(body[i : i + 1])
            self.wfile.flush()
            time.sleep(0.1)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def siteverify_url() -> Iterator[str]:
    """A stand-in siteverify on loopback, for the whole module (a threaded stdlib server)."""
    with services.http_origin(StandIn) as base:
        yield f"{base}/turnstile/v0/siteverify"


@pytest.fixture
def forms(siteverify_url: str) -> list[dict[str, str]]:
    """The forms the stand-in receives during this test."""
    StandIn.forms.clear()
    return StandIn.forms


@pytest.fixture
async def siteverify(siteverify_url: str) -> AsyncIterator[Siteverify]:
    async with Siteverify(SECRET, url=siteverify_url, timeout=0.5) as client:
        yield client


class TestVerdicts:
    async def test_pass_sends_the_documented_form(self, forms: list[dict[str, str]], siteverify: Siteverify) -> None:
        """A good token passes; the POST carries secret, response, remoteip and idempotency_key as a form."""
        result = await siteverify.verify(
            "good", remote_ip="203.0.113.7", action=ACTION, hostname=HOST.upper(), idempotency_key="k-1"
        )
        assert Result(Outcome.PASSED) == result
        expected = {"secret": SECRET, "response": "good", "remoteip": "203.0.113.7", "idempotency_key": "k-1"}
        assert [expected] == forms

    async def test_optional_fields_are_left_out(self, forms: list[dict[str, str]], siteverify: Siteverify) -> None:
        """Without an address or idempotency key only secret and response are sent, and nothing else is checked."""
        assert (await siteverify.verify("good:any-action")).passed
        assert [{"secret": SECRET, "response": "good:any-action"}] == forms

    @pytest.mark.parametrize(
        ("token", "expected"),
        [
            ("forged", Result(Outcome.FAILED, ("invalid-input-response",), bot=True)),
            ("codes:timeout-or-duplicate", Result(Outcome.FAILED, ("timeout-or-duplicate",))),
            ("codes:missing-input-response", Result(Outcome.FAILED, ("missing-input-response",))),
            ("good:other-room", Result(Outcome.FAILED, ("wrong-action",))),
            ("codes:internal-error", Result(Outcome.ERROR, ("internal-error",))),
            # Our fault outweighs the token's: no verdict on the visitor.
            ("codes:bad-request,invalid-input-response", Result(Outcome.ERROR, ("bad-request", _INVALID))),
            ("codes:", Result(Outcome.ERROR, ("siteverify",))),
            ("http-500", Result(Outcome.ERROR, ("http-500",))),
            ("not-json", Result(Outcome.ERROR, ("bad-answer",))),
        ],
    )
    async def test_answers_map_to_results(self, siteverify: Siteverify, token: str, expected: Result) -> None:
        """Each siteverify answer is a pass, a failure (bot signal only for a forged token) or an error."""
        assert expected == await siteverify.verify(token, action=ACTION)

    async def test_wrong_hostname_fails(self, siteverify: Siteverify) -> None:
        """A token solved on another host does not pass for this room."""
        result = await siteverify.verify("good", hostname="elsewhere.example.com")
        assert Result(Outcome.FAILED, ("wrong-hostname",)) == result

    async def test_wrong_secret_is_our_fault(self, siteverify_url: str) -> None:
        """A rejected secret is an error (the operator's), never the visitor's failure."""
        async with Siteverify("wrong", url=siteverify_url) as client:
            assert Result(Outcome.ERROR, ("invalid-input-secret",)) == await client.verify("good")

    async def test_tokens_refused_without_asking(self, forms: list[dict[str, str]], siteverify: Siteverify) -> None:
        """An empty or over-long token fails at once; Cloudflare is not asked."""
        assert Result(Outcome.FAILED, ("missing-input-response",)) == await siteverify.verify("")
        too_long = "x" * (MAX_TOKEN_CHARS + 1)
        assert Result(Outcome.FAILED, ("invalid-input-response",), bot=True) == await siteverify.verify(too_long)
        assert [] == forms


class TestTimeLimit:
    @pytest.mark.parametrize("token", ["slow", "drip"])
    async def test_the_whole_call_is_bounded(self, siteverify: Siteverify, token: str) -> None:
        """A siteverify that answers late, or drips its answer a byte at a time, is an error after ``timeout``."""
        started = time.monotonic()
        assert Result(Outcome.ERROR, ("timeout",)) == await siteverify.verify(token)
        assert 0.4 < time.monotonic() - started < 1.5

    async def test_nobody_listening(self) -> None:
        """A closed port is an error, not a failure of the visitor."""
        url = f"http://127.0.0.1:{services.free_port()}/siteverify"
        async with Siteverify(SECRET, url=url, timeout=1) as client:
            assert Result(Outcome.ERROR, ("unreachable",)) == await client.verify("good")


class TestClient:
    async def test_a_shared_client_stays_open(self, siteverify_url: str) -> None:
        """Closing the verifier leaves a client it was given open for its owner."""
        async with httpx.AsyncClient() as shared:
            async with Siteverify(SECRET, url=siteverify_url, client=shared) as client:
                assert (await client.verify("good")).passed
            assert not shared.is_closed

    def test_an_empty_secret_is_refused(self) -> None:
        """A verifier without a secret could only ever fail: it is refused at construction."""
        with pytest.raises(ValueError):
            Siteverify("")


class TestAction:
    @pytest.mark.parametrize(
        ("room_id", "expected"),
        [
            (ACTION, ACTION),
            ("shop_1-a", "shop_1-a"),
        ],
    )
    def test_ids_turnstile_accepts_are_kept(self, room_id: str, expected: str) -> None:
        """A room id of up to 32 letters, digits, ``_`` and ``-`` is the action itself."""
        assert expected == action_for(room_id)

    @pytest.mark.parametrize("room_id", ["with space", "x" * 33, "", "ü"])
    def test_other_ids_are_hashed(self, room_id: str) -> None:
        """Any other room id becomes 32 hex digits, the same every time."""
        action = action_for(room_id)
        assert 32 == len(action) and all(c in "0123456789abcdef" for c in action)
        assert action == action_for(room_id)
