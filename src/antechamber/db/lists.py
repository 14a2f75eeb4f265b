"""Queries on account-level lists (Cloudflare's Lists API), their items and bulk operations.

Callers change lists only inside :func:`antechamber.api.context.write_transaction`,
which bumps the config revision first, so gateways reload after every change.
Item values arrive checked and canonical (see :mod:`antechamber.api.models.list_values`);
an item's ``value`` is its identity in the list, so storing a value that is already
there updates that item (its id and place stay), as Cloudflare merges such items.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.db import tables
from antechamber.db.ids import format_timestamp, new_id

ListKind = Literal["ip", "redirect", "hostname", "asn"]
KINDS: tuple[ListKind, ...] = ("ip", "redirect", "hostname", "asn")

#: How long a finished bulk operation stays readable (clients poll it right after the change).
OPERATION_RETENTION = timedelta(hours=24)

_lists = tables.lists
_items = tables.list_items
_operations = tables.list_operations


@dataclass(frozen=True, slots=True)
class StoredList:
    """A list's row plus how many items it holds."""

    id: str
    account_id: str
    name: str
    kind: ListKind
    description: str
    created_on: str
    modified_on: str
    num_items: int


@dataclass(frozen=True, slots=True)
class NewItem:
    """An item to store: its identity in the list, its API body (``{kind: value}``) and comment."""

    value: str
    body: dict[str, Any]
    comment: str | None


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item's row; ``seq`` orders the list and is what the items cursor points at."""

    id: str
    list_id: str
    seq: int
    value: str
    body: dict[str, Any]
    comment: str | None
    created_on: str
    modified_on: str


@dataclass(frozen=True, slots=True)
class StoredOperation:
    """A finished bulk operation."""

    id: str
    status: str
    completed: str


def _list_from_row(row: Any, num_items: int) -> StoredList:
    return StoredList(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        kind=row.kind,
        description=row.description,
        created_on=row.created_on,
        modified_on=row.modified_on,
        num_items=num_items,
    )


def _item_from_row(row: Any) -> StoredItem:
    return StoredItem(
        id=row.id,
        list_id=row.list_id,
        seq=int(row.seq),
        value=row.value,
        body=dict(row.body),
        comment=row.comment,
        created_on=row.created_on,
        modified_on=row.modified_on,
    )


def _item_counts() -> Any:
    return select(_items.c.list_id, func.count().label("num_items")).group_by(_items.c.list_id).subquery("item_counts")


async def account_lists(connection: AsyncConnection, account_id: str) -> list[StoredList]:
    """The account's lists, oldest first, with their item counts."""
    counts = _item_counts()
    rows = await connection.execute(
        select(_lists, func.coalesce(counts.c.num_items, 0).label("num_items"))
        .outerjoin(counts, counts.c.list_id == _lists.c.id)
        .where(_lists.c.account_id == account_id)
        .order_by(_lists.c.created_on, _lists.c.id)
    )
    return [_list_from_row(row, int(row.num_items)) for row in rows]


async def list_by_id(connection: AsyncConnection, account_id: str, list_id: str) -> StoredList | None:
    """The account's list with this id, or ``None``."""
    row = (
        await connection.execute(select(_lists).where(_lists.c.id == list_id, _lists.c.account_id == account_id))
    ).first()
    if row is None:
        return None
    return _list_from_row(row, await count_items(connection, list_id))


async def list_name_taken(connection: AsyncConnection, account_id: str, name: str) -> bool:
    """Whether the account already has a list with this name."""
    found = await connection.scalar(select(_lists.c.id).where(_lists.c.account_id == account_id, _lists.c.name == name))
    return found is not None


async def count_lists(connection: AsyncConnection, account_id: str) -> int:
    """How many lists the account has."""
    return int(
        await connection.scalar(select(func.count()).select_from(_lists).where(_lists.c.account_id == account_id)) or 0
    )


async def create_list(
    connection: AsyncConnection, account_id: str, name: str, kind: ListKind, description: str, now: datetime
) -> StoredList:
    """Store a new, empty list."""
    stamp = format_timestamp(now)
    created = StoredList(
        id=new_id(),
        account_id=account_id,
        name=name,
        kind=kind,
        description=description,
        created_on=stamp,
        modified_on=stamp,
        num_items=0,
    )
    await connection.execute(
        insert(_lists).values(
            id=created.id,
            account_id=account_id,
            name=name,
            kind=kind,
            description=description,
            created_on=stamp,
            modified_on=stamp,
        )
    )
    return created


async def set_description(connection: AsyncConnection, list_id: str, description: str, now: datetime) -> None:
    """Change a list's description (name and kind never change)."""
    await connection.execute(
        update(_lists).where(_lists.c.id == list_id).values(description=description, modified_on=format_timestamp(now))
    )


async def delete_list(connection: AsyncConnection, list_id: str) -> None:
    """Delete a list and its items."""
    # Explicit deletes rather than relying on ON DELETE CASCADE being enabled.
    await connection.execute(delete(_items).where(_items.c.list_id == list_id))
    await connection.execute(delete(_lists).where(_lists.c.id == list_id))


async def count_items(connection: AsyncConnection, list_id: str) -> int:
    """How many items the list holds."""
    return int(
        await connection.scalar(select(func.count()).select_from(_items).where(_items.c.list_id == list_id)) or 0
    )


async def add_items(connection: AsyncConnection, list_id: str, items: Sequence[NewItem], now: datetime) -> int:
    """Append ``items``, merging each into the item with the same value if there is one; returns the new count.

    Within ``items`` the last of several with the same value wins, in the place of the first.
    """
    stamp = format_timestamp(now)
    merged = {item.value: item for item in items}
    existing = {
        row.value: row.id
        for row in await connection.execute(select(_items.c.value, _items.c.id).where(_items.c.list_id == list_id))
    }
    changed = [
        {"item_id": existing[value], "new_body": item.body, "new_comment": item.comment}
        for value, item in merged.items()
        if value in existing
    ]
    if changed:
        await connection.execute(
            update(_items)
            .where(_items.c.id == bindparam("item_id"))
            .values(body=bindparam("new_body"), comment=bindparam("new_comment"), modified_on=stamp),
            changed,
        )
    fresh = [item for value, item in merged.items() if value not in existing]
    if fresh:
        last_seq = int(await connection.scalar(select(func.max(_items.c.seq)).where(_items.c.list_id == list_id)) or 0)
        await connection.execute(
            insert(_items),
            [
                {
                    "id": new_id(),
                    "list_id": list_id,
                    "seq": last_seq + offset,
                    "value": item.value,
                    "body": item.body,
                    "comment": item.comment,
                    "created_on": stamp,
                    "modified_on": stamp,
                }
                for offset, item in enumerate(fresh, start=1)
            ],
        )
    await _touch(connection, list_id, stamp)
    return len(existing) + len(fresh)


async def replace_items(connection: AsyncConnection, list_id: str, items: Sequence[NewItem], now: datetime) -> int:
    """Make ``items`` the list's whole content (every item gets a new id); returns the new count."""
    await connection.execute(delete(_items).where(_items.c.list_id == list_id))
    return await add_items(connection, list_id, items, now)


async def item_ids(connection: AsyncConnection, list_id: str) -> set[str]:
    """The ids of every item in the list."""
    return set(await connection.scalars(select(_items.c.id).where(_items.c.list_id == list_id)))


async def delete_items(connection: AsyncConnection, list_id: str, ids: Iterable[str], now: datetime) -> None:
    """Remove the items with these ids from the list."""
    chosen = [{"item_id": item_id} for item_id in set(ids)]
    if chosen:
        await connection.execute(
            delete(_items).where(_items.c.list_id == list_id, _items.c.id == bindparam("item_id")), chosen
        )
    await _touch(connection, list_id, format_timestamp(now))


async def _touch(connection: AsyncConnection, list_id: str, stamp: str) -> None:
    await connection.execute(update(_lists).where(_lists.c.id == list_id).values(modified_on=stamp))


async def items_page(
    connection: AsyncConnection, found: StoredList, after_seq: int, limit: int, search: str | None
) -> list[StoredItem]:
    """Up to ``limit`` items placed after ``after_seq``, in list order, matching ``search`` as Cloudflare does.

    IPs match when they start with ``search``, hostnames and redirects (by source URL)
    when they contain it, ASNs when they equal it; letters match in either case.
    """
    query = select(_items).where(_items.c.list_id == found.id, _items.c.seq > after_seq)
    if search:
        needle = search.lower()
        if found.kind == "asn":
            query = query.where(_items.c.value == needle)
        elif found.kind == "ip":
            query = query.where(_items.c.value.startswith(needle, autoescape=True))
        else:
            query = query.where(func.lower(_items.c.value).contains(needle, autoescape=True))
    rows = await connection.execute(query.order_by(_items.c.seq).limit(limit))
    return [_item_from_row(row) for row in rows]


async def item_by_id(connection: AsyncConnection, list_id: str, item_id: str) -> StoredItem | None:
    """The list's item with this id, or ``None``."""
    row = (await connection.execute(select(_items).where(_items.c.list_id == list_id, _items.c.id == item_id))).first()
    return None if row is None else _item_from_row(row)


async def record_operation(connection: AsyncConnection, account_id: str, now: datetime) -> StoredOperation:
    """Store a bulk operation finished now (and forget the account's operations past retention)."""
    await connection.execute(
        delete(_operations).where(
            _operations.c.account_id == account_id,
            _operations.c.completed < format_timestamp(now - OPERATION_RETENTION),
        )
    )
    operation = StoredOperation(id=new_id(), status="completed", completed=format_timestamp(now))
    await connection.execute(
        insert(_operations).values(
            id=operation.id, account_id=account_id, status=operation.status, completed=operation.completed
        )
    )
    return operation


async def operation_by_id(connection: AsyncConnection, account_id: str, operation_id: str) -> StoredOperation | None:
    """The account's bulk operation with this id, or ``None`` (unknown, or past retention)."""
    row = (
        await connection.execute(
            select(_operations).where(_operations.c.id == operation_id, _operations.c.account_id == account_id)
        )
    ).first()
    return None if row is None else StoredOperation(id=row.id, status=row.status, completed=row.completed)


async def list_kinds(connection: AsyncConnection, account_id: str) -> dict[str, str]:
    """List name -> kind for the account: what a ``$name`` in a rule expression may refer to."""
    rows = await connection.execute(select(_lists.c.name, _lists.c.kind).where(_lists.c.account_id == account_id))
    return {row.name: row.kind for row in rows}


async def all_list_items(connection: AsyncConnection) -> dict[str, dict[str, tuple[str, tuple[str, ...]]]]:
    """Account id -> list name -> (kind, the values a request field is matched against), for every list.

    Values are strings in list order: IP or CIDR text (canonical, IPv6 lowercase),
    the ASN's digits, the hostname (lowercase; a wildcard is ``*.example.com``,
    matching subdomains only, and a wildcard item with ``exclude_exact_hostname:
    false`` adds the bare ``example.com`` too), or a redirect's source URL. Empty
    lists are included, so a reference to one still resolves.
    """
    found: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {}
    names: dict[str, tuple[str, str, str]] = {}
    for list_row in await connection.execute(select(_lists.c.id, _lists.c.account_id, _lists.c.name, _lists.c.kind)):
        names[list_row.id] = (list_row.account_id, list_row.name, list_row.kind)
    values: dict[str, list[str]] = {list_id: [] for list_id in names}
    item_rows = await connection.execute(
        select(_items.c.list_id, _items.c.value, _items.c.body).order_by(_items.c.list_id, _items.c.seq)
    )
    for row in item_rows:
        values[row.list_id].extend(_match_values(names[row.list_id][2], row.value, row.body))
    for list_id, (account_id, name, kind) in names.items():
        found.setdefault(account_id, {})[name] = (kind, tuple(dict.fromkeys(values[list_id])))
    return found


def _match_values(kind: str, value: str, body: dict[str, Any]) -> tuple[str, ...]:
    if kind == "hostname" and value.startswith("*.") and body["hostname"].get("exclude_exact_hostname") is False:
        # "When false, the rule [matches] both the root domain and subdomains."
        return (value, value[2:])
    return (value,)
