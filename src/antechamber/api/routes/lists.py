"""Lists (account level): create, list, get, update (description), delete; their items; bulk operation status.

Cloudflare applies item changes asynchronously and returns an ``operation_id`` to
poll. Antechamber applies them inside the request, all or nothing, so the
operation it returns is already ``completed``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.api.auth import AuthorizedAccount
from antechamber.api.context import ClockDep, DatabaseDep, write_transaction
from antechamber.api.cursors import CursorEnvelope, CursorInfo, CursorParams, Cursors, encode_cursor
from antechamber.api.envelope import ERROR_RESPONSES, Envelope, ListEnvelope
from antechamber.api.errors import conflict, invalid, not_found
from antechamber.api.models.lists import (
    MAX_ITEMS_PER_LIST,
    MAX_LISTS_PER_ACCOUNT,
    BulkOperation,
    CustomList,
    DeletedList,
    ItemDeletion,
    ListInput,
    ListItem,
    ListItemInput,
    ListUpdate,
    OperationRef,
)
from antechamber.db import lists
from antechamber.db.ids import is_id, parse_timestamp
from antechamber.db.list_references import referencing_rule_counts
from antechamber.db.lists import NewItem, StoredItem, StoredList

router = APIRouter(tags=["lists"], responses=ERROR_RESPONSES)
COLLECTION = "/accounts/{account_id}/rules/lists"
OPERATION = COLLECTION + "/bulk_operations/{operation_id}"
LIST = COLLECTION + "/{list_id}"
ITEMS = LIST + "/items"
ITEM = ITEMS + "/{item_id}"

Search = Annotated[
    str | None,
    Query(
        max_length=253,
        description="IPs that start with it, hostnames and redirect source URLs that contain it, the ASN equal to it.",
    ),
]


def list_result(found: StoredList, references: dict[str, int]) -> CustomList:
    """The API shape of a stored list."""
    return CustomList(
        id=found.id,
        name=found.name,
        description=found.description,
        kind=found.kind,
        num_items=found.num_items,
        num_referencing_filters=references.get(found.name, 0),
        created_on=parse_timestamp(found.created_on),
        modified_on=parse_timestamp(found.modified_on),
    )


def item_result(item: StoredItem) -> ListItem:
    """The API shape of a stored item."""
    return ListItem.model_validate(
        {
            **item.body,
            "id": item.id,
            "comment": item.comment,
            "created_on": parse_timestamp(item.created_on),
            "modified_on": parse_timestamp(item.modified_on),
        }
    )


async def load_list(connection: AsyncConnection, account_id: str, list_id: str) -> StoredList:
    """The account's list with this id; 404 if there is none."""
    found = await lists.list_by_id(connection, account_id, list_id) if is_id(list_id) else None
    if found is None:
        raise not_found("list")
    return found


@router.get(OPERATION, response_model=Envelope[BulkOperation])
async def get_bulk_operation(
    account_id: AuthorizedAccount, operation_id: str, db: DatabaseDep
) -> Envelope[BulkOperation]:
    """The status of an item change (kept for 24 hours)."""
    async with db.connect() as connection:
        operation = await lists.operation_by_id(connection, account_id, operation_id) if is_id(operation_id) else None
    if operation is None:
        raise not_found("bulk operation")
    return Envelope(
        result=BulkOperation(id=operation.id, status="completed", completed=parse_timestamp(operation.completed))
    )


@router.get(COLLECTION, response_model=ListEnvelope[CustomList])
async def list_lists(account_id: AuthorizedAccount, db: DatabaseDep) -> ListEnvelope[CustomList]:
    """Every list of the account, oldest first."""
    async with db.connect() as connection:
        found = await lists.account_lists(connection, account_id)
        references = await referencing_rule_counts(connection, account_id)
    return ListEnvelope(result=[list_result(one, references) for one in found])


@router.post(COLLECTION, response_model=Envelope[CustomList])
async def create_list(
    account_id: AuthorizedAccount, body: ListInput, db: DatabaseDep, clock: ClockDep
) -> Envelope[CustomList]:
    """Create an empty list; its name must be new in the account."""
    async with write_transaction(db) as connection:
        if await lists.list_name_taken(connection, account_id, body.name):
            raise conflict(f"name: a list named {body.name!r} already exists in this account")
        if await lists.count_lists(connection, account_id) >= MAX_LISTS_PER_ACCOUNT:
            raise conflict(f"an account may have at most {MAX_LISTS_PER_ACCOUNT} lists")
        created = await lists.create_list(connection, account_id, body.name, body.kind, body.description, clock())
    return Envelope(result=list_result(created, {}))


@router.get(LIST, response_model=Envelope[CustomList])
async def get_list(account_id: AuthorizedAccount, list_id: str, db: DatabaseDep) -> Envelope[CustomList]:
    """Fetch one list."""
    async with db.connect() as connection:
        found = await load_list(connection, account_id, list_id)
        references = await referencing_rule_counts(connection, account_id)
    return Envelope(result=list_result(found, references))


@router.put(LIST, response_model=Envelope[CustomList])
async def update_list(
    account_id: AuthorizedAccount, list_id: str, body: ListUpdate, db: DatabaseDep, clock: ClockDep
) -> Envelope[CustomList]:
    """Replace the list's description (name and kind cannot change)."""
    async with write_transaction(db) as connection:
        found = await load_list(connection, account_id, list_id)
        await lists.set_description(connection, found.id, body.description, clock())
        updated = await load_list(connection, account_id, found.id)
        references = await referencing_rule_counts(connection, account_id)
    return Envelope(result=list_result(updated, references))


@router.delete(LIST, response_model=Envelope[DeletedList])
async def delete_list(account_id: AuthorizedAccount, list_id: str, db: DatabaseDep) -> Envelope[DeletedList]:
    """Delete a list and its items, unless a bypass rule still refers to it."""
    async with write_transaction(db) as connection:
        found = await load_list(connection, account_id, list_id)
        references = (await referencing_rule_counts(connection, account_id)).get(found.name, 0)
        if references:
            raise conflict(
                f"list {found.name!r} is referenced by {references} bypass rule(s); remove those references first"
            )
        await lists.delete_list(connection, found.id)
    return Envelope(result=DeletedList(id=found.id))


@router.get(ITEMS, response_model=CursorEnvelope[ListItem], response_model_exclude_none=True)
async def list_items(
    account_id: AuthorizedAccount, list_id: str, page: CursorParams, db: DatabaseDep, search: Search = None
) -> CursorEnvelope[ListItem]:
    """The list's items in the order they were added, a page at a time."""
    async with db.connect() as connection:
        found = await load_list(connection, account_id, list_id)
        chosen = await lists.items_page(connection, found, page.after, page.per_page + 1, search)
    more = len(chosen) > page.per_page
    chosen = chosen[: page.per_page]
    after = encode_cursor(chosen[-1].seq) if more else None
    return CursorEnvelope(
        result=[item_result(item) for item in chosen], result_info=CursorInfo(cursors=Cursors(after=after))
    )


@router.get(ITEM, response_model=Envelope[ListItem], response_model_exclude_none=True)
async def get_item(account_id: AuthorizedAccount, list_id: str, item_id: str, db: DatabaseDep) -> Envelope[ListItem]:
    """Fetch one item of the list."""
    async with db.connect() as connection:
        found = await load_list(connection, account_id, list_id)
        item = await lists.item_by_id(connection, found.id, item_id) if is_id(item_id) else None
    if item is None:
        raise not_found("list item")
    return Envelope(result=item_result(item))


def _new_items(body: list[ListItemInput], found: StoredList) -> list[NewItem]:
    """The items as the list stores them; 400 naming the first one that does not suit the list's kind."""
    new = []
    for index, item in enumerate(body):
        try:
            new.append(item.for_kind(found.kind))
        except ValueError as exc:
            raise invalid(f"{index}: {exc}") from None
    return new


async def _store_items(
    db: DatabaseDep, account_id: str, list_id: str, body: list[ListItemInput], now: datetime, *, replace: bool
) -> Envelope[OperationRef]:
    async with write_transaction(db) as connection:
        found = await load_list(connection, account_id, list_id)
        new = _new_items(body, found)
        store = lists.replace_items if replace else lists.add_items
        count = await store(connection, found.id, new, now)
        if count > MAX_ITEMS_PER_LIST:
            # Raising rolls the whole change back.
            raise conflict(f"a list may hold at most {MAX_ITEMS_PER_LIST} items; this change would leave {count}")
        operation = await lists.record_operation(connection, account_id, now)
    return Envelope(result=OperationRef(operation_id=operation.id))


@router.post(ITEMS, response_model=Envelope[OperationRef])
async def create_items(
    account_id: AuthorizedAccount, list_id: str, body: list[ListItemInput], db: DatabaseDep, clock: ClockDep
) -> Envelope[OperationRef]:
    """Append items; one whose value is already in the list updates that item (its comment)."""
    return await _store_items(db, account_id, list_id, body, clock(), replace=False)


@router.put(ITEMS, response_model=Envelope[OperationRef])
async def update_items(
    account_id: AuthorizedAccount, list_id: str, body: list[ListItemInput], db: DatabaseDep, clock: ClockDep
) -> Envelope[OperationRef]:
    """Replace every item of the list with these (all get new ids)."""
    return await _store_items(db, account_id, list_id, body, clock(), replace=True)


@router.delete(ITEMS, response_model=Envelope[OperationRef])
async def delete_items(
    account_id: AuthorizedAccount, list_id: str, body: ItemDeletion, db: DatabaseDep, clock: ClockDep
) -> Envelope[OperationRef]:
    """Remove the items named by id; every id must be an item of the list."""
    now = clock()
    async with write_transaction(db) as connection:
        found = await load_list(connection, account_id, list_id)
        present = await lists.item_ids(connection, found.id)
        for index, item in enumerate(body.items):
            if item.id not in present:
                raise invalid(f"items.{index}.id: the list has no item {item.id!r}")
        await lists.delete_items(connection, found.id, [item.id for item in body.items], now)
        operation = await lists.record_operation(connection, account_id, now)
    return Envelope(result=OperationRef(operation_id=operation.id))
