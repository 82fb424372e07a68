"""feeds: the DATEX II records each publication published, and those a still-published site no longer has.

A site that stays published but no longer has one of its situation records (a full closure becomes a footway
restriction: the ``{id}_closure`` record leaves the payload; a diversion is dropped: ``{id}_rerouting``) must list
that record as cancelled in ``informationManagement``, as the records of a withdrawn site are, or consumers keep
showing the road closed. Which records were published before is not derivable from the request any more (it is
already changed), so ``feed_publications`` remembers them (``records`` at ``records_version``; null until the next
sync fills them) and ``feed_dropped_records`` the records dropped from a still-published site, with the version they
were last published in and when (``service.feeds.service.track_records``).

Revision ID: 0022_feed_dropped_records
Revises: 0021_conflict_pairs
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022_feed_dropped_records"
down_revision = "0021_conflict_pairs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("feed_publications", sa.Column("records", postgresql.ARRAY(sa.String(64)), nullable=True))
    op.add_column("feed_publications", sa.Column("records_version", sa.Integer(), nullable=True))
    op.create_table(
        "feed_dropped_records",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("dropped_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["feed_publications.request_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id", "record_id"),
    )
    op.create_index(op.f("ix_feed_dropped_records_dropped_at"), "feed_dropped_records", ["dropped_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_feed_dropped_records_dropped_at"), table_name="feed_dropped_records")
    op.drop_table("feed_dropped_records")
    op.drop_column("feed_publications", "records_version")
    op.drop_column("feed_publications", "records")
