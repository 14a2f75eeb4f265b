"""The middleware's options: a room in code or TOML checked as the API checks it, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from antechamber.middleware import Options, OptionsError
from antechamber.middleware.options import room_id

ROOM = {"host": "shop.example.com", "total_active_users": 50, "new_users_per_minute": 20}


def test_a_toml_file_gives_the_room_and_keywords_override_it(tmp_path: Path) -> None:
    """The [room] table and top-level options are read; a keyword wins over the file."""
    config = tmp_path / "antechamber.toml"
    config.write_text('state = "memory"\ndata_dir = "keys"\n[room]\nhost = "shop.example.com"\n'
                      "total_active_users = 50\nnew_users_per_minute = 20\n")  # fmt: skip
    options = Options.of(config, data_dir=str(tmp_path / "other"))
    assert options.room == ROOM and options.data_dir == tmp_path / "other"
    [entry] = options.room_config().rooms.values()
    assert entry.room.total_active_users == 50 and entry.routes == (("shop.example.com", "/"),)


def test_a_room_in_code_may_go_below_the_apis_minimum() -> None:
    """min_user_limit defaults to 1 for a room given in code (the API's own minimum is 200)."""
    body = Options.of(room={**ROOM, "total_active_users": 5, "new_users_per_minute": 5}).room_body()
    assert body["total_active_users"] == 5 and body["name"] == "in_code_room"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "either a room"),
        ({"room": ROOM, "database": "sqlite:///x.db"}, "either a room"),
        ({"room": ROOM, "colour": "blue"}, "unknown waiting room option(s): colour"),
        ({"room": {**ROOM, "new_users_per_minute": 80}}, "new_users_per_minute"),
        ({"room": {"total_active_users": 50, "new_users_per_minute": 20}}, "host"),
        ({"room": ROOM, "state": "mongodb://nope"}, "state"),
    ],
)
def test_options_that_cannot_work_are_refused_with_the_reason(given: dict[str, object], message: str) -> None:
    """Neither or both sources, an unknown option, an invalid room, a bad state URL: refused before serving."""
    with pytest.raises(OptionsError) as refused:
        Options.of(**given)  # type: ignore[arg-type]
    assert message in str(refused.value)


def test_a_room_in_code_has_the_same_id_in_every_worker() -> None:
    """The id comes from the room's routes and name, so workers (and restarts) share its counters."""
    assert room_id({**ROOM, "name": "a"}) == room_id({**ROOM, "name": "a"})
    assert room_id({**ROOM, "name": "a"}) != room_id({**ROOM, "name": "a", "path": "/checkout"})


def test_an_unreadable_file_is_refused_with_its_name(tmp_path: Path) -> None:
    """A missing or malformed TOML file names itself in the error."""
    with pytest.raises(OptionsError, match="antechamber.toml"):
        Options.of(tmp_path / "antechamber.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[room\n")
    with pytest.raises(OptionsError, match="broken.toml"):
        Options.of(broken)


def test_the_asgi_middleware_takes_its_app_by_position_or_by_keyword() -> None:
    """WaitingRoom(app, ...) as Starlette builds it, WaitingRoom(app=...) as Litestar's DefineMiddleware does."""
    from antechamber.middleware import WaitingRoom

    async def app(scope: object, receive: object, send: object) -> None: ...

    assert WaitingRoom(app, room=ROOM).app is app
    assert WaitingRoom(app=app, room=ROOM).app is app
    with pytest.raises(TypeError, match="needs the ASGI app"):
        WaitingRoom(room=ROOM)
