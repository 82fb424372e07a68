"""conflicts: record which rules the stored conflicts were computed with.

Stored conflicts followed changed detection rules (such as 0015's ``works_in_road`` and ``corridor_carries``) only
after someone ran ``baustellen conflicts refresh``, or where a request or a rule changed. ``conflicts_state`` holds
one row: the revision of the rules (``service.conflicts.service.RULES_REVISION``) and a fingerprint of the settings
(distances, dig-once limits) the last full refresh used. The worker recomputes the conflicts when they differ from
its own.

The row starts at revision 0 (unknown): conflicts stored before this migration may follow older rules, so the next
worker start recomputes them once.

Revision ID: 0017_conflict_rules_revision
Revises: 0016_notices_welcome_sites
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_conflict_rules_revision"
down_revision = "0016_notices_welcome_sites"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conflicts_state",
        sa.Column("id", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("rules_revision", sa.Integer(), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_conflicts_state_one_row"),
    )
    op.execute("INSERT INTO conflicts_state (id, rules_revision, config_hash) VALUES (1, 0, '')")


def downgrade() -> None:
    op.drop_table("conflicts_state")
