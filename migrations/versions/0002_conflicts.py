"""conflicts domain tables (filled by the conflicts work).

Revision ID: 0002_conflicts
Revises: 0001_foundation
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import geoalchemy2  # noqa: F401

revision = "0002_conflicts"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
