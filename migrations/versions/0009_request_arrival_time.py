"""requests: created_at is the moment each request was stored, not the transaction's start.

An import stores many requests in one transaction; with ``now()`` they all shared one ``created_at``, so the
first-come-first-served baseline (ordered by ``created_at``) broke the tie by random request id and varied
between runs. ``clock_timestamp()`` keeps the order in which they were stored (the file's order).

Revision ID: 0009_request_arrival_time
Revises: 0008_map_tiles
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_request_arrival_time"
down_revision = "0008_map_tiles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("site_requests", "created_at", server_default=sa.text("clock_timestamp()"))


def downgrade() -> None:
    op.alter_column("site_requests", "created_at", server_default=sa.text("now()"))
