"""feeds: since when each feed's content is current, so Last-Modified moves whenever the content (ETag) does.

The data's own times (publication changes, corridor updates) miss some changes that alter a feed (a corridor
deleted, two changes within one second, other publisher settings): If-Modified-Since then answered 304 for a
feed whose ETag had changed. ``feed_content_state`` holds, per feed and settings variant, the hash of the content
last served and the time it became current (``service.feeds.service.modified_since``).

Revision ID: 0011_feed_content_state
Revises: 0010_notice_order
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_feed_content_state"
down_revision = "0010_notice_order"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_content_state",
        sa.Column("feed", sa.String(16), primary_key=True),
        sa.Column("variant", sa.String(16), primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feed_content_state")
