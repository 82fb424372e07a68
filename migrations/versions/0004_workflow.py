"""workflow domain tables (filled by the workflow work).

Revision ID: 0004_workflow
Revises: 0003_slots
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import geoalchemy2  # noqa: F401

revision = "0004_workflow"
down_revision = "0003_slots"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
