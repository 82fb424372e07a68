"""map domain tables (filled by the map work).

Revision ID: 0007_map
Revises: 0006_feeds
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import geoalchemy2  # noqa: F401

revision = "0007_map"
down_revision = "0006_feeds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
