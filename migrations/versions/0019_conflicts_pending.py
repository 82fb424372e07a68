"""conflicts: a queue of the requests and rules changed while a full refresh ran.

A change of a request or a rule recomputes its stored conflicts in its own transaction. While a full refresh
(``refresh_all``: the worker after an upgrade, ``baustellen conflicts refresh``, a large plan run) holds its lock,
doing so could leave stale or duplicate rows, and waiting for it could deadlock; such a change records its request
or rule in ``conflicts_pending`` instead, and the worker's job ``conflicts.drain_pending`` recomputes them once the
refresh has ended. One row per change (append-only), so recording one never waits.

Revision ID: 0019_conflicts_pending
Revises: 0018_notice_payload_contacts
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_conflicts_pending"
down_revision = "0018_notice_payload_contacts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conflicts_pending",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('request', 'zone', 'corridor', 'moratorium', 'blackout')",
                           name="ck_conflicts_pending_kind"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_conflicts_pending_target", "conflicts_pending", ["kind", "target_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_conflicts_pending_target", table_name="conflicts_pending")
    op.drop_table("conflicts_pending")
