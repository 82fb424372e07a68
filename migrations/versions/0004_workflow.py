"""workflow: append-only request history (a trigger refuses UPDATE and DELETE), comments, changes after
approval, answer deadlines.

Revision ID: 0004_workflow
Revises: 0003_slots
"""
import geoalchemy2  # noqa: F401
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0004_workflow"
down_revision = "0003_slots"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_geospatial_table('request_changes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('key_id', sa.Uuid(), nullable=True),
    sa.Column('latest_end', sa.Date(), nullable=True),
    sa.Column('duration_days', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT',
                              name='geometry'), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('start', sa.Date(), nullable=True),
    sa.Column('end', sa.Date(), nullable=True),
    sa.Column('conflicts', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('placement', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('decision_reason_code', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['organisations.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['site_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_geospatial_index('idx_request_changes_geom', 'request_changes', ['geom'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_request_changes_request_id'), 'request_changes', ['request_id'], unique=False)
    op.create_index(op.f('ix_request_changes_status'), 'request_changes', ['status'], unique=False)
    op.create_table('request_comments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('key_id', sa.Uuid(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['site_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_request_comments_request_id'), 'request_comments', ['request_id'], unique=False)
    op.create_table('request_deadlines',
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('party', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['site_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id')
    )
    op.create_index(op.f('ix_request_deadlines_due_at'), 'request_deadlines', ['due_at'], unique=False)
    op.create_table('request_history',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('actor', sa.String(length=16), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=True),
    sa.Column('key_id', sa.Uuid(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('reason_code', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['site_requests.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'seq', name='uq_request_history_request_seq')
    )
    op.create_index(op.f('ix_request_history_request_id'), 'request_history', ['request_id'], unique=False)
    op.execute("""
        create function request_history_append_only() returns trigger language plpgsql as $$
        begin
            raise exception 'request_history is append-only: % is not allowed', tg_op
                using errcode = 'insufficient_privilege';
        end
        $$
    """)
    op.execute("""
        create trigger request_history_append_only before update or delete on request_history
        for each row execute function request_history_append_only()
    """)


def downgrade() -> None:
    op.execute("drop trigger if exists request_history_append_only on request_history")
    op.execute("drop function if exists request_history_append_only()")
    op.drop_index(op.f('ix_request_history_request_id'), table_name='request_history')
    op.drop_table('request_history')
    op.drop_index(op.f('ix_request_deadlines_due_at'), table_name='request_deadlines')
    op.drop_table('request_deadlines')
    op.drop_index(op.f('ix_request_comments_request_id'), table_name='request_comments')
    op.drop_table('request_comments')
    op.drop_index(op.f('ix_request_changes_status'), table_name='request_changes')
    op.drop_index(op.f('ix_request_changes_request_id'), table_name='request_changes')
    op.drop_geospatial_index('idx_request_changes_geom', table_name='request_changes', postgresql_using='gist',
                             column_name='geom')
    op.drop_geospatial_table('request_changes')
