"""indexes: the opportunities list reads its pages in index order; expired Idempotency-Keys are found by age.

``GET /v1/opportunities`` pages through the dig-once pairs ``ORDER BY status, distance_m, id`` with the cursor
``(status, distance_m, id) > (...)`` (``service.conflicts.repository.list_opportunities``). With only an index on
``status`` every page sorted all pairs; ``ix_opportunities_status_distance_id`` gives the order and the cursor's
start directly. It replaces ``ix_opportunities_status``, its leading column.

The answers to ``Idempotency-Key`` calls are kept for ``BAUSTELLEN_IDEMPOTENCY_KEEP_HOURS``; the worker deletes
older ones by ``created_at`` (``service.requests.repository.purge_idempotency``): ``ix_idempotency_keys_created_at``.

Revision ID: 0026_list_and_purge_indexes
Revises: 0025_corridor_modes
"""

from alembic import op

revision = "0026_list_and_purge_indexes"
down_revision = "0025_corridor_modes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_opportunities_status_distance_id", "opportunities", ["status", "distance_m", "id"],
                    unique=False)
    op.drop_index(op.f("ix_opportunities_status"), table_name="opportunities")
    op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_idempotency_keys_created_at"), table_name="idempotency_keys")
    op.create_index(op.f("ix_opportunities_status"), "opportunities", ["status"], unique=False)
    op.drop_index("ix_opportunities_status_distance_id", table_name="opportunities")
