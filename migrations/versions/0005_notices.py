"""notices: subscriptions, webhook endpoints, the notice outbox, deliveries and attempts.

Revision ID: 0005_notices
Revises: 0004_workflow
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2  # noqa: F401
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0005_notices"
down_revision = "0004_workflow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notice_event_log',
    sa.Column('event_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_geospatial_table('subscriptions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=True),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('confirm_token', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('area_kind', sa.String(length=16), nullable=False),
    sa.Column('area_input', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('area', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('area_utm', Geometry(geometry_type='MULTIPOLYGON', srid=25832, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), sa.Computed('ST_Transform(area, 25832)', persisted=True), nullable=True),
    sa.Column('street_norm', sa.String(length=200), nullable=True),
    sa.Column('kinds', postgresql.ARRAY(sa.String(length=32)), nullable=False),
    sa.Column('min_impact_rank', sa.SmallInteger(), nullable=False),
    sa.Column('modes', postgresql.ARRAY(sa.String(length=16)), nullable=False),
    sa.Column('lead_days', sa.Integer(), nullable=False),
    sa.Column('delivery', sa.String(length=12), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('last_digest_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('confirm_token'),
    sa.UniqueConstraint('token')
    )
    op.create_geospatial_index('idx_subscriptions_area_utm', 'subscriptions', ['area_utm'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_subscriptions_organisation_id'), 'subscriptions', ['organisation_id'], unique=False)
    op.create_index(op.f('ix_subscriptions_status'), 'subscriptions', ['status'], unique=False)
    op.create_table('notices',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('subscription_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=True),
    sa.Column('request_id', sa.Uuid(), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('digest_pending', sa.Boolean(), nullable=False),
    sa.Column('digest_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['digest_id'], ['notices.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['site_requests.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subscription_id', 'dedupe_key', name='uq_notices_subscription_dedupe')
    )
    op.create_index('ix_notices_digest_pending', 'notices', ['subscription_id'], unique=False, postgresql_where=sa.text('digest_pending'))
    op.create_index(op.f('ix_notices_request_id'), 'notices', ['request_id'], unique=False)
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('subscription_id', sa.Uuid(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_webhook_endpoints_subscription_id'), 'webhook_endpoints', ['subscription_id'], unique=False)
    op.create_table('notice_deliveries',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('notice_id', sa.Uuid(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('endpoint_id', sa.Uuid(), nullable=True),
    sa.Column('inbox', sa.String(length=2000), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('inbox', 'dedupe_key', name='uq_notice_deliveries_inbox_dedupe')
    )
    op.create_index('ix_notice_deliveries_due', 'notice_deliveries', ['next_attempt_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_index(op.f('ix_notice_deliveries_endpoint_id'), 'notice_deliveries', ['endpoint_id'], unique=False)
    op.create_index(op.f('ix_notice_deliveries_notice_id'), 'notice_deliveries', ['notice_id'], unique=False)
    op.create_table('notice_attempts',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('delivery_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['notice_deliveries.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_notice_attempts_delivery_id'), 'notice_attempts', ['delivery_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_notice_attempts_delivery_id'), table_name='notice_attempts')
    op.drop_table('notice_attempts')
    op.drop_index(op.f('ix_notice_deliveries_notice_id'), table_name='notice_deliveries')
    op.drop_index(op.f('ix_notice_deliveries_endpoint_id'), table_name='notice_deliveries')
    op.drop_index('ix_notice_deliveries_due', table_name='notice_deliveries', postgresql_where=sa.text("status = 'pending'"))
    op.drop_table('notice_deliveries')
    op.drop_index(op.f('ix_webhook_endpoints_subscription_id'), table_name='webhook_endpoints')
    op.drop_table('webhook_endpoints')
    op.drop_index(op.f('ix_notices_request_id'), table_name='notices')
    op.drop_index('ix_notices_digest_pending', table_name='notices', postgresql_where=sa.text('digest_pending'))
    op.drop_table('notices')
    op.drop_index(op.f('ix_subscriptions_status'), table_name='subscriptions')
    op.drop_index(op.f('ix_subscriptions_organisation_id'), table_name='subscriptions')
    op.drop_geospatial_index('idx_subscriptions_area_utm', table_name='subscriptions', postgresql_using='gist', column_name='area_utm')
    op.drop_geospatial_table('subscriptions')
    op.drop_table('notice_event_log')
