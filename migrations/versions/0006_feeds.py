"""feeds: what the open data feeds published (versions, cancellations) and the DATEX II push state.

Revision ID: 0006_feeds
Revises: 0005_notices
"""
from alembic import op
import sqlalchemy as sa

revision = "0006_feeds"
down_revision = "0005_notices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feed_publications',
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('first_published', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_changed', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['site_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id')
    )
    op.create_index(op.f('ix_feed_publications_cancelled_at'), 'feed_publications', ['cancelled_at'], unique=False)
    op.create_index(op.f('ix_feed_publications_last_changed'), 'feed_publications', ['last_changed'], unique=False)
    op.create_table('feed_push_state',
    sa.Column('target', sa.String(length=32), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('delivered_hash', sa.String(length=64), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('target')
    )


def downgrade() -> None:
    op.drop_table('feed_push_state')
    op.drop_index(op.f('ix_feed_publications_last_changed'), table_name='feed_publications')
    op.drop_index(op.f('ix_feed_publications_cancelled_at'), table_name='feed_publications')
    op.drop_table('feed_publications')
