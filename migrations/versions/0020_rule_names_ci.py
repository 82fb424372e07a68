"""conflicts: rule names are unique regardless of case.

Zones, corridors, moratoriums and blackouts had a case-sensitive unique constraint on ``name``, so "rüttenscheid"
could be stored beside "Rüttenscheid": two rules a reader cannot tell apart in a conflict's explanation, a notice or
a feed. Each table now has a unique index on ``lower(name)`` instead (which also keeps exact duplicates out).

A database that already holds names differing only in case cannot get the index. The upgrade then stops with a
message listing them (before changing anything; the database stays at 0019): rename or delete one of each group
with the running version (``PATCH``/``DELETE /v1/zones/{id}`` etc.) and upgrade again. It does not rename them
itself: a rule's name is what the coordination office published, and only it can say which one is meant.

Revision ID: 0020_rule_names_ci
Revises: 0019_conflicts_pending
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_rule_names_ci"
down_revision = "0019_conflicts_pending"
branch_labels = None
depends_on = None

TABLES = ("zones", "corridors", "moratoriums", "blackouts")


def _case_duplicates() -> list[str]:
    bind = op.get_bind()
    found = []
    for table in TABLES:
        rows = bind.execute(sa.text(
            f"SELECT string_agg(format('%L (id %s)', name, id), ', ' ORDER BY name, id) AS names "
            f"FROM {table} GROUP BY lower(name) HAVING count(*) > 1 ORDER BY 1"))
        found += [f"{table}: {r.names}" for r in rows]
    return found


def upgrade() -> None:
    duplicates = _case_duplicates()
    if duplicates:
        raise RuntimeError(
            "Rule names must be unique regardless of case, but these differ only in case: "
            + "; ".join(duplicates)
            + ". Rename or delete one of each (PATCH or DELETE /v1/zones/{id}, /v1/corridors/{id}, "
            "/v1/moratoriums/{id}, /v1/blackouts/{id}) with the running version, then upgrade again."
        )
    for table in TABLES:
        op.drop_constraint(f"{table}_name_key", table, type_="unique")
        op.create_index(f"uq_{table}_lower_name", table, [sa.text("lower(name)")], unique=True)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"uq_{table}_lower_name", table_name=table)
        op.create_unique_constraint(f"{table}_name_key", table, ["name"])
