"""The gateway's own pages: the rendered queue page cache."""

from __future__ import annotations

from dataclasses import replace

from antechamber.core.info import QueueInfo
from antechamber.core.types import RoomConfig
from antechamber.gateway.pages import PageCache, queue_reply
from antechamber.templates.page import render_queue_page

T0_MS = 1_780_315_200_000


def _config(**overrides: object) -> RoomConfig:
    base = RoomConfig(room_id="room-a", total_active_users=200, new_users_per_minute=200, session_duration=5)
    return replace(base, **overrides)  # type: ignore[arg-type]


def _info(**overrides: object) -> QueueInfo:
    base = QueueInfo(
        wait_time_known=True,
        wait_time=5,
        wait_time_25_percentile=0,
        wait_time_50_percentile=5,
        wait_time_75_percentile=0,
        wait_time_formatted="5 minutes",
        queue_is_full=False,
        queue_all=False,
        last_updated_ms=T0_MS + 120,
        refresh_interval_seconds=20,
        queueing_method="fifo",
        is_event_active=False,
        is_event_prequeueing=False,
        time_until_event_start=0,
        time_until_event_start_formatted="unavailable",
        time_until_event_end=0,
        time_until_event_end_formatted="unavailable",
        shuffle_at_event_start=False,
        infinite_queue=False,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


class TestPageCache:
    def test_same_state_same_second_is_rendered_once(self) -> None:
        """Visitors in the same state within one second share one rendered page."""
        cache, config = PageCache(), _config()
        first = cache.page(config, _info(), "en-US", "")
        again = cache.page(config, _info(last_updated_ms=T0_MS + 870, estimated_wait_ms=123), "en-US", "")
        assert first is again

    def test_cached_page_equals_a_fresh_render(self) -> None:
        """The cached bytes are exactly what rendering the fields gives."""
        info = _info()
        expected = render_queue_page(info.to_json_dict(), language="de-DE").encode()
        assert expected == PageCache().page(_config(), info, "de-DE", "")

    def test_any_shown_difference_renders_again(self) -> None:
        """Another second, wait, language, config or widget gives another page."""
        cache, config = PageCache(), _config()
        base = cache.page(config, _info(), "en-US", "")
        assert base is not cache.page(config, _info(last_updated_ms=T0_MS + 1000), "en-US", "")
        assert base != cache.page(config, _info(wait_time=6, wait_time_formatted="6 minutes"), "en-US", "")
        assert base != cache.page(config, _info(), "fr-FR", "")
        assert base is not cache.page(_config(), _info(), "en-US", "")
        assert b"WIDGET" in cache.page(config, _info(), "en-US", "<i>WIDGET</i>")

    def test_custom_template_naming_last_updated_keeps_milliseconds(self) -> None:
        """A custom page that shows ``lastUpdated`` is keyed to the millisecond."""
        config = _config(custom_page_html="<p>{{lastUpdated}}</p>")
        cache = PageCache()
        first = cache.page(config, _info(), "en-US", "")
        later = cache.page(config, _info(last_updated_ms=T0_MS + 121), "en-US", "")
        assert b".120Z" in first
        assert b".121Z" in later

    def test_bounded(self) -> None:
        """The cache never holds more than its size."""
        cache, config = PageCache(maxsize=3), _config()
        for wait in range(10):
            cache.page(config, _info(wait_time=wait), "en-US", "")
        assert 3 == len(cache._entries)

    def test_replies_do_not_share_header_lists(self) -> None:
        """Each reply gets its own header list (callers append cookies to it)."""
        config = _config()
        one = queue_reply(config, _info(), reject=False, language="en-US", wants_json=False)
        two = queue_reply(config, _info(), reject=False, language="en-US", wants_json=False)
        one.headers.append((b"set-cookie", b"x=1"))
        assert (b"set-cookie", b"x=1") not in two.headers
        assert one.body == two.body
