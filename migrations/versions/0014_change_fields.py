"""workflow: changes after approval may also change the works' effect on traffic.

A change could only carry a later end, a longer duration and a new area. A site whose works must switch from a
lane closure to a full closure, gain a diversion or a rail-replacement bus route, affect other modes or move to
night work had no way to say so. ``request_changes`` now holds ``impact``, ``modes``, ``shift``,
``diversions_geom`` and ``replacement_geom``: null keeps the request's value; an empty MULTILINESTRING removes
its routes.

Revision ID: 0014_change_fields
Revises: 0013_request_precedences
"""

import geoalchemy2  # noqa: F401
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0014_change_fields"
down_revision = "0013_request_precedences"
branch_labels = None
depends_on = None


def _route() -> Geometry:
    return Geometry("MULTILINESTRING", srid=4326, spatial_index=False)


def upgrade() -> None:
    op.add_column("request_changes", sa.Column("impact", sa.String(length=32), nullable=True))
    op.add_column("request_changes", sa.Column("modes", postgresql.ARRAY(sa.String(length=16)), nullable=True))
    op.add_column("request_changes", sa.Column("shift", sa.String(length=16), nullable=True))
    op.add_column("request_changes", sa.Column("diversions_geom", _route(), nullable=True))
    op.add_column("request_changes", sa.Column("replacement_geom", _route(), nullable=True))


def downgrade() -> None:
    for column in ("replacement_geom", "diversions_geom", "shift", "modes", "impact"):
        op.drop_column("request_changes", column)
