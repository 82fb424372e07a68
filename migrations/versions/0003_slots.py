"""slots: plan runs and the slot granted to each request.

Revision ID: 0003_slots
Revises: 0002_conflicts
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0003_slots"
down_revision = "0002_conflicts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('params', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('stats', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('fcfs', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['organisations.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_plan_runs_status'), 'plan_runs', ['status'], unique=False)
    op.create_table('slots',
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('start', sa.Date(), nullable=True),
    sa.Column('end', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('explanation', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('unplaced', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('plan_id', sa.Uuid(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plan_runs.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['site_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id')
    )
    op.create_index(op.f('ix_slots_end'), 'slots', ['end'], unique=False)
    op.create_index(op.f('ix_slots_plan_id'), 'slots', ['plan_id'], unique=False)
    op.create_index(op.f('ix_slots_start'), 'slots', ['start'], unique=False)
    op.create_index(op.f('ix_slots_status'), 'slots', ['status'], unique=False)



def downgrade() -> None:
    op.drop_index(op.f('ix_slots_status'), table_name='slots')
    op.drop_index(op.f('ix_slots_start'), table_name='slots')
    op.drop_index(op.f('ix_slots_plan_id'), table_name='slots')
    op.drop_index(op.f('ix_slots_end'), table_name='slots')
    op.drop_table('slots')
    op.drop_index(op.f('ix_plan_runs_status'), table_name='plan_runs')
    op.drop_table('plan_runs')
