"""corridors count the works that touch them and stop or restrict their mode: ``corridor_counts``.

A corridor's limit ("at most N works at a time") followed geometry only (``corridor_carries``, 0015): a sewer
closure along a tram line for cars and cycles, with the trams running (the GTFS-RT feed gives the tram line no
alert), took the tram corridor's place, while a full closure crossing the tram line for trams did not count at all.
Works now count on a corridor when

- they touch it: they run along it (0015's rule) or cross it (the footprint reaches the corridor's line itself);
  works that only end near it (a trench along a side street) still do not; and
- they stop or restrict the corridor's mode (``corridor_mode_hit(corridor_kind, kind, modes)``, twin of
  ``service.geo.rules.corridor_mode_hit`` and the trams and trains of the GTFS-RT feed's ``transit_modes``): on a
  ``tram`` corridor works naming ``tram`` or ``transit``, works on a tram track, or works in the road naming no
  modes at all; on a ``rail`` corridor works naming ``rail`` or on a rail track. Bus and arterial corridors keep
  their rule: every works of at least the corridor's ``min_impact``.

The impact threshold (``min_impact``) stays with the callers. ``corridor_counts(corridor_kind, corridor, buffer_m,
footprint, kind, modes)`` is both; callers keep their ``ST_DWithin`` on the indexed columns.

Revision ID: 0025_corridor_modes
Revises: 0024_public_title_revision
"""

from alembic import op

revision = "0025_corridor_modes"
down_revision = "0024_public_title_revision"
branch_labels = None
depends_on = None

_ALONG = """
            st_dwithin(corridor, footprint, buffer_m + 0.001) and (
                st_dimension(footprint) = 0
                or (select case when st_dimension(footprint) = 1
                                then st_length(x) >= 100.0 - 0.001 or st_length(x) >= 0.5 * st_length(footprint) - 0.001
                                else st_area(x) >= 0.5 * st_area(footprint) - 0.001 end
                    from (select st_intersection(footprint, st_buffer(corridor, buffer_m + 0.001, 'quad_segs=8')) as x) i))
"""


def upgrade() -> None:
    op.execute(f"""
        create or replace function corridor_carries(corridor geometry, buffer_m float8, footprint geometry)
        returns boolean language sql immutable parallel safe as $$
            select st_dwithin(corridor, footprint, 0.001) or ({_ALONG})
        $$
    """)
    op.execute("""
        create function corridor_mode_hit(corridor_kind text, kind text, modes varchar[]) returns boolean
        language sql immutable parallel safe as $$
            select case corridor_kind
                when 'tram' then coalesce(modes, '{}') && array['tram', 'transit']::varchar[]
                                 or kind = 'tram_track'
                                 or (cardinality(coalesce(modes, '{}')) = 0 and works_in_road(kind, modes))
                when 'rail' then coalesce(modes, '{}') && array['rail']::varchar[] or kind = 'rail'
                else true end
        $$
    """)
    op.execute("""
        create function corridor_counts(corridor_kind text, corridor geometry, buffer_m float8, footprint geometry,
                                        kind text, modes varchar[]) returns boolean
        language sql immutable parallel safe as $$
            select corridor_mode_hit(corridor_kind, kind, modes) and corridor_carries(corridor, buffer_m, footprint)
        $$
    """)


def downgrade() -> None:
    op.execute("drop function corridor_counts(text, geometry, float8, geometry, text, varchar[])")
    op.execute("drop function corridor_mode_hit(text, text, varchar[])")
    op.execute(f"""
        create or replace function corridor_carries(corridor geometry, buffer_m float8, footprint geometry)
        returns boolean language sql immutable parallel safe as $$
            select {_ALONG}
        $$
    """)
