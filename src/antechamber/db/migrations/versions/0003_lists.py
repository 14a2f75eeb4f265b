"""Lists: account-level named lists of IPs, ASNs, hostnames or redirects, their items, and bulk operations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lists",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.String(32), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_on", sa.String(32), nullable=False),
        sa.Column("modified_on", sa.String(32), nullable=False),
        sa.UniqueConstraint("account_id", "name", name="uq_lists_account_name"),
    )
    op.create_table(
        "list_items",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("list_id", sa.String(32), sa.ForeignKey("lists.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("created_on", sa.String(32), nullable=False),
        sa.Column("modified_on", sa.String(32), nullable=False),
        sa.UniqueConstraint("list_id", "value", name="uq_list_items_list_value"),
    )
    op.create_index("ix_list_items_list_seq", "list_items", ["list_id", "seq"])
    op.create_table(
        "list_operations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.String(32), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("completed", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    for table in ("list_operations", "list_items", "lists"):
        op.drop_table(table)
