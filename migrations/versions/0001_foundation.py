"""foundation: organisations, keys, requests, events

Revision ID: 0001_foundation
Revises: 
Create Date: 2026-11-21 05:17:23.872677
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0001_foundation'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('organisations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('api_keys',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    op.create_index(op.f('ix_api_keys_organisation_id'), 'api_keys', ['organisation_id'], unique=False)
    op.create_table('idempotency_keys',
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('body_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', 'key')
    )
    op.create_geospatial_table('site_requests',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('contact', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('impact', sa.String(length=32), nullable=False),
    sa.Column('modes', postgresql.ARRAY(sa.String(length=16)), nullable=False),
    sa.Column('shift', sa.String(length=16), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('geom', Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('geom_utm', Geometry(srid=25832, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), sa.Computed('ST_Transform(geom, 25832)', persisted=True), nullable=True),
    sa.Column('diversions_geom', Geometry(geometry_type='MULTILINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('diversions_utm', Geometry(geometry_type='MULTILINESTRING', srid=25832, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), sa.Computed('ST_Transform(diversions_geom, 25832)', persisted=True), nullable=True),
    sa.Column('replacement_geom', Geometry(geometry_type='MULTILINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('replacement_utm', Geometry(geometry_type='MULTILINESTRING', srid=25832, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), sa.Computed('ST_Transform(replacement_geom, 25832)', persisted=True), nullable=True),
    sa.Column('earliest_start', sa.Date(), nullable=False),
    sa.Column('latest_end', sa.Date(), nullable=False),
    sa.Column('duration_days', sa.Integer(), nullable=False),
    sa.Column('preferred_start', sa.Date(), nullable=True),
    sa.Column('bundle_with', postgresql.ARRAY(sa.String(length=36)), nullable=False),
    sa.Column('geometry_notes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('owner_id', 'external_id', name='uq_site_requests_owner_external_id')
    )
    op.create_geospatial_index('idx_site_requests_diversions_utm', 'site_requests', ['diversions_utm'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_index('idx_site_requests_geom', 'site_requests', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_index('idx_site_requests_geom_utm', 'site_requests', ['geom_utm'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_index('idx_site_requests_replacement_utm', 'site_requests', ['replacement_utm'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_site_requests_created_at'), 'site_requests', ['created_at'], unique=False)
    op.create_index(op.f('ix_site_requests_kind'), 'site_requests', ['kind'], unique=False)
    op.create_index(op.f('ix_site_requests_owner_id'), 'site_requests', ['owner_id'], unique=False)
    op.create_index(op.f('ix_site_requests_status'), 'site_requests', ['status'], unique=False)
    op.create_table('events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=True),
    sa.Column('organisation_id', sa.Uuid(), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['site_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_events_created_at'), 'events', ['created_at'], unique=False)
    op.create_index(op.f('ix_events_kind'), 'events', ['kind'], unique=False)
    op.create_index(op.f('ix_events_request_id'), 'events', ['request_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_events_request_id'), table_name='events')
    op.drop_index(op.f('ix_events_kind'), table_name='events')
    op.drop_index(op.f('ix_events_created_at'), table_name='events')
    op.drop_table('events')
    op.drop_index(op.f('ix_site_requests_status'), table_name='site_requests')
    op.drop_index(op.f('ix_site_requests_owner_id'), table_name='site_requests')
    op.drop_index(op.f('ix_site_requests_kind'), table_name='site_requests')
    op.drop_index(op.f('ix_site_requests_created_at'), table_name='site_requests')
    op.drop_geospatial_index('idx_site_requests_replacement_utm', table_name='site_requests', postgresql_using='gist', column_name='replacement_utm')
    op.drop_geospatial_index('idx_site_requests_geom_utm', table_name='site_requests', postgresql_using='gist', column_name='geom_utm')
    op.drop_geospatial_index('idx_site_requests_geom', table_name='site_requests', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_index('idx_site_requests_diversions_utm', table_name='site_requests', postgresql_using='gist', column_name='diversions_utm')
    op.drop_geospatial_table('site_requests')
    op.drop_table('idempotency_keys')
    op.drop_index(op.f('ix_api_keys_organisation_id'), table_name='api_keys')
    op.drop_table('api_keys')
    op.drop_table('organisations')
