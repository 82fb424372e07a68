"""requests: the revision of the scrubbing rules each stored ``public_title`` was made with (``public_title_rev``).

0023 stored the scrubbed title once, with the rules of its day, and every title set since is scrubbed with the
rules of the code that set it. When the rules change (``service.feeds.common.SCRUB_REVISION``), the titles stored
before kept the old scrubbing, and the map, the OGC collections, the tiles and the request lists (which read
``public_title`` in SQL) could show a name the new rules remove. Each row now records the revision it was made
with; ``baustellen db upgrade`` (after the migrations) and the worker at its start scrub again those on an older
one (``service.requests.service.refresh_public_titles``). The stored rows start at 0, so the first of them
refreshes them all.

Revision ID: 0024_public_title_revision
Revises: 0023_public_titles
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_public_title_revision"
down_revision = "0023_public_titles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("site_requests",
                  sa.Column("public_title_rev", sa.Integer(), nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    op.drop_column("site_requests", "public_title_rev")
