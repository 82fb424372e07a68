"""requests: ``updated_at`` never before ``created_at``; equal on a request never changed.

``created_at`` is ``clock_timestamp()`` (arrival order within one import transaction, 0009), but ``updated_at``
was ``now()``, the start of the transaction: a request created and placed in one transaction showed an
``updated_at`` before its ``created_at``, and a new request never had the two equal. Both now follow the
clock; an insert trigger copies ``created_at`` into ``updated_at`` so an unchanged request shows the same time
twice.

Revision ID: 0012_request_updated_at
Revises: 0011_feed_content_state
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_request_updated_at"
down_revision = "0011_feed_content_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("site_requests", "updated_at", server_default=sa.text("clock_timestamp()"))
    op.execute("""
        create function site_requests_updated_at_on_insert() returns trigger language plpgsql as $$
        begin
            new.updated_at := new.created_at;
            return new;
        end $$
    """)
    op.execute("""
        create trigger site_requests_updated_at_on_insert before insert on site_requests
        for each row execute function site_requests_updated_at_on_insert()
    """)
    op.execute("update site_requests set updated_at = created_at where updated_at < created_at")


def downgrade() -> None:
    op.execute("drop trigger site_requests_updated_at_on_insert on site_requests")
    op.execute("drop function site_requests_updated_at_on_insert()")
    op.alter_column("site_requests", "updated_at", server_default=sa.text("now()"))
