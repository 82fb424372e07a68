"""slots domain tables (filled by the slots work).

Revision ID: 0003_slots
Revises: 0002_conflicts
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import geoalchemy2  # noqa: F401

revision = "0003_slots"
down_revision = "0002_conflicts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
