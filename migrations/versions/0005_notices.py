"""notices domain tables (filled by the notices work).

Revision ID: 0005_notices
Revises: 0004_workflow
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import geoalchemy2  # noqa: F401

revision = "0005_notices"
down_revision = "0004_workflow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
