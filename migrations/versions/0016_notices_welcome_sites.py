"""notices: find the welcome notices that listed a site.

A site that an edit takes out of a subscription's filter is noticed to the subscribers told about it before,
also those told only by their welcome notice (``payload.items[*].site``). Finding those welcomes read every
welcome's payload (one per subscription, up to 50 sites each) on every edit of a site: a GIN index on the ids of
the sites a welcome listed finds them directly (``repository._LAST_TOLD_SQL``).

Revision ID: 0016_notices_welcome_sites
Revises: 0015_rule_functions
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_notices_welcome_sites"
down_revision = "0015_rule_functions"
branch_labels = None
depends_on = None

SITE_IDS = sa.text("jsonb_path_query_array(payload, '$.items[*].site.id'::jsonpath)")
WELCOME = sa.text("kind = 'welcome'")


def upgrade() -> None:
    op.create_index("ix_notices_welcome_sites", "notices", [SITE_IDS], postgresql_using="gin",
                    postgresql_where=WELCOME)


def downgrade() -> None:
    op.drop_index("ix_notices_welcome_sites", table_name="notices", postgresql_using="gin", postgresql_where=WELCOME)
