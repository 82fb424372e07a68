"""conflict rules shared by every query: ``works_in_road`` and ``corridor_carries``.

Two rules were spelled out as SQL in several domains (conflicts, slots, workflow, feeds, map, notices): whether
works lie in the road, and which works count on a corridor. They are now one SQL function each, the twins of
``service.geo.rules.in_road`` and ``service.geo.rules.on_corridor`` (tests compare them):

- ``works_in_road(kind, modes)``: works in the road and works on a track of their own (an S-Bahn line, a tram on
  its own track bed) do not take each other's space; they clash only where their footprints meet.
- ``corridor_carries(corridor, buffer_m, footprint)``: works count on a corridor when they run along it (a point
  within the buffer; half of a line's length or a polygon's area, or 100 m of a line, inside the corridor's band),
  not when they only cross it or end at it.

Both are immutable; callers keep an ``ST_DWithin`` on the indexed columns beside ``corridor_carries`` so that
the GiST index still picks the candidates.

Revision ID: 0015_rule_functions
Revises: 0014_change_fields
"""

from alembic import op

revision = "0015_rule_functions"
down_revision = "0014_change_fields"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        create function works_in_road(kind text, modes varchar[]) returns boolean
        language sql immutable parallel safe as $$
            select coalesce(modes, '{}') && array['car', 'cycle']::varchar[]
                or (kind = 'tram_track' and cardinality(coalesce(modes, '{}')) = 0)
                or (kind not in ('tram_track', 'rail')
                    and not (coalesce(modes, '{}') <@ array['rail']::varchar[]
                             and coalesce(modes, '{}') @> array['rail']::varchar[]))
        $$
    """)
    op.execute("""
        create function corridor_carries(corridor geometry, buffer_m float8, footprint geometry) returns boolean
        language sql immutable parallel safe as $$
            select st_dwithin(corridor, footprint, buffer_m + 0.001) and (
                st_dimension(footprint) = 0
                or (select case when st_dimension(footprint) = 1
                                then st_length(x) >= 100.0 - 0.001 or st_length(x) >= 0.5 * st_length(footprint) - 0.001
                                else st_area(x) >= 0.5 * st_area(footprint) - 0.001 end
                    from (select st_intersection(footprint, st_buffer(corridor, buffer_m + 0.001, 'quad_segs=8')) as x) i))
        $$
    """)


def downgrade() -> None:
    op.execute("drop function corridor_carries(geometry, float8, geometry)")
    op.execute("drop function works_in_road(text, varchar[])")
