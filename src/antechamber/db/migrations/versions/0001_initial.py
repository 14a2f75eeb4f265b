"""Initial schema: accounts, zones, rooms and routes, events, rules, tokens, previews.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_on", sa.String(32), nullable=False),
    )
    op.create_table(
        "zones",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.String(32), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("name", sa.String(253), nullable=False, unique=True),
        sa.Column("search_engine_crawler_bypass", sa.Boolean, nullable=False),
        sa.Column("created_on", sa.String(32), nullable=False),
    )
    op.create_table(
        "rooms",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("zone_id", sa.String(32), sa.ForeignKey("zones.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_on", sa.String(32), nullable=False),
        sa.Column("modified_on", sa.String(32), nullable=False),
        sa.UniqueConstraint("zone_id", "name", name="uq_rooms_zone_name"),
    )
    op.create_index("ix_rooms_zone_created", "rooms", ["zone_id", "created_on"])
    op.create_table(
        "room_routes",
        sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
        sa.Column("host", sa.String(253), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.UniqueConstraint("host", "path", name="uq_room_routes_host_path"),
    )
    op.create_index("ix_room_routes_room", "room_routes", ["room_id"])
    op.create_table(
        "events",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_on", sa.String(32), nullable=False),
        sa.Column("modified_on", sa.String(32), nullable=False),
        sa.UniqueConstraint("room_id", "name", name="uq_events_room_name"),
    )
    op.create_index("ix_events_room_created", "events", ["room_id", "created_on"])
    op.create_table(
        "rules",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
    )
    op.create_index("ix_rules_room_position", "rules", ["room_id", "position"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("zone_ids", sa.JSON, nullable=True),
        sa.Column("created_on", sa.String(32), nullable=False),
        sa.Column("revoked_on", sa.String(32), nullable=True),
    )
    op.create_table(
        "previews",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("zone_id", sa.String(32), sa.ForeignKey("zones.id", ondelete="CASCADE"), nullable=False),
        sa.Column("custom_html", sa.Text, nullable=False),
        sa.Column("created_on", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    for table in ("previews", "api_tokens", "rules", "events", "room_routes", "rooms", "zones", "accounts"):
        op.drop_table(table)
