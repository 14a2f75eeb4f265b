"""Analytics: each gateway process's figures per room and minute.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# As in antechamber.db.tables.ANALYTICS_FIGURES when this migration was written (a migration
# must not change when the code does).
_FIGURES = (
    "admitted",
    "rejected",
    "bypassed",
    "revoked",
    "challenges_issued",
    "challenges_passed",
    "challenges_failed",
    "active_max",
    "queued_max",
    "active_limit",
    "new_users_limit",
)


def upgrade() -> None:
    op.create_table(
        "analytics_minutes",
        sa.Column("room_id", sa.String(32), primary_key=True),
        sa.Column("minute", sa.BigInteger, primary_key=True),
        sa.Column("node", sa.String(32), primary_key=True),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in _FIGURES),
        sa.Column("waits", sa.JSON, nullable=False),
    )
    op.create_index("ix_analytics_minutes_minute", "analytics_minutes", ["minute"])


def downgrade() -> None:
    op.drop_index("ix_analytics_minutes_minute", table_name="analytics_minutes")
    op.drop_table("analytics_minutes")
