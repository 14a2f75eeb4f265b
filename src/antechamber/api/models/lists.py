"""Lists API bodies: lists, their items, and the bulk operations item changes return.

Limits (Cloudflare's where it documents one): a list name is 1 to 50 lowercase
letters, digits and underscores, unique in the account; a description at most 500
characters; an item comment at most 500 characters; at most
:data:`MAX_LISTS_PER_ACCOUNT` lists per account and :data:`MAX_ITEMS_PER_LIST`
items per list (Cloudflare's Enterprise quotas).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

from antechamber.api.models.list_values import AsnItem, HostnameItem, IpItem, RedirectItem
from antechamber.db.lists import KINDS, ListKind, NewItem

MAX_LISTS_PER_ACCOUNT = 1_000
MAX_ITEMS_PER_LIST = 10_000
MAX_NAME_LENGTH = 50
MAX_DESCRIPTION_LENGTH = 500
MAX_COMMENT_LENGTH = 500

_LIST_NAME = re.compile(rf"^[a-z0-9_]{{1,{MAX_NAME_LENGTH}}}$")


def _check_list_name(value: str) -> str:
    if not _LIST_NAME.fullmatch(value):
        raise ValueError(
            f"a list name is 1 to {MAX_NAME_LENGTH} lowercase letters, digits and underscores (e.g. office_ips)"
        )
    return value


ListName = Annotated[StrictStr, AfterValidator(_check_list_name)]


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold U+0000; refuse it on every store alike rather than fail on one.
    if "\x00" in value:
        raise ValueError("must not contain the NUL character (U+0000)")
    return value


Description = Annotated[StrictStr, Field(max_length=MAX_DESCRIPTION_LENGTH), AfterValidator(_no_nul)]
Comment = Annotated[StrictStr, Field(max_length=MAX_COMMENT_LENGTH), AfterValidator(_no_nul)]
Hex32 = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


class ListInput(BaseModel):
    """The body of create: name and kind are fixed for the list's life."""

    model_config = ConfigDict(extra="ignore")

    name: ListName
    kind: ListKind
    description: Description = ""


class ListUpdate(BaseModel):
    """The body of update (PUT): only the description can change."""

    model_config = ConfigDict(extra="ignore")

    description: Description = ""


class CustomList(BaseModel):
    """A list as the API returns it."""

    id: Hex32
    name: str
    description: str
    kind: ListKind
    num_items: int
    num_referencing_filters: int
    created_on: datetime
    modified_on: datetime


class ListItemInput(BaseModel):
    """One item as append (POST) and replace-all (PUT) take it: the field named after the list's kind."""

    model_config = ConfigDict(extra="ignore")

    ip: IpItem | None = None
    asn: AsnItem | None = None
    hostname: HostnameItem | None = None
    redirect: RedirectItem | None = None
    comment: Comment | None = None

    def for_kind(self, kind: ListKind) -> NewItem:
        """This item as a list of ``kind`` stores it; ``ValueError`` if it does not carry that kind's value."""
        given = [name for name in KINDS if getattr(self, name) is not None]
        if kind not in given:
            raise ValueError(f"the list holds {kind!r} items, so each item needs the {kind!r} field")
        if len(given) > 1:
            others = ", ".join(repr(name) for name in given if name != kind)
            raise ValueError(f"the list holds {kind!r} items, so an item must not also have {others}")
        if self.ip is not None:
            return NewItem(value=self.ip, body={"ip": self.ip}, comment=self.comment)
        if self.asn is not None:
            return NewItem(value=str(self.asn), body={"asn": self.asn}, comment=self.comment)
        if self.hostname is not None:
            body = self.hostname.model_dump(exclude_none=True)
            return NewItem(value=self.hostname.url_hostname, body={"hostname": body}, comment=self.comment)
        assert self.redirect is not None
        return NewItem(
            value=self.redirect.source_url, body={"redirect": self.redirect.model_dump()}, comment=self.comment
        )


class ItemId(BaseModel):
    """One item named for deletion."""

    model_config = ConfigDict(extra="ignore")

    id: StrictStr


class ItemDeletion(BaseModel):
    """The body of delete items: which items go."""

    model_config = ConfigDict(extra="ignore")

    items: list[ItemId]


class ListItem(BaseModel):
    """An item as the API returns it: one of ``ip``, ``asn``, ``hostname``, ``redirect`` (the others left out)."""

    id: Hex32
    ip: str | None = None
    asn: int | None = None
    hostname: HostnameItem | None = None
    redirect: RedirectItem | None = None
    comment: str | None = None
    created_on: datetime
    modified_on: datetime


class OperationRef(BaseModel):
    """What an item change returns: the bulk operation that made it (already completed)."""

    operation_id: Hex32


class BulkOperation(BaseModel):
    """A bulk operation's status; Antechamber applies changes in the request, so it is always completed."""

    id: Hex32
    status: Literal["completed"]
    completed: datetime


class DeletedList(BaseModel):
    """The result of deleting a list."""

    id: Hex32
