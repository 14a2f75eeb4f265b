"""Zone-level waiting room settings: get, update (PUT) and edit (PATCH) of search_engine_crawler_bypass."""

from __future__ import annotations

import cloudflare

from tests.sdk.support import ApiServer, assert_cloudflare_error, raises


def bypass(cf: cloudflare.Cloudflare, zone_id: str) -> bool:
    """The zone's current search_engine_crawler_bypass."""
    settings = cf.waiting_rooms.settings.get(zone_id=zone_id)
    assert settings is not None
    return settings.search_engine_crawler_bypass


class TestSettings:
    def test_lifecycle(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Defaults to false; PUT and PATCH set it; PATCH without it keeps it; PUT without it resets it."""
        zone = api_server.settings_zone_id
        assert bypass(cf, zone) is False

        updated = cf.waiting_rooms.settings.update(zone_id=zone, search_engine_crawler_bypass=True)
        assert updated is not None and updated.search_engine_crawler_bypass is True
        assert bypass(cf, zone) is True

        kept = cf.waiting_rooms.settings.edit(zone_id=zone)
        assert kept is not None and kept.search_engine_crawler_bypass is True

        edited = cf.waiting_rooms.settings.edit(zone_id=zone, search_engine_crawler_bypass=False)
        assert edited is not None and edited.search_engine_crawler_bypass is False
        assert bypass(cf, zone) is False

        cf.waiting_rooms.settings.update(zone_id=zone, search_engine_crawler_bypass=True)
        reset = cf.waiting_rooms.settings.update(zone_id=zone)
        assert reset is not None and reset.search_engine_crawler_bypass is False
        assert bypass(cf, zone) is False

    def test_per_zone(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Settings belong to one zone: changing the settings zone leaves the other zone at the default."""
        cf.waiting_rooms.settings.edit(zone_id=api_server.settings_zone_id, search_engine_crawler_bypass=True)
        try:
            assert bypass(cf, api_server.other_zone_id) is False
        finally:
            cf.waiting_rooms.settings.edit(zone_id=api_server.settings_zone_id, search_engine_crawler_bypass=False)

    def test_wrong_type(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A non-boolean value is a 400 and leaves the setting as it was."""
        zone = api_server.settings_zone_id
        before = bypass(cf, zone)
        error = raises(
            cloudflare.BadRequestError,
            lambda: cf.waiting_rooms.settings.update(
                zone_id=zone,
                search_engine_crawler_bypass="yes please",  # type: ignore[arg-type]
            ),
        )
        assert_cloudflare_error(error, 400)
        assert before == bypass(cf, zone)
