"""Page preview: upload a template, then view it in the states Cloudflare's query parameters name."""

from __future__ import annotations

import pytest

from tests.api.support import Api, assert_rejected, errors_of

TEMPLATE = (
    "known={{waitTimeKnown}} wait={{waitTime}} fmt={{waitTimeFormatted}} h={{waitTimeHours}} m={{waitTimeHourMinutes}} "
    "full={{queueIsFull}} all={{queueAll}} fifo={{isFIFOQueue}} random={{isRandomQueue}} "
    "pass={{isPassthroughQueue}} reject={{isRejectQueue}} active={{isEventActive}} pre={{isEventPrequeueing}} "
    "shuffle={{shuffleAtEventStart}} refresh={{refreshIntervalSeconds}} "
    "nested={{#cfWaitingRoom}}{{queueingMethod}}{{/cfWaitingRoom}} raw={{{turnstile}}}"
)


@pytest.fixture
async def preview_url(api: Api) -> str:
    """The URL of an uploaded preview of TEMPLATE."""
    response = await api.client.post(f"/zones/{api.zone_id}/waiting_rooms/preview", json={"custom_html": TEMPLATE})
    assert response.status_code == 200, response.text
    url: str = response.json()["result"]["preview_url"]
    return url


async def page(api: Api, url: str, **query: str) -> str:
    """The rendered preview."""
    response = await api.client.get(url, params=query)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    return response.text


async def test_preview_url_is_served_by_antechamber(api: Api, preview_url: str) -> None:
    """The preview URL points at this server's /preview/<uuid>, outside /client/v4."""
    assert preview_url.startswith("http://api.test/preview/")


async def test_defaults(api: Api, preview_url: str) -> None:
    """With no parameters: FIFO, a known 10-minute wait, no event."""
    text = await page(api, preview_url)
    assert "known=true wait=10 fmt=10 minutes h=0 m=10" in text
    assert "fifo=true random=false" in text
    assert "active=false pre=false" in text
    assert "refresh=20 nested=fifo" in text


async def test_wait_time_and_hours(api: Api, preview_url: str) -> None:
    """waitTime sets the wait; hours and remaining minutes are split out; wording is Cloudflare's."""
    text = await page(api, preview_url, waitTime="75")
    assert "wait=75 fmt=More than 1 hour h=1 m=15" in text


async def test_force_queue_hides_the_wait(api: Api, preview_url: str) -> None:
    """force_queue means queueAll, and the wait time is unknown."""
    text = await page(api, preview_url, force_queue="true", queue_is_full="true")
    assert "known=false" in text and "fmt=unavailable" in text
    assert "full=true all=true" in text


async def test_random_shows_a_range(api: Api, preview_url: str) -> None:
    """A random queue formats the wait as a range."""
    text = await page(api, preview_url, queueing_method="random", waitTime="20")
    assert "fmt=10 minutes to 30 minutes" in text and "random=true" in text


async def test_reject_has_no_refresh(api: Api, preview_url: str) -> None:
    """A reject queue has a zero refresh interval."""
    text = await page(api, preview_url, queueing_method="reject")
    assert "reject=true" in text and "refresh=0" in text


async def test_passthrough_shows_the_origin(api: Api, preview_url: str) -> None:
    """Passthrough shows a stand-in origin page reading Welcome."""
    text = await page(api, preview_url, queueing_method="passthrough")
    assert "Welcome" in text and "known=" not in text


@pytest.mark.parametrize("query", [{"force_queue": "true"}, {"event": "prequeueing"}])
async def test_passthrough_queues_when_forced_or_prequeueing(api: Api, preview_url: str, query: dict[str, str]) -> None:
    """Passthrough still shows the queue page under force_queue or an event prequeue."""
    text = await page(api, preview_url, queueing_method="passthrough", **query)
    assert "pass=true" in text


async def test_events(api: Api, preview_url: str) -> None:
    """event=prequeueing and event=started set the event flags; shuffle only counts with an event."""
    assert "active=true pre=true shuffle=true" in await page(
        api, preview_url, event="prequeueing", shuffle_at_event_start="true"
    )
    assert "active=true pre=false" in await page(api, preview_url, event="started")
    assert "shuffle=false" in await page(api, preview_url, shuffle_at_event_start="true")


async def test_unknown_preview_is_404(api: Api) -> None:
    """An unknown preview id is a 404."""
    response = await api.client.get("http://api.test/preview/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert errors_of(response)[0]["code"] == 1005


async def test_custom_html_is_required(api: Api) -> None:
    """A preview without custom_html is rejected."""
    await assert_rejected(api, "POST", f"/zones/{api.zone_id}/waiting_rooms/preview", {}, 400, 1003, "custom_html")


async def test_invalid_template_is_rejected(api: Api) -> None:
    """A template that is not valid Mustache is rejected at upload."""
    body = {"custom_html": "{{/stray}}"}
    await assert_rejected(api, "POST", f"/zones/{api.zone_id}/waiting_rooms/preview", body, 400, 1002, "Mustache")


async def test_preview_has_the_visitors_context(api: Api) -> None:
    """A preview renders with the gateway's full context: localized strings and page sentences too."""
    response = await api.client.post(
        f"/zones/{api.zone_id}/waiting_rooms/preview", json={"custom_html": "[{{t.title}}|{{page.lang}}|{{page.dir}}]"}
    )
    text = await page(api, response.json()["result"]["preview_url"])
    assert "[Waiting room|en-US|ltr]" == text
