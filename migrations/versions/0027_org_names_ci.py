"""auth: organisation names are unique regardless of case (and stored without white space at either end).

"Stadt Essen – Amt für Straßen und Verkehr" could be created a second time as "stadt essen – amt für straßen und
verkehr" or with a trailing space: two organisations a coordinator cannot tell apart in a list, a notice or a
feed's ``source``. As for the rule names (0020), the table gets a unique index on ``lower(name)`` instead of the
case-sensitive constraint; the API and the CLI trim names and look organisations up regardless of case.

Names with white space at either end are trimmed first. A database that then holds names differing only in case
(or white space) cannot get the index: the upgrade stops with a message listing them, before changing anything (an
organisation owns requests and keys; only the operator can say which one is meant).

Revision ID: 0027_org_names_ci
Revises: 0026_list_and_purge_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_org_names_ci"
down_revision = "0026_list_and_purge_indexes"
branch_labels = None
depends_on = None

# white space (and format characters such as U+200B, U+FEFF) at either end, as ``service.kit.types.trim``
EDGES = r"^[\s\u200b-\u200f\u2060\ufeff]+|[\s\u200b-\u200f\u2060\ufeff]+$"


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT string_agg(format('%L (id %s)', name, id), ', ' ORDER BY name, id) AS names FROM organisations "
        "GROUP BY lower(regexp_replace(name, :edges, '', 'g')) HAVING count(*) > 1 ORDER BY 1"), {"edges": EDGES})
    duplicates = [r.names for r in rows]
    if duplicates:
        raise RuntimeError(
            "Organisation names must be unique regardless of case and of white space at either end, but these are "
            "not: " + "; ".join(duplicates) + ". Rename one of each (or move its keys and requests to the other and "
            "delete it) with the running version, then upgrade again.")
    bind.execute(sa.text("UPDATE organisations SET name = regexp_replace(name, :edges, '', 'g') "
                         "WHERE name ~ :edges"), {"edges": EDGES})
    op.drop_constraint("organisations_name_key", "organisations", type_="unique")
    op.create_index("uq_organisations_lower_name", "organisations", [sa.text("lower(name)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_organisations_lower_name", table_name="organisations")
    op.create_unique_constraint("organisations_name_key", "organisations", ["name"])
