"""Issuing and redeeming ALTCHA challenges, solved by the ``altcha`` package's own solver."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from antechamber.challenge.altcha import MAX_PAYLOAD_CHARS, Altcha, Difficulty
from antechamber.challenge.result import Outcome, Result
from antechamber.challenge.spent import MemorySpentSet
from antechamber.core.cookie import KeyRing
from tests.challenge.support import EASY, KEYS, ROOM, VISITOR, now_ms, solve


def counter_of(payload: str) -> int:
    counter: int = json.loads(base64.b64decode(payload))["solution"]["counter"]
    return counter


def edit(payload: str, change: Any) -> str:
    """``payload`` with its decoded JSON changed in place by ``change``."""
    decoded = json.loads(base64.b64decode(payload))
    change(decoded)
    return base64.b64encode(json.dumps(decoded).encode()).decode()


def _flip(hex_key: str) -> str:
    return hex_key[:-1] + ("0" if hex_key[-1] != "0" else "1")


@pytest.fixture
def issuer() -> Altcha:
    return Altcha(KEYS, difficulty=EASY)


class TestIssue:
    def test_challenge_is_signed_bound_and_expiring(self, issuer: Altcha) -> None:
        """A challenge names the room and key, hides the visitor behind a hash, and expires after the TTL."""
        now = now_ms()
        challenge = issuer.issue(ROOM, VISITOR, now_ms=now)
        params = challenge["parameters"]
        assert {"k": 1, "r": ROOM} == {k: params["data"][k] for k in ("k", "r")}
        assert 32 == len(params["data"]["v"])
        assert VISITOR not in json.dumps(challenge)
        assert now // 1000 + 300 == params["expiresAt"]
        assert ("PBKDF2/SHA-256", 10) == (params["algorithm"], params["cost"])
        assert params["keySignature"] and challenge["signature"]

    def test_counter_is_drawn_in_the_upper_half(self, issuer: Altcha) -> None:
        """The work asked for lies in [max_number // 2, max_number): never trivially small."""
        counters = {counter_of(solve(issuer.issue(ROOM, VISITOR, now_ms=now_ms()))) for _ in range(12)}
        assert all(20 <= counter < 40 for counter in counters)
        assert len(counters) > 1

    def test_nonces_differ(self, issuer: Altcha) -> None:
        """Two challenges for the same visitor are different puzzles."""
        first = issuer.issue(ROOM, VISITOR, now_ms=now_ms())
        second = issuer.issue(ROOM, VISITOR, now_ms=now_ms())
        assert first["parameters"]["nonce"] != second["parameters"]["nonce"]

    def test_bad_settings_are_refused(self) -> None:
        """A difficulty or TTL that makes no sense fails at construction."""
        with pytest.raises(ValueError):
            Difficulty(max_number=1)
        with pytest.raises(ValueError):
            Altcha(KEYS, ttl_s=0)


class TestRedeem:
    async def test_a_solution_passes_once(self, issuer: Altcha) -> None:
        """The right answer passes; the same answer again is a replay, a bot signal."""
        spent = MemorySpentSet()
        payload = solve(issuer.issue(ROOM, VISITOR, now_ms=now_ms()))
        assert Result(Outcome.PASSED) == await issuer.redeem(payload, ROOM, VISITOR, now_ms=now_ms(), spent=spent)
        again = await issuer.redeem(payload, ROOM, VISITOR, now_ms=now_ms(), spent=spent)
        assert Result(Outcome.FAILED, ("replayed",), bot=True) == again

    async def test_other_room_or_visitor_fails_without_bot_signal(self, issuer: Altcha) -> None:
        """An answer is good only for the room and visitor it was issued to; a mismatch is not proof of a bot."""
        spent = MemorySpentSet()
        payload = solve(issuer.issue(ROOM, VISITOR, now_ms=now_ms()))
        wrong_room = await issuer.redeem(payload, "another-room", VISITOR, now_ms=now_ms(), spent=spent)
        wrong_visitor = await issuer.redeem(payload, ROOM, "1780315200000:1", now_ms=now_ms(), spent=spent)
        assert Result(Outcome.FAILED, ("wrong-room",)) == wrong_room
        assert Result(Outcome.FAILED, ("wrong-visitor",)) == wrong_visitor
        # Neither spent it: the rightful visitor can still redeem it.
        assert (await issuer.redeem(payload, ROOM, VISITOR, now_ms=now_ms(), spent=spent)).passed

    async def test_expired_by_our_clock(self, issuer: Altcha) -> None:
        """An answer redeemed after the TTL fails as expired (an honest slow tab can do this)."""
        now = now_ms()
        payload = solve(issuer.issue(ROOM, VISITOR, now_ms=now))
        later = now + 301_000
        result = await issuer.redeem(payload, ROOM, VISITOR, now_ms=later, spent=MemorySpentSet())
        assert Result(Outcome.FAILED, ("expired",)) == result

    async def test_expired_by_the_system_clock(self, issuer: Altcha) -> None:
        """A challenge issued more than a TTL ago is expired whatever ``now_ms`` the caller passes."""
        issued_at = now_ms() - 400_000
        payload = solve(issuer.issue(ROOM, VISITOR, now_ms=issued_at))
        result = await issuer.redeem(payload, ROOM, VISITOR, now_ms=issued_at, spent=MemorySpentSet())
        assert Result(Outcome.FAILED, ("expired",)) == result

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            # Rebinding the challenge to the attacker's own visitor or room breaks the signature.
            (lambda d: d["challenge"]["parameters"]["data"].update(v="0" * 32), "bad-signature"),
            (lambda d: d["challenge"]["parameters"]["data"].update(r="elsewhere"), "bad-signature"),
            (lambda d: d["challenge"]["parameters"].update(cost=1), "bad-signature"),
            (
                lambda d: d["challenge"]["parameters"].update(expiresAt=d["challenge"]["parameters"]["expiresAt"] + 9),
                "bad-signature",
            ),
            (lambda d: d["challenge"]["parameters"].pop("keySignature"), "bad-signature"),
            (lambda d: d["challenge"].pop("signature"), "bad-signature"),
            (lambda d: d["solution"].update(derivedKey="00" * 32), "wrong-solution"),
            # The derived key is the proof (checked against the key signature); one digit off fails.
            (lambda d: d["solution"].update(derivedKey=_flip(d["solution"]["derivedKey"])), "wrong-solution"),
            (lambda d: d["solution"].update(derivedKey="zz"), "wrong-solution"),
        ],
    )
    async def test_tampering_is_a_bot_signal(self, issuer: Altcha, change: Any, reason: str) -> None:
        """Any edit to a signed field or a wrong proof fails, and no honest widget does that."""
        payload = edit(solve(issuer.issue(ROOM, VISITOR, now_ms=now_ms())), change)
        result = await issuer.redeem(payload, ROOM, VISITOR, now_ms=now_ms(), spent=MemorySpentSet())
        assert Result(Outcome.FAILED, (reason,), bot=True) == result

    async def test_a_challenge_signed_by_someone_else_fails(self, issuer: Altcha) -> None:
        """A challenge made with another secret (a client's own) never passes, even correctly solved."""
        forged = Altcha(KeyRing(current_id=1, keys={1: bytes(32)}), difficulty=EASY)
        payload = solve(forged.issue(ROOM, VISITOR, now_ms=now_ms()))
        result = await issuer.redeem(payload, ROOM, VISITOR, now_ms=now_ms(), spent=MemorySpentSet())
        assert Result(Outcome.FAILED, ("bad-signature",), bot=True) == result

    @pytest.mark.parametrize(
        "payload",
        [
            "",
            "not base64!",
            base64.b64encode(b"[1, 2]").decode(),
            base64.b64encode(b'{"challenge": {}, "solution": {}}').decode(),
            base64.b64encode(json.dumps({"x": "y" * MAX_PAYLOAD_CHARS}).encode()).decode(),
        ],
    )
    async def test_garbage_is_malformed(self, issuer: Altcha, payload: str) -> None:
        """Anything that is not a widget payload fails as malformed, a bot signal."""
        result = await issuer.redeem(payload, ROOM, VISITOR, now_ms=now_ms(), spent=MemorySpentSet())
        assert Result(Outcome.FAILED, ("malformed",), bot=True) == result

    async def test_key_rotation(self, issuer: Altcha) -> None:
        """A challenge signed by an older key still in the ring passes; once the key is dropped it does not."""
        payload = solve(issuer.issue(ROOM, VISITOR, now_ms=now_ms()))
        issuer.replace_keys(KeyRing(current_id=2, keys={1: KEYS.keys[1], 2: bytes(range(32, 64))}))
        assert 2 == issuer.issue(ROOM, VISITOR, now_ms=now_ms())["parameters"]["data"]["k"]
        assert issuer.check(payload, ROOM, VISITOR, now_ms=now_ms()).result.passed
        issuer.replace_keys(KeyRing(current_id=2, keys={2: bytes(range(32, 64))}))
        result = await issuer.redeem(payload, ROOM, VISITOR, now_ms=now_ms(), spent=MemorySpentSet())
        assert Result(Outcome.FAILED, ("unknown-key",)) == result
