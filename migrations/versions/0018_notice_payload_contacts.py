"""notices: no owner's contact in a stored notice.

Notices once carried the request's contact (name, phone, email) in their site snapshot: ``payload.site.contact``,
and in the sites a digest or a welcome lists, ``payload.items[*].site.contact``. No channel passed it on since
(``render.public_site``), and newer notices do not store it; this removes it from the notices stored before, so
the owners' contact details are kept only where they belong (the request, seen by its owner and the office).

Revision ID: 0018_notice_payload_contacts
Revises: 0017_conflict_rules_revision
"""

from alembic import op

revision = "0018_notice_payload_contacts"
down_revision = "0017_conflict_rules_revision"
branch_labels = None
depends_on = None

# A site snapshot without its contact (anything that is not an object stays as it is).
_SITE = "CASE WHEN jsonb_typeof({0} -> 'site') = 'object' THEN {0} #- '{{site,contact}}' ELSE {0} END"

# Every notice whose snapshot, or one of whose listed sites, holds a contact: the same payload without it, the
# order of the items kept.
REMOVE_CONTACTS = f"""
    UPDATE notices n SET payload = CASE
        WHEN jsonb_typeof(x.p -> 'items') = 'array' THEN jsonb_set(x.p, '{{items}}', (
            SELECT coalesce(jsonb_agg({_SITE.format('t.item')} ORDER BY t.ord), '[]'::jsonb)
            FROM jsonb_array_elements(x.p -> 'items') WITH ORDINALITY AS t(item, ord)))
        ELSE x.p END
    FROM (
        SELECT id, {_SITE.format('payload')} AS p FROM notices
        WHERE payload @? '$.site.contact' OR payload @? '$.items[*].site.contact'
    ) x
    WHERE n.id = x.id
"""


def upgrade() -> None:
    op.execute(REMOVE_CONTACTS)


def downgrade() -> None:
    # Nothing to undo: the contacts are gone by design, and no code reads them from a notice.
    pass
