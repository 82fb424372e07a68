"""Detailed geometries cut into small pieces, so that distance checks between requests use the GiST indexes.

A request may bring a footprint, diversions or replacement routes of up to 10,000 vertices each (a diversion
network of several such lines). Its bounding box then covers a good part of the city: an index lookup by
``ST_DWithin`` on the whole geometry finds hundreds of stored sites, and each of them is checked against every
vertex (seconds to minutes per request, with the rows it reads locked). The queries that check requests against the
stored sites (conflicts, slot placement, plan runs) therefore look up the sites near each *piece* of such a geometry
on the indexes (``b.geom_utm && ST_Expand(piece, d)``), and check each pair piece against piece, a detailed stored
site cut the same way, so that nothing is checked whole against everything in its bounding box.

The pieces are exact, not an approximation (no vertex is moved or added, unlike ``ST_Subdivide``):

- a geometry of at most :data:`PIECE_VERTICES` vertices is its own (single) piece;
- a larger line or polygon is cut into runs of :data:`PIECE_VERTICES` consecutive segments of each line or ring
  (LineStrings of its own vertices, each run starting where the one before ended). The distance of a line to
  anything is the least distance of its segments, so the least distance over its runs is the line's distance,
  computed from the same segments by the same routine;
- a larger polygon also has its area as a piece (``area``: true): whatever intersects the polygon is at distance 0,
  and whatever does not is nearest to its boundary, whose segments are the other pieces. A pair with an ``area``
  piece is checked with ``ST_Intersects`` (PostGIS prepares the polygon once for the query), never by distance;
- a larger MultiPoint is cut into runs of :data:`PIECE_VERTICES` points.

So ``ST_DWithin(g, h, d)`` is "some piece of ``g`` is within ``d`` of some piece of ``h``" (a pair with an ``area``
piece: intersects), and ``ST_Distance(g, h)`` the least distance over the pairs of pieces (an intersecting pair with
an ``area`` piece: 0). ``tests/geo/test_pieces.py`` compares the queries built on them with an independent Shapely
computation and checks the plans use the indexes.

No ORM in here: the module writes SQL text (and counts the vertices of WKB with Shapely).
"""

from __future__ import annotations

import shapely

from service.geo.precision import GEOJSON_DECIMALS

# Segments (or points) per piece: small enough that a piece's bounding box finds only its neighbours in the index,
# large enough that a geometry of 10,000 vertices makes no more than a few hundred index lookups.
PIECE_VERTICES = 64
# A detailed stored geometry is cut only when more than this many pieces of the requests checked lie near it:
# cutting it costs about as much as checking that many small pieces against it whole.
WHOLE_LOAD = 8


def detailed_wkb(*geometries: bytes | None) -> bool:
    """Whether one of the geometries (WKB; None: none) has more than :data:`PIECE_VERTICES` vertices."""
    return any(g is not None and shapely.get_num_coordinates(shapely.from_wkb(g)) > PIECE_VERTICES
               for g in geometries)


def pieces_sql(geom: str, size: int = PIECE_VERTICES) -> str:
    """A subquery with the columns ``g`` (geometry) and ``area`` (boolean) of the pieces of the SQL geometry
    expression ``geom`` (a column of an outer row, for a ``CROSS JOIN LATERAL``) cut into runs of ``size``
    segments; no rows for NULL. Correct for any geometry; :func:`split_sql` keeps a small one whole without
    calling it.

    A run of a line or ring is a LineString of its consecutive vertices (the last vertex of one run is the first of
    the next): PostGIS measures one line against another in one pass, a collection of segments pair by pair (some
    twenty times slower)."""
    k = int(size)
    i = "d.path[array_length(d.path, 1)]"
    return f"""
        SELECT CASE WHEN ST_Dimension({geom}) > 0 AND count(*) > 1
                    THEN ST_MakeLine(array_agg(d.geom ORDER BY {i})) ELSE ST_Collect(d.geom) END AS g, false AS area
        FROM ST_DumpPoints({geom}) d
        CROSS JOIN LATERAL (SELECT ({i} - 1) / {k} AS run UNION ALL
                            SELECT ({i} - 2) / {k} WHERE {i} > 1 AND ({i} - 1) % {k} = 0) r
        GROUP BY d.path[1:array_length(d.path, 1) - 1], r.run
        UNION ALL
        SELECT {geom}, true WHERE ST_Dimension({geom}) = 2"""


def split_sql(columns: str, source: str, geom: str, size: int = PIECE_VERTICES, whole: str = "false") -> str:
    """``SELECT {columns}, g, area FROM {source}``: every row of ``source`` (a FROM clause) once per piece of its
    geometry ``geom`` (NULL: no row). A geometry of at most ``size`` vertices, or where ``whole`` (SQL) holds, is
    its own piece, without the per-row cost of cutting."""
    k = int(size)
    return f"""
        SELECT {columns}, {geom} AS g, false AS area FROM {source} WHERE ST_NPoints({geom}) <= {k} OR {whole}
        UNION ALL
        SELECT {columns}, x.g, x.area FROM {source} CROSS JOIN LATERAL ({pieces_sql(geom, k)}) x
        WHERE ST_NPoints({geom}) > {k} AND NOT {whole}"""


def _within(g: str, area: str, h: str, h_area: str, distance: str) -> str:
    return f"CASE WHEN {area} OR {h_area} THEN ST_Intersects({g}, {h}) ELSE ST_DWithin({g}, {h}, {distance}) END"


def _distance(g: str, area: str, h: str, h_area: str) -> str:
    return (f"CASE WHEN {area} OR {h_area} THEN CASE WHEN ST_Intersects({g}, {h}) THEN 0.0 END "
            f"ELSE ST_Distance({g}, {h}) END")


# (a's column, b's indexed column, b's column's name, flag) of the pair checks; "space" uses the pair's distance.
_CHECKS = (("geom", "b.geom_utm", "geom", "space"), ("geom", "b.diversions_utm", "div", "a_on_b_div"),
           ("geom", "b.replacement_utm", "rep", "a_on_b_rep"), ("div", "b.geom_utm", "geom", "b_on_a_div"),
           ("rep", "b.geom_utm", "geom", "b_on_a_rep"))


def pair_ctes(*, required: str, reach: str, tol: str = "0", pair_filter: str = "true", routes: bool = True,
              size: int = PIECE_VERTICES) -> str:
    """Common table expressions (to follow a CTE ``a`` with a unique non-null key ``k`` and the EPSG:25832 columns
    ``geom_utm``, ``diversions_utm``, ``replacement_utm``) that pair each row of ``a`` with the stored requests
    (``site_requests b``) near it, ending in ``near``: one row per candidate pair ``(a_k, b_id)`` with

    - ``space_hit``: the footprints within ``required`` (SQL on ``a`` and ``b``; never more than ``reach``),
      ``space_d`` their distance where it is at most ``reach`` (else NULL: measure it whole where it is needed);
    - ``a_on_b_div``, ``a_on_b_rep``: ``a``'s footprint within ``tol`` of ``b``'s diversions / replacement routes;
    - ``b_on_a_div``, ``b_on_a_rep``: ``b``'s footprint within ``tol`` of ``a``'s diversions / replacement routes.

    ``b``'s geometries are found on their GiST indexes near each piece of ``a``'s and checked against it; a detailed
    geometry of ``b`` is cut too and checked piece against piece where many of ``a``'s pieces lie near it
    (:data:`WHOLE_LOAD`).

    Every pair with one of these true has a row (others may too: the caller filters). ``pair_filter`` (SQL on
    ``a`` and ``b``) leaves pairs out early. ``required``, ``reach`` and ``tol`` are SQL (parameters such as
    ``:tol``). Without ``routes`` only the footprints are compared (the route flags are all false)."""
    k = int(size)
    arms, flags = [], []
    for a_col, b_column, b_col, flag in _CHECKS:
        if flag != "space" and not routes:
            flags.append(f"false AS {flag}")
            continue
        dist, need = (reach, required) if flag == "space" else (tol, tol)
        # a small geometry of b is checked here, whole; a detailed one piece by piece below (pieces_b)
        whole = f"ST_NPoints({b_column}) <= {k}"
        measured = _distance("p.g", "p.area", b_column, "false") if flag == "space" else "CAST(NULL AS float8)"
        arms.append(f"""
        SELECT p.a_k, b.id AS b_id, '{a_col}' AS a_col, '{b_col}' AS b_col, CAST({dist} AS float8) AS reach,
               CAST({need} AS float8) AS need, w.whole,
               CASE WHEN w.whole THEN {_within("p.g", "p.area", b_column, "false", need)} END AS hit,
               CASE WHEN w.whole THEN {measured} END AS d,
               CASE WHEN NOT w.whole THEN p.g END AS g, p.area,
               CASE WHEN NOT w.whole THEN ST_Expand(p.g, {dist}) END AS box
        FROM pieces_a p JOIN a ON a.k = p.a_k JOIN site_requests b ON {b_column} && ST_Expand(p.g, {dist})
        CROSS JOIN LATERAL (SELECT {whole} AS whole) w
        WHERE p.col = '{a_col}' AND {pair_filter}""")
        only = f"FILTER (WHERE h.a_col = '{a_col}' AND h.b_col = '{b_col}')"
        flags.append(f"COALESCE(bool_or(h.hit) {only}, false) AS {'space_hit' if flag == 'space' else flag}")
        if flag == "space":
            flags.append(f"CASE WHEN min(h.d) {only} <= min(h.reach) {only} THEN min(h.d) {only} END AS space_d")
    columns = ",\n               ".join(flags)
    a_columns = ("(VALUES ('geom', a.geom_utm), ('div', a.diversions_utm), ('rep', a.replacement_utm)) c(col, geom)"
                 if routes else "(VALUES ('geom', a.geom_utm)) c(col, geom)")
    piece_distance = _distance("x.g", "x.area", "q.g", "q.area")
    b_column = "CASE c.b_col WHEN 'geom' THEN b.geom_utm WHEN 'div' THEN b.diversions_utm ELSE b.replacement_utm END"
    b_source = (f"(SELECT b_id, b_col, count(*) AS load FROM pieces_cand WHERE NOT whole GROUP BY b_id, b_col) c "
                f"JOIN site_requests b ON b.id = c.b_id CROSS JOIN LATERAL (SELECT {b_column} AS geom) v")
    return f"""
    pieces_a AS MATERIALIZED ({split_sql("a.k AS a_k, c.col", f"a CROSS JOIN LATERAL {a_columns}", "c.geom", k)}
    ), pieces_cand AS MATERIALIZED ({" UNION ALL ".join(arms)}
    ), pieces_b AS MATERIALIZED ({split_sql("c.b_id, c.b_col AS col", b_source, "v.geom", k, f"c.load <= {WHOLE_LOAD}")}
    ), near AS (
        SELECT h.a_k, h.b_id,
               {columns}
        FROM (
            SELECT a_k, b_id, a_col, b_col, reach, hit, d FROM pieces_cand WHERE whole
            UNION ALL
            SELECT x.a_k, x.b_id, x.a_col, x.b_col, x.reach, {_within("x.g", "x.area", "q.g", "q.area", "x.need")},
                   CASE WHEN x.a_col = 'geom' AND x.b_col = 'geom' THEN {piece_distance} END
            FROM pieces_cand x JOIN pieces_b q ON q.b_id = x.b_id AND q.col = x.b_col AND x.box && q.g
            WHERE NOT x.whole
        ) h
        GROUP BY h.a_k, h.b_id
    )"""


def geojson_sql(geom: str, decimals: int = GEOJSON_DECIMALS) -> str:
    """``ST_AsGeoJSON`` of the SQL geometry expression ``geom`` (EPSG:4326, a column) with ``decimals`` places, valid
    on that grid: as stored where rounding keeps it valid, else reduced to the grid (``ST_ReducePrecision``: valid,
    parts that collapse dropped) with exterior rings counter-clockwise, of the same dimension; a geometry that would
    collapse whole is written as before."""
    d = int(decimals)
    grid = f"1e-{d}"
    reduced = f"ST_ReducePrecision({geom}, {grid})"
    return (f"ST_AsGeoJSON(CASE WHEN ST_IsValid(ST_SnapToGrid({geom}, {grid})) THEN {geom} "
            f"WHEN NOT ST_IsEmpty({reduced}) AND ST_Dimension({reduced}) = ST_Dimension({geom}) "
            f"THEN ST_ForcePolygonCCW({reduced}) ELSE {geom} END, {d})")
