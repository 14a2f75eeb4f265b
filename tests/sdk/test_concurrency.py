"""Writes racing each other: the store's rules hold and no request ends in a server error."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import cloudflare

from tests.sdk.support import ApiServer, iso, new_room, now, unique, unique_host

RACERS = 8


def race(calls: list[Callable[[], object]]) -> tuple[int, list[int]]:
    """Run the calls at once; return how many succeeded and the HTTP statuses of the failures."""
    start = threading.Barrier(len(calls))

    def attempt(call: Callable[[], object]) -> int:
        start.wait(timeout=30)  # every thread is ready: release them together
        try:
            call()
        except cloudflare.APIStatusError as exc:
            return exc.status_code
        return 200

    with ThreadPoolExecutor(len(calls)) as pool:
        outcomes = list(pool.map(attempt, calls))
    failures = [status for status in outcomes if status != 200]
    return len(outcomes) - len(failures), failures


def warm_clients(api_server: ApiServer) -> list[cloudflare.Cloudflare]:
    """One client per racer, each with its connection already open so the race starts at once."""
    clients = [api_server.client() for _ in range(RACERS)]
    for client in clients:
        client.waiting_rooms.settings.get(zone_id=api_server.zone_id)
    return clients


class TestRaces:
    def test_same_route(self, api_server: ApiServer) -> None:
        """Of several rooms created at once on one host+path exactly one wins; the others get 400."""
        host = unique_host(api_server.zone_name)
        clients = warm_clients(api_server)
        try:
            calls: list[Callable[[], object]] = [
                lambda client=client: new_room(client, api_server.zone_id, host=host, path="/race")  # type: ignore[misc]
                for client in clients
            ]
            won, failures = race(calls)
            assert 1 == won
            assert [400] * (RACERS - 1) == failures
            rooms = [r for r in clients[0].waiting_rooms.list(zone_id=api_server.zone_id, per_page=1000)]
            assert 1 == sum(1 for r in rooms if r.host == host and r.path == "/race")
        finally:
            for client in clients:
                client.close()

    def test_overlapping_events(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Of several events created at once in the same window exactly one is stored; the others get 400."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        start = now() + timedelta(hours=3)
        clients = warm_clients(api_server)
        try:
            calls: list[Callable[[], object]] = [
                lambda client=client: client.waiting_rooms.events.create(  # type: ignore[misc]
                    rid,
                    zone_id=api_server.zone_id,
                    name=unique("event"),
                    event_start_time=iso(start),
                    event_end_time=iso(start + timedelta(hours=1)),
                )
                for client in clients
            ]
            won, failures = race(calls)
            assert [400] * (RACERS - 1) == failures
            assert 1 == won
            assert 1 == len(list(cf.waiting_rooms.events.list(rid, zone_id=api_server.zone_id)))
        finally:
            for client in clients:
                client.close()

    def test_event_limit(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Events created at once in separate windows never push a room past five events."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        base = now() + timedelta(hours=3)
        clients = warm_clients(api_server)
        try:
            calls: list[Callable[[], object]] = [
                lambda client=client, i=i: client.waiting_rooms.events.create(  # type: ignore[misc]
                    rid,
                    zone_id=api_server.zone_id,
                    name=unique("event"),
                    event_start_time=iso(base + timedelta(hours=2 * i)),
                    event_end_time=iso(base + timedelta(hours=2 * i + 1)),
                )
                for i, client in enumerate(clients)
            ]
            won, failures = race(calls)
            assert 5 == won
            assert [400] * (RACERS - 5) == failures
            assert 5 == len(list(cf.waiting_rooms.events.list(rid, zone_id=api_server.zone_id, per_page=5)))
        finally:
            for client in clients:
                client.close()

    def test_rule_appends(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Rules appended at once all land, each exactly once."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        clients = warm_clients(api_server)
        try:
            calls: list[Callable[[], object]] = [
                lambda client=client, i=i: client.waiting_rooms.rules.create(  # type: ignore[misc]
                    rid,
                    zone_id=api_server.zone_id,
                    rules={"action": "bypass_waiting_room", "expression": f"ip.src eq 10.0.0.{i}"},
                )
                for i, client in enumerate(clients)
            ]
            won, failures = race(calls)
            assert (RACERS, []) == (won, failures)
            expressions = [r.expression for r in cf.waiting_rooms.rules.get(rid, zone_id=api_server.zone_id).result]
            assert sorted(f"ip.src eq 10.0.0.{i}" for i in range(RACERS)) == sorted(expressions)  # type: ignore[type-var]
        finally:
            for client in clients:
                client.close()

    def test_same_name(self, api_server: ApiServer) -> None:
        """Of several rooms created at once with one name exactly one wins."""
        name = unique()
        clients = warm_clients(api_server)
        try:
            calls: list[Callable[[], object]] = [
                lambda client=client: new_room(client, api_server.zone_id, name=name)  # type: ignore[misc]
                for client in clients
            ]
            won, failures = race(calls)
            assert (1, [400] * (RACERS - 1)) == (won, failures)
        finally:
            for client in clients:
                client.close()
