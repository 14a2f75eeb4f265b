"""The SDK's async client drives the same API: create, paginate with ``async for``, edit, delete."""

from __future__ import annotations

import cloudflare

from tests.sdk.support import ApiServer, unique, unique_host


class TestAsyncClient:
    async def test_room_lifecycle(self, api_server: ApiServer) -> None:
        """AsyncCloudflare creates, lists page by page, edits and deletes a room like the sync client."""
        async with cloudflare.AsyncCloudflare(
            api_token=api_server.write_token, base_url=api_server.base_url, max_retries=0, timeout=30
        ) as client:
            name, host = unique(), unique_host(api_server.zone_name)
            room = await client.waiting_rooms.create(
                zone_id=api_server.zone_id, name=name, host=host, total_active_users=300, new_users_per_minute=200
            )
            assert room is not None and room.id
            seen = [r.id async for r in client.waiting_rooms.list(zone_id=api_server.zone_id, per_page=5)]
            assert room.id in seen and len(seen) == len(set(seen))
            edited = await client.waiting_rooms.edit(
                room.id,
                zone_id=api_server.zone_id,
                name=name,
                host=host,
                total_active_users=300,
                new_users_per_minute=200,
                description="async",
            )
            assert edited is not None and "async" == edited.description
            deleted = await client.waiting_rooms.delete(room.id, zone_id=api_server.zone_id)
            assert deleted is not None and room.id == deleted.id
            try:
                await client.waiting_rooms.get(room.id, zone_id=api_server.zone_id)
            except cloudflare.NotFoundError as exc:
                assert 404 == exc.status_code
            else:
                raise AssertionError("a deleted room was still found")
