"""feeds domain tables (filled by the feeds work).

Revision ID: 0006_feeds
Revises: 0005_notices
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import geoalchemy2  # noqa: F401

revision = "0006_feeds"
down_revision = "0005_notices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
