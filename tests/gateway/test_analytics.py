"""The gateway's analytics recorder as the admission code feeds it: renewals give the time on origin."""

from __future__ import annotations

from antechamber.core.analytics import MINUTE_MS
from antechamber.core.cookie import CookieCodec
from antechamber.gateway.admission import Admission
from antechamber.gateway.analytics import AnalyticsRecorder
from antechamber.gateway.config import GatewayConfig, StaticConfig, entry_from_stored
from antechamber.gateway.request import Visitor
from antechamber.state.memory import MemoryState
from tests.gateway.harness import HOST, KEYRING, T0_MS, Clock, room_body


class TestTimeOnOrigin:
    def test_renewals_count_the_time_since_admission_and_ordinary_requests_nothing(self) -> None:
        """A renewal 30 s after admission accrues 30 s, the next one 20 s later 20 s; requests in between count none."""
        clock = Clock()
        entry = entry_from_stored("r", "z", room_body())
        admission = Admission(StaticConfig(GatewayConfig([entry])), MemoryState(), CookieCodec(KEYRING), clock=clock)
        recorder = admission.analytics = AnalyticsRecorder()
        cookie: str | None = None

        def visit() -> None:
            nonlocal cookie
            headers = [(b"cookie", f"{entry.cookie_name}={cookie}".encode())] if cookie else []
            verdict = admission.check(entry, Visitor(HOST, "/", b"", headers, "http", "203.0.113.9", "203.0.113.9"))
            if verdict.set_cookies:
                cookie = verdict.set_cookies[0].decode().split(";")[0].split("=", 1)[1]

        visit()  # let in at T0
        clock.advance(2)
        visit()  # within the renewal step: an ordinary request
        clock.advance(28)
        visit()  # renewal: 30 s since admission
        clock.advance(20)
        visit()  # renewal: 20 s since the last one
        minute = recorder.minutes[("r", T0_MS // MINUTE_MS)]
        assert (1, 2, 50_000, 50_000) == (minute.admitted, minute.renewals, minute.origin_ms, minute.origin_longest_ms)
