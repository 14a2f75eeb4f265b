"""Page preview: POST a template, then GET the public preview URL with Cloudflare's query parameters."""

from __future__ import annotations

import cloudflare
import httpx
import pytest

from tests.sdk.support import ApiServer

TEMPLATE = """<!DOCTYPE html>
<html><head><title>Queue</title></head><body>
<p id="wait">[{{waitTime}}]</p>
{{#waitTimeKnown}}<p>KNOWN</p>{{/waitTimeKnown}}{{^waitTimeKnown}}<p>UNKNOWN</p>{{/waitTimeKnown}}
{{#queueIsFull}}<p>FULL</p>{{/queueIsFull}}
{{#queueAll}}<p>QUEUEALL</p>{{/queueAll}}
{{#isEventActive}}<p>EVENTACTIVE</p>{{/isEventActive}}
{{#isEventPrequeueing}}<p>PREQUEUEING</p>{{/isEventPrequeueing}}
{{#isFIFOQueue}}<p>FIFO</p>{{/isFIFOQueue}}
{{#isRandomQueue}}<p>RANDOM</p>{{/isRandomQueue}}
{{#isRejectQueue}}<p>REJECT</p>{{/isRejectQueue}}
{{#shuffleAtEventStart}}<p>SHUFFLE</p>{{/shuffleAtEventStart}}
</body></html>"""


@pytest.fixture(scope="module")
def preview_url(api_server: ApiServer) -> str:
    """The preview URL of ``TEMPLATE`` on this server."""
    with api_server.client() as client:
        result = client.waiting_rooms.page.preview(zone_id=api_server.zone_id, custom_html=TEMPLATE)
    assert result is not None and result.preview_url
    return result.preview_url


def render(url: str, **params: str) -> str:
    """GET the preview with plain httpx and no credentials; return the HTML."""
    response = httpx.get(url, params=params, timeout=30)
    assert 200 == response.status_code, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


class TestPreview:
    def test_url_is_absolute_and_public(self, preview_url: str) -> None:
        """The preview URL is an absolute http(s) URL that renders without any credentials."""
        assert preview_url.startswith(("http://", "https://"))
        assert "<title>Queue</title>" in render(preview_url)

    def test_default_render(self, preview_url: str) -> None:
        """Without parameters the page is a FIFO queue with a known 10-minute wait and no event."""
        html = render(preview_url)
        assert '<p id="wait">[10]</p>' in html
        for shown in ("KNOWN", "FIFO"):
            assert f"<p>{shown}</p>" in html
        for hidden in ("UNKNOWN", "FULL", "QUEUEALL", "EVENTACTIVE", "PREQUEUEING", "RANDOM", "SHUFFLE"):
            assert f"<p>{hidden}</p>" not in html

    def test_wait_time(self, preview_url: str) -> None:
        """waitTime=25 renders 25 wherever the template says {{waitTime}}."""
        assert '<p id="wait">[25]</p>' in render(preview_url, waitTime="25")

    def test_queue_is_full(self, preview_url: str) -> None:
        """queue_is_full=true sets {{queueIsFull}}."""
        assert "<p>FULL</p>" in render(preview_url, queue_is_full="true")

    def test_force_queue(self, preview_url: str) -> None:
        """force_queue=true sets {{queueAll}} and makes the wait time unknown."""
        html = render(preview_url, force_queue="true")
        assert "<p>QUEUEALL</p>" in html and "<p>UNKNOWN</p>" in html

    def test_event_prequeueing(self, preview_url: str) -> None:
        """event=prequeueing renders an active, prequeueing event."""
        html = render(preview_url, event="prequeueing")
        assert "<p>EVENTACTIVE</p>" in html and "<p>PREQUEUEING</p>" in html

    def test_event_started(self, preview_url: str) -> None:
        """event=started renders an active event that is not prequeueing."""
        html = render(preview_url, event="started")
        assert "<p>EVENTACTIVE</p>" in html and "<p>PREQUEUEING</p>" not in html

    def test_shuffle_needs_event(self, preview_url: str) -> None:
        """shuffle_at_event_start shows only while an event is set, not with event=none."""
        assert "<p>SHUFFLE</p>" in render(preview_url, event="started", shuffle_at_event_start="true")
        assert "<p>SHUFFLE</p>" not in render(preview_url, shuffle_at_event_start="true")

    def test_random_method(self, preview_url: str) -> None:
        """queueing_method=random renders a random queue instead of FIFO."""
        html = render(preview_url, queueing_method="random")
        assert "<p>RANDOM</p>" in html and "<p>FIFO</p>" not in html

    def test_reject_method(self, preview_url: str) -> None:
        """queueing_method=reject renders the template as a reject queue."""
        html = render(preview_url, queueing_method="reject")
        assert "<p>REJECT</p>" in html and "<p>FIFO</p>" not in html

    def test_passthrough_shows_origin(self, preview_url: str) -> None:
        """queueing_method=passthrough shows the fake origin page reading Welcome, not the template."""
        html = render(preview_url, queueing_method="passthrough")
        assert "Welcome" in html
        assert '<p id="wait">' not in html

    @pytest.mark.parametrize("extra", [{"force_queue": "true"}, {"event": "prequeueing"}])
    def test_passthrough_still_queues(self, preview_url: str, extra: dict[str, str]) -> None:
        """With passthrough, force_queue=true or event=prequeueing still renders the queue template."""
        html = render(preview_url, queueing_method="passthrough", **extra)
        assert '<p id="wait">' in html

    def test_each_preview_is_its_own(self, api_server: ApiServer, preview_url: str) -> None:
        """A second preview gets a different URL that renders the second template."""
        with api_server.client() as client:
            other = client.waiting_rooms.page.preview(zone_id=api_server.zone_id, custom_html="<b>{{waitTime}} min</b>")
        assert other is not None and other.preview_url and other.preview_url != preview_url
        assert "<b>7 min</b>" in render(other.preview_url, waitTime="7")
        assert "<title>Queue</title>" in render(preview_url)

    def test_raw_envelope(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """The preview response is Cloudflare's envelope with result.preview_url."""
        raw = cf.waiting_rooms.page.with_raw_response.preview(zone_id=api_server.zone_id, custom_html="<p>x</p>")
        body = raw.http_response.json()
        assert body["success"] is True and isinstance(body["result"]["preview_url"], str)

    def test_broken_template_never_500(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A template that is not valid Mustache is refused with a 400, or its preview answers without a 5xx."""
        try:
            result = cf.waiting_rooms.page.preview(
                zone_id=api_server.zone_id, custom_html="<p>{{#open}}never closed</p>"
            )
        except cloudflare.BadRequestError as exc:
            assert 400 == exc.status_code
            return
        assert result is not None and result.preview_url
        response = httpx.get(result.preview_url, timeout=30)
        assert response.status_code < 500, f"preview of a broken template answered {response.status_code}"
