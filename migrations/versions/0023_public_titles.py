"""requests: the title as the public reads it (``public_title``), stored with the title.

The map's OGC collections, vector tiles and timeline are public without a key, and other organisations read them
too; they published the title as written, with the names, phone numbers and e-mail addresses some titles carry
("Hausanschluss – Rückfragen Herr Schmidt 0201 555123"), while the open data feeds and the notices scrub them.
Scrubbing is Python (``service.feeds.common.scrub``) and tiles are built in SQL, so the scrubbed title is stored
beside the title (``SiteRequest`` sets it whenever the title is set) and the map reads it for every viewer that
is neither the owner nor a coordinator. The upgrade fills it for the stored requests with the scrubbing of this
version.

Revision ID: 0023_public_titles
Revises: 0022_feed_dropped_records
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_public_titles"
down_revision = "0022_feed_dropped_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from service.feeds.common import scrub  # pure: no ORM, no settings

    op.add_column("site_requests", sa.Column("public_title", sa.String(300), nullable=False, server_default=""))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, title FROM site_requests")).all()
    updates = [{"id": rid, "t": scrub(title)[:300]} for rid, title in rows]
    if updates:
        bind.execute(sa.text("UPDATE site_requests SET public_title = :t WHERE id = :id"), updates)


def downgrade() -> None:
    op.drop_column("site_requests", "public_title")
