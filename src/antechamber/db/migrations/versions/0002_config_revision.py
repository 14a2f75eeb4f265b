"""Config revision: a single counter bumped by every API write.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "config_revision",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("changed_on", sa.String(32), nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "revision": 0, "changed_on": "1970-01-01T00:00:00.000000Z"}])


def downgrade() -> None:
    op.drop_table("config_revision")
