"""Zone settings (search_engine_crawler_bypass) and the room status endpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest

from antechamber.api.status import LiveNumbers
from tests.api.support import T0, Api, assert_rejected, iso


class TestZoneSettings:
    async def test_default_is_off(self, api: Api) -> None:
        """A new zone does not bypass crawlers."""
        response = await api.client.get(f"/zones/{api.zone_id}/waiting_rooms/settings")
        assert response.json()["result"] == {"search_engine_crawler_bypass": False}

    async def test_put_patch_get(self, api: Api) -> None:
        """PUT sets, PATCH {} keeps, PUT {} resets to the default."""
        url = f"/zones/{api.zone_id}/waiting_rooms/settings"
        assert (await api.client.put(url, json={"search_engine_crawler_bypass": True})).json()["result"] == {
            "search_engine_crawler_bypass": True
        }
        assert (await api.client.patch(url, json={})).json()["result"]["search_engine_crawler_bypass"] is True
        assert (await api.client.get(url)).json()["result"]["search_engine_crawler_bypass"] is True
        assert (await api.client.put(url, json={})).json()["result"]["search_engine_crawler_bypass"] is False

    async def test_wrong_type(self, api: Api) -> None:
        """A non-boolean is rejected and changes nothing."""
        url = f"/zones/{api.zone_id}/waiting_rooms/settings"
        await assert_rejected(api, "PATCH", url, {"search_engine_crawler_bypass": "yes"}, 400, 1002, "boolean")

    async def test_unknown_zone(self, api: Api) -> None:
        """Settings of an unknown zone give 404."""
        assert (await api.client.get(f"/zones/{'9' * 32}/waiting_rooms/settings")).status_code == 404


def hours(count: float) -> str:
    """T0 plus some hours, as the API writes times."""
    return iso(T0 + timedelta(hours=count))


class TestStatus:
    @pytest.fixture
    async def room_id(self, api: Api) -> str:
        """A room to ask about."""
        return str((await api.create_room())["id"])

    async def status(self, api: Api, room_id: str) -> dict[str, object]:
        """The room's status result."""
        response = await api.client.get(api.room_url(room_id, "/status"))
        assert response.status_code == 200, response.text
        result: dict[str, object] = response.json()["result"]
        return result

    async def test_idle_room(self, api: Api, room_id: str) -> None:
        """With nobody waiting and no event the room is not_queueing with zero estimates."""
        assert await self.status(api, room_id) == {
            "status": "not_queueing",
            "event_id": "",
            "estimated_queued_users": 0,
            "estimated_total_active_users": 0,
            "max_estimated_time_minutes": 0,
            "state_store": None,  # Antechamber's addition; no state is attached here
        }

    async def test_queueing_reports_live_numbers(self, api: Api, room_id: str) -> None:
        """Queued users make the room queueing; the live numbers are passed through."""
        api.status.numbers[room_id] = LiveNumbers(queued_users=42, active_users=300, max_wait_minutes=7)
        got = await self.status(api, room_id)
        assert (got["status"], got["estimated_queued_users"]) == ("queueing", 42)
        assert (got["estimated_total_active_users"], got["max_estimated_time_minutes"]) == (300, 7)

    async def test_prequeueing_event(self, api: Api, room_id: str) -> None:
        """Inside an event's prequeue window the room is event_prequeueing, naming the event."""
        event = await api.create_event(
            room_id, prequeue_start_time=hours(-1), event_start_time=hours(1), event_end_time=hours(2)
        )
        got = await self.status(api, room_id)
        assert (got["status"], got["event_id"]) == ("event_prequeueing", event["id"])

    async def test_running_event(self, api: Api, room_id: str) -> None:
        """After the event starts, the status follows the queue again but still names the event."""
        event = await api.create_event(room_id, event_start_time=hours(-1), event_end_time=hours(1))
        got = await self.status(api, room_id)
        assert (got["status"], got["event_id"]) == ("not_queueing", event["id"])

    async def test_suspended_room(self, api: Api, room_id: str) -> None:
        """A suspended room says suspended, and no event is in force."""
        await api.create_event(
            room_id, prequeue_start_time=hours(-1), event_start_time=hours(1), event_end_time=hours(2)
        )
        await api.client.patch(api.room_url(room_id), json={"suspended": True})
        api.status.numbers[room_id] = LiveNumbers(5, 5, 5)
        got = await self.status(api, room_id)
        assert (got["status"], got["event_id"]) == ("suspended", "")

    async def test_suspended_event_is_ignored(self, api: Api, room_id: str) -> None:
        """A suspended event never puts the room in prequeue."""
        await api.create_event(
            room_id, suspended=True, prequeue_start_time=hours(-1), event_start_time=hours(1), event_end_time=hours(2)
        )
        assert (await self.status(api, room_id))["status"] == "not_queueing"

    async def test_unknown_room(self, api: Api) -> None:
        """The status of an unknown room is a 404."""
        assert (await api.client.get(api.room_url("8" * 32, "/status"))).status_code == 404
