"""requests: precedences (``after``): a request may start only after another one has ended.

One row per pair: ``request_id`` comes after ``predecessor_id``, with at least ``min_gap_days`` and at most
``max_gap_days`` (null: no limit) whole days between the predecessor's last day and the request's first day.

Revision ID: 0013_request_precedences
Revises: 0012_request_updated_at
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_request_precedences"
down_revision = "0012_request_updated_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_precedences",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("predecessor_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("min_gap_days", sa.Integer(), nullable=False),
        sa.Column("max_gap_days", sa.Integer(), nullable=True),
        sa.CheckConstraint("request_id <> predecessor_id", name="ck_request_precedences_not_self"),
        sa.CheckConstraint("min_gap_days >= 0", name="ck_request_precedences_min_gap"),
        sa.CheckConstraint("max_gap_days IS NULL OR max_gap_days >= min_gap_days",
                           name="ck_request_precedences_max_gap"),
        sa.ForeignKeyConstraint(["request_id"], ["site_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["predecessor_id"], ["site_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id", "predecessor_id"),
    )
    op.create_index(op.f("ix_request_precedences_predecessor_id"), "request_precedences", ["predecessor_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_request_precedences_predecessor_id"), table_name="request_precedences")
    op.drop_table("request_precedences")
