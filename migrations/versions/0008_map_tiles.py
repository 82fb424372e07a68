"""map: Web Mercator copies of site geometries (whole and as a point) for fast vector tiles.

Generated columns, so every writer keeps them right without knowing about them.

Revision ID: 0008_map_tiles
Revises: 0007_map
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0008_map_tiles"
down_revision = "0007_map"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("site_requests", sa.Column(
        "geom_3857", Geometry(srid=3857, dimension=2, spatial_index=False, from_text="ST_GeomFromEWKT",
                              name="geometry"),
        sa.Computed("ST_Transform(geom, 3857)", persisted=True), nullable=True))
    op.add_column("site_requests", sa.Column(
        "point_3857", Geometry(geometry_type="POINT", srid=3857, dimension=2, spatial_index=False,
                               from_text="ST_GeomFromEWKT", name="geometry"),
        sa.Computed("ST_Transform(ST_PointOnSurface(geom), 3857)", persisted=True), nullable=True))


def downgrade() -> None:
    op.drop_column("site_requests", "point_3857")
    op.drop_column("site_requests", "geom_3857")
