"""The schema of the config store (mirrored by the Alembic migrations)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from antechamber.core.analytics import COUNTERS, GAUGES

metadata = MetaData()

#: The integer columns of ``analytics_minutes``, named as in :class:`~antechamber.core.analytics.MinuteFigures`.
ANALYTICS_FIGURES = COUNTERS + GAUGES

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_on", String(32), nullable=False),
)

zones = Table(
    "zones",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("name", String(253), nullable=False, unique=True),
    Column("search_engine_crawler_bypass", Boolean, nullable=False, default=False),
    Column("created_on", String(32), nullable=False),
)

rooms = Table(
    "rooms",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("zone_id", String(32), ForeignKey("zones.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_on", String(32), nullable=False),
    Column("modified_on", String(32), nullable=False),
    UniqueConstraint("zone_id", "name", name="uq_rooms_zone_name"),
    Index("ix_rooms_zone_created", "zone_id", "created_on"),
)

# One row per (host, path) a room covers, primary route included: the unique
# constraint is what keeps a route in one room even under concurrent writes.
room_routes = Table(
    "room_routes",
    metadata,
    Column("room_id", String(32), ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("host", String(253), nullable=False),
    Column("path", Text, nullable=False),
    UniqueConstraint("host", "path", name="uq_room_routes_host_path"),
    Index("ix_room_routes_room", "room_id"),
)

events = Table(
    "events",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("room_id", String(32), ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_on", String(32), nullable=False),
    Column("modified_on", String(32), nullable=False),
    UniqueConstraint("room_id", "name", name="uq_events_room_name"),
    Index("ix_events_room_created", "room_id", "created_on"),
)

rules = Table(
    "rules",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("room_id", String(32), ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Index("ix_rules_room_position", "room_id", "position"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("name", Text, nullable=False, default=""),
    Column("scope", String(16), nullable=False),
    # null = every zone; otherwise the list of zone ids the token may touch
    Column("zone_ids", JSON, nullable=True),
    Column("created_on", String(32), nullable=False),
    Column("revoked_on", String(32), nullable=True),
)

previews = Table(
    "previews",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("zone_id", String(32), ForeignKey("zones.id", ondelete="CASCADE"), nullable=False),
    Column("custom_html", Text, nullable=False),
    Column("created_on", String(32), nullable=False),
)

# Account-level named lists (Cloudflare's Lists API), referenced from rule expressions as ``$name``.
lists = Table(
    "lists",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(50), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("description", Text, nullable=False),
    Column("created_on", String(32), nullable=False),
    Column("modified_on", String(32), nullable=False),
    UniqueConstraint("account_id", "name", name="uq_lists_account_name"),
)

# ``value`` is the item's identity in its list (canonical IP/CIDR text, ASN digits,
# hostname, redirect source URL): adding an item with a value already there updates
# that item. ``seq`` keeps insertion order and is what the items cursor points at.
list_items = Table(
    "list_items",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("list_id", String(32), ForeignKey("lists.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("value", Text, nullable=False),
    Column("body", JSON, nullable=False),
    Column("comment", Text, nullable=True),
    Column("created_on", String(32), nullable=False),
    Column("modified_on", String(32), nullable=False),
    UniqueConstraint("list_id", "value", name="uq_list_items_list_value"),
    Index("ix_list_items_list_seq", "list_id", "seq"),
)

# Item changes are applied inside the request; their operations are kept (a while)
# only so that the bulk-operation status Cloudflare clients poll can be read.
list_operations = Table(
    "list_operations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("completed", String(32), nullable=False),
)

# The analytics: one row per room, minute (since the epoch) and gateway process, holding
# that process's figures for the minute (core/analytics.py); a read merges a minute's rows.
# No foreign key: a process may still write a minute of a room deleted meanwhile, and the
# rows go with the retention.
analytics_minutes = Table(
    "analytics_minutes",
    metadata,
    Column("room_id", String(32), primary_key=True),
    Column("minute", BigInteger, primary_key=True),
    Column("node", String(32), primary_key=True),
    *(Column(name, BigInteger, nullable=False, default=0) for name in ANALYTICS_FIGURES),
    # {bucket: users} of the waits of the users let in (core.analytics.wait_bucket)
    Column("waits", JSON, nullable=False),
    Index("ix_analytics_minutes_minute", "minute"),
)

# One row, bumped by every API write: gateways poll it to notice config changes
# cheaply, and bumping it first serializes writers so checks see a stable store.
config_revision = Table(
    "config_revision",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("revision", BigInteger, nullable=False),
    Column("changed_on", String(32), nullable=False),
)

# Dashboard sign-ins: the session cookie's SHA-256 (never the cookie itself), who signed in
# (an API token's id, or null for the operator password) and when the session ends.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("secret_sha256", String(64), primary_key=True),
    Column("token_id", String(32), nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Index("ix_dashboard_sessions_expires", "expires_ms"),
)

# The operator password (one row, id 1) as a scrypt hash, set with `antechamber dashboard password`.
dashboard_operator = Table(
    "dashboard_operator",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("changed_on", String(32), nullable=False),
)
