"""conflicts: each stored conflict once (a unique index over its identity).

Two transactions changing neighbouring requests at the same moment each recomputed their request's conflicts without
seeing the other's uncommitted rows, so a pair could be stored twice until the next change of either request
(``GET /v1/conflicts`` listed it twice). Recomputations now run one at a time (``service.conflicts.service``); this
index makes a duplicate an error instead of a silent second row: one row per (``request_a``, ``request_b``,
``kind``, ``zone_id``, ``corridor_id``, ``moratorium_id``, ``blackout_id``), nulls counting as equal.

The upgrade keeps the newest row of each duplicated conflict, deletes the others, and queues the requests (for a
corridor or zone conflict: the rule) in ``conflicts_pending``: a duplicate may have been computed from the other
request's older state, and the worker's ``conflicts.drain_pending`` recomputes them within seconds of its start.
It locks ``conflicts`` against writes first, so a still running older version cannot store a new duplicate
between the clean-up and the index.

Revision ID: 0021_conflict_pairs
Revises: 0020_rule_names_ci
"""

from alembic import op

revision = "0021_conflict_pairs"
down_revision = "0020_rule_names_ci"
branch_labels = None
depends_on = None

IDENTITY = "request_a, request_b, kind, zone_id, corridor_id, moratorium_id, blackout_id"


def upgrade() -> None:
    op.execute("LOCK TABLE conflicts IN SHARE ROW EXCLUSIVE MODE")
    op.execute(f"""
        CREATE TEMPORARY TABLE conflict_duplicates ON COMMIT DROP AS
        SELECT id, request_a, request_b, kind, zone_id, corridor_id, n
        FROM (SELECT id, request_a, request_b, kind, zone_id, corridor_id,
                     row_number() OVER (PARTITION BY {IDENTITY} ORDER BY id DESC) AS n,
                     count(*) OVER (PARTITION BY {IDENTITY}) AS copies
              FROM conflicts) t
        WHERE copies > 1""")
    op.execute("""
        INSERT INTO conflicts_pending (kind, target_id)
        SELECT DISTINCT kind, target_id FROM (
            SELECT 'zone' AS kind, zone_id AS target_id FROM conflict_duplicates WHERE zone_id IS NOT NULL
            UNION ALL
            SELECT 'corridor', corridor_id FROM conflict_duplicates WHERE corridor_id IS NOT NULL
            UNION ALL
            SELECT 'request', request_a FROM conflict_duplicates WHERE zone_id IS NULL AND corridor_id IS NULL
            UNION ALL
            SELECT 'request', request_b FROM conflict_duplicates
            WHERE zone_id IS NULL AND corridor_id IS NULL AND request_b IS NOT NULL) q""")
    op.execute("DELETE FROM conflicts WHERE id IN (SELECT id FROM conflict_duplicates WHERE n > 1)")
    op.execute(f"CREATE UNIQUE INDEX uq_conflicts_identity ON conflicts ({IDENTITY}) NULLS NOT DISTINCT")


def downgrade() -> None:
    op.drop_index("uq_conflicts_identity", table_name="conflicts")
