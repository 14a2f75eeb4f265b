"""Analytics: time on origin (renewals, the time they accrued, the oldest session renewed).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_FIGURES = ("renewals", "origin_ms", "origin_longest_ms")


def upgrade() -> None:
    for name in _FIGURES:
        op.add_column("analytics_minutes", sa.Column(name, sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("analytics_minutes") as batch:
        for name in reversed(_FIGURES):
            batch.drop_column(name)
