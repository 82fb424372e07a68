"""conflicts: rules (zones, corridors, moratoriums, blackouts), stored conflicts, dig-once opportunities.

Revision ID: 0002_conflicts
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0002_conflicts"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def _geom(name: str, srid: int, *, nullable: bool, computed: bool = False) -> sa.Column:
    kwargs = dict(srid=srid, dimension=2, spatial_index=False, from_text="ST_GeomFromEWKT", name="geometry")
    if computed:
        return sa.Column(name, Geometry(**kwargs), sa.Computed("ST_Transform(geom, 25832)", persisted=True),
                         nullable=True)
    return sa.Column(name, Geometry(nullable=nullable, **kwargs), nullable=nullable)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def upgrade() -> None:
    op.create_geospatial_table(
        "zones",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("min_impact", sa.String(length=32), nullable=False),
        _geom("geom", 4326, nullable=False),
        _geom("geom_utm", 25832, nullable=True, computed=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_geospatial_index("idx_zones_geom_utm", "zones", ["geom_utm"], unique=False,
                               postgresql_using="gist", postgresql_ops={})
    op.create_geospatial_table(
        "corridors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("buffer_m", sa.Float(), nullable=False),
        sa.Column("max_concurrent", sa.Integer(), nullable=False),
        sa.Column("min_impact", sa.String(length=32), nullable=False),
        sa.Column("routes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("stops", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        _geom("geom", 4326, nullable=False),
        _geom("geom_utm", 25832, nullable=True, computed=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(["owner_id"], ["organisations.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_geospatial_index("idx_corridors_geom_utm", "corridors", ["geom_utm"], unique=False,
                               postgresql_using="gist", postgresql_ops={})
    op.create_index(op.f("ix_corridors_owner_id"), "corridors", ["owner_id"], unique=False)
    op.create_geospatial_table(
        "moratoriums",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        _geom("geom", 4326, nullable=False),
        _geom("geom_utm", 25832, nullable=True, computed=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_geospatial_index("idx_moratoriums_geom_utm", "moratoriums", ["geom_utm"], unique=False,
                               postgresql_using="gist", postgresql_ops={})
    op.create_geospatial_table(
        "blackouts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("max_impact", sa.String(length=32), nullable=False),
        _geom("geom", 4326, nullable=True),
        _geom("geom_utm", 25832, nullable=True, computed=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_geospatial_index("idx_blackouts_geom_utm", "blackouts", ["geom_utm"], unique=False,
                               postgresql_using="gist", postgresql_ops={})
    op.create_table(
        "conflicts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("request_a", sa.Uuid(), nullable=False),
        sa.Column("request_b", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("hard", sa.Boolean(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("overlap_start", sa.Date(), nullable=False),
        sa.Column("overlap_end", sa.Date(), nullable=False),
        sa.Column("reason", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("zone_id", sa.Uuid(), nullable=True),
        sa.Column("corridor_id", sa.Uuid(), nullable=True),
        sa.Column("moratorium_id", sa.Uuid(), nullable=True),
        sa.Column("blackout_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("request_b IS NULL OR request_a < request_b", name="ck_conflicts_pair_order"),
        sa.ForeignKeyConstraint(["blackout_id"], ["blackouts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["corridor_id"], ["corridors.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["moratorium_id"], ["moratoriums.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_a"], ["site_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_b"], ["site_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("blackout_id", "corridor_id", "kind", "moratorium_id", "request_a", "request_b", "zone_id"):
        op.create_index(op.f(f"ix_conflicts_{column}"), "conflicts", [column], unique=False)
    op.create_table(
        "opportunities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_a", sa.Uuid(), nullable=False),
        sa.Column("request_b", sa.Uuid(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("gap_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("accepted_by", sa.Uuid(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("request_a < request_b", name="ck_opportunities_pair_order"),
        sa.ForeignKeyConstraint(["accepted_by"], ["organisations.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["request_a"], ["site_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_b"], ["site_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_a", "request_b", name="uq_opportunities_pair"),
    )
    for column in ("request_a", "request_b", "status"):
        op.create_index(op.f(f"ix_opportunities_{column}"), "opportunities", [column], unique=False)


def downgrade() -> None:
    for column in ("request_a", "request_b", "status"):
        op.drop_index(op.f(f"ix_opportunities_{column}"), table_name="opportunities")
    op.drop_table("opportunities")
    for column in ("blackout_id", "corridor_id", "kind", "moratorium_id", "request_a", "request_b", "zone_id"):
        op.drop_index(op.f(f"ix_conflicts_{column}"), table_name="conflicts")
    op.drop_table("conflicts")
    for table in ("blackouts", "moratoriums", "corridors", "zones"):
        if table == "corridors":
            op.drop_index(op.f("ix_corridors_owner_id"), table_name="corridors")
        op.drop_geospatial_index(f"idx_{table}_geom_utm", table_name=table, postgresql_using="gist",
                                 column_name="geom_utm")
        op.drop_geospatial_table(table)
