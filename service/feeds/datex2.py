"""DATEX II v3.6 (EN 16157) situation publication, in an Exchange 2020 message container.

Shape (compare the NDW sample in ``../shared/data/standards/datex2/samples/``)::

    con:messageContainer
      con:payload  xsi:type=sit:SituationPublication   one sit:situation per site, id = the request id
        sit:situationRecord  MaintenanceWorks | ConstructionWorks | PublicEvent   (what is done, where, when)
        sit:situationRecord  RoadOrCarriagewayOrLaneManagement                   (roadClosed / laneClosures,
                                                                                  works that restrict a lane)
        sit:situationRecord  ReroutingManagement                                 (a diversion of works that
                                                                                  restrict a lane)
      con:exchangeInformation   snapshotPull, supplier = the publisher
      con:informationManagement elementReference cancelled | closed for records that were published and
                                are no longer (withdrawn / rejected → cancelled, completed / over → closed;
                                a record a still-published site no longer has → cancelled, :class:`Dropped`)

Every record carries ``version`` = the site's publication version, so a consumer sees updates as new
versions of the same record ids. The closure record, the rerouting record and the severity follow the impact on
the vehicles on the road (``common.vehicle_impact``): works that do not lie in the road (``common.in_road``: an
S-Bahn line, a tram on its own track bed) keep their works record, with the severity and wording of no road
impact, but never a closure record, never a rerouting record (a diversion there is the buses', and no road user
has to follow diversion signs past a road that stays open) and never a street guessed from their description; a
closure of the footway alone is a works record of low severity, as impact ``footway`` is; a closure of the cycle
lane alone is a ``laneClosures`` record for bicycles (``forVehiclesWithCharacteristicsOf`` ``bicycle``, low
severity), of the bus lane alone a ``laneClosures`` record (medium), never ``roadClosed``.
``overallStartTime`` is when the works begin as in WZDx and GTFS-RT (``common.site_start``): the time they were
reported set up for an active site (the owner's start, an emergency), else local midnight of the first day;
``overallEndTime`` local midnight after the last day, for night work 07:00 the morning after (``common.site_end``).
Day and night work (the request's ``shift``) occupy the road only at their hours (``common.SHIFT_HOURS``: day 07:00
to 20:00, night 20:00 to 07:00, local time): one ``validPeriod`` from the first shift's start to the last one's end,
named "Arbeiten nur tagsüber, 07:00–20:00 Uhr" / "Nachtarbeit, 20:00–07:00 Uhr" (German, then English), with the
daily ``recurringTimePeriodOfDay``; a night's ``endTimeOfPeriod`` lies before its ``startTimeOfPeriod``: it runs
past midnight. Such works reported set up have a first ``validPeriod`` "Baustelle eingerichtet" / "Works set up"
from the set-up time to the end of the shift running then or of the next one (``common.setup_period``): in place
now, not only from their next shift. The public comment names the hours too. ``continuous`` works have no
``validPeriod``.
Positions are WGS84 ``latitude longitude`` pairs (GML ``posList``) with 6 decimals, of the geometry on that grid and
valid there (``service.geo.precision.on_grid``: parts a few centimetres apart that the rounding would make overlap are
merged, never published as a self-intersecting polygon).
Pure: takes :class:`FeedSite` lists, returns bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree
from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge

from service.feeds.common import (
    BUS_LANE,
    CYCLE_LANE,
    LANE_IMPACTS,
    SHIFT_HOURS,
    EndedSite,
    FeedMeta,
    FeedSite,
    iso_z,
    next_shift_start,
    road_names,
    sentence,
    setup_period,
    shift_bounds,
    shift_text,
    site_end,
    site_start,
    vehicle_impact,
)
from service.geo.precision import DATEX2_DECIMALS, on_grid

NS = {
    "con": "http://datex2.eu/schema/3/messageContainer",
    "sit": "http://datex2.eu/schema/3/situation",
    "com": "http://datex2.eu/schema/3/common",
    "loc": "http://datex2.eu/schema/3/locationReferencing",
    "ex": "http://datex2.eu/schema/3/exchangeInformation",
    "inf": "http://datex2.eu/schema/3/informationManagement",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
XSI_TYPE = f"{{{NS['xsi']}}}type"
MEDIA_TYPE = "application/xml"

# kind → (record type, detail). MaintenanceWorks: roadMaintenanceType; ConstructionWorks: constructionWorkType.
RECORD_TYPES = {
    "road_maintenance": ("MaintenanceWorks", "maintenanceWork"),
    "gas": ("MaintenanceWorks", "roadworks"),
    "water": ("MaintenanceWorks", "roadworks"),
    "sewer": ("MaintenanceWorks", "roadworks"),
    "district_heating": ("MaintenanceWorks", "roadworks"),
    "power": ("MaintenanceWorks", "roadworks"),
    "telecom": ("MaintenanceWorks", "roadworks"),
    "road_construction": ("ConstructionWorks", "roadImprovementOrUpgrading"),
    "tram_track": ("ConstructionWorks", "constructionWork"),
    "rail": ("ConstructionWorks", "constructionWork"),
    "bridge": ("ConstructionWorks", "constructionWork"),
    "building": ("ConstructionWorks", "constructionWork"),
    "event": ("PublicEvent", "other"),
    "other": ("MaintenanceWorks", "other"),
}
SUBJECTS = {
    "gas": "gasMainWork",
    "water": "waterMain",
    "sewer": "sewer",
    "district_heating": "heatingPipe",
    "power": "buriedCables",
    "telecom": "buriedCables",
    "tram_track": "publicTransportInfrastructure",
    "rail": "publicTransportInfrastructure",
    "bridge": "bridge",
    "road_construction": "road",
    "road_maintenance": "road",
}
# by the impact on the vehicles on the road (common.vehicle_impact)
CLOSURE_TYPES = {"full_closure": "roadClosed", "lane_reduction": "laneClosures", "one_way": "laneClosures",
                 BUS_LANE: "laneClosures", CYCLE_LANE: "laneClosures"}
SEVERITY = {"full_closure": "high", "one_way": "medium", "lane_reduction": "medium", BUS_LANE: "medium",
            CYCLE_LANE: "low", "footway": "low", "none": "lowest"}
# network management records that apply to one kind of vehicle only: the cycle lane's to bicycles
FOR_VEHICLES = {CYCLE_LANE: "bicycle"}


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    prefix, name = tag.split(":")
    node = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}")
    for key, value in attrs.items():
        node.set(XSI_TYPE if key == "xsi_type" else key, value)
    if text is not None:
        node.text = text
    return node


def _multilingual(parent: etree._Element, tag: str, values: Iterable[tuple[str, str]]) -> None:
    holder = _el(_el(parent, tag), "com:values")
    for lang, value in values:
        _el(holder, "com:value", value, lang=lang)


def _pos_list(coords: Iterable[tuple[float, ...]]) -> str:
    return " ".join(f"{c[1]:.{DATEX2_DECIMALS}f} {c[0]:.{DATEX2_DECIMALS}f}" for c in coords)


def record_ids(site_id: str, vehicle_impact: str, road_diversion: bool) -> list[str]:
    """The situation record ids a site publishes (stable across versions). ``vehicle_impact`` is the impact on the
    vehicles on the road (:func:`common.vehicle_impact`), ``road_diversion`` whether a diversion is signed for road
    traffic (:attr:`common.FeedSite.road_diversion`): works off the road (an S-Bahn line, a tram's own track bed)
    have neither a closure nor a rerouting record, a footway restriction no rerouting record, in the payload and in
    the cancellations alike."""
    ids = [f"{site_id}_works"]
    if vehicle_impact in CLOSURE_TYPES:
        ids.append(f"{site_id}_closure")
    if road_diversion:
        ids.append(f"{site_id}_rerouting")
    return ids


def site_records(site_id: str, kind: str, impact: str, modes: Iterable[str], has_diversion: bool) -> list[str]:
    """:func:`record_ids` of a site from its request's fields: what its situation publishes, with the rules of
    :class:`common.FeedSite` (``vehicle_impact``, ``road_diversion``). Stored per publication, so that a record the
    site no longer has is listed as cancelled (:class:`Dropped`)."""
    impact_on_vehicles = vehicle_impact(kind, impact, modes)
    return record_ids(site_id, impact_on_vehicles, has_diversion and impact_on_vehicles in LANE_IMPACTS)


@dataclass(frozen=True)
class Dropped:
    """A situation record that is no longer published although its situation may still be: a record a
    still-published site no longer has (``cancelled``), or one an ended site had when it was last published that
    its ended record list no longer names (changed and ended between two syncs). ``version``: the publication
    version it was last published in."""

    record_id: str
    version: int
    status: str = "cancelled"


# --- location ---------------------------------------------------------------------------------------------


def _display(parent: etree._Element, geom: BaseGeometry) -> None:
    point = geom.representative_point()
    coords = _el(parent, "loc:coordinatesForDisplay")
    _el(coords, "loc:latitude", f"{point.y:.{DATEX2_DECIMALS}f}")
    _el(coords, "loc:longitude", f"{point.x:.{DATEX2_DECIMALS}f}")


def _supplementary(parent: etree._Element, site: FeedSite) -> None:
    # Works off the road name a street only where their title does: the description of rail works names the
    # streets of the replacement buses, not where the works are.
    names = road_names(site.title, site.description) if site.in_road else road_names(site.title, fallback=False)
    if not names:
        return
    desc = _el(parent, "loc:supplementaryPositionalDescription")
    for name in names:
        _el(_el(desc, "loc:roadInformation"), "loc:roadName", name)


def _location(parent: etree._Element, tag: str, geom: BaseGeometry, site: FeedSite) -> None:
    """One ``loc:Location`` for a simple geometry."""
    if isinstance(geom, Point):
        loc = _el(parent, tag, xsi_type="loc:PointLocation")
        _display(loc, geom)
        _supplementary(loc, site)
        coords = _el(_el(loc, "loc:pointByCoordinates"), "loc:pointCoordinates")
        _el(coords, "loc:latitude", f"{geom.y:.{DATEX2_DECIMALS}f}")
        _el(coords, "loc:longitude", f"{geom.x:.{DATEX2_DECIMALS}f}")
    elif isinstance(geom, LineString):
        loc = _el(parent, tag, xsi_type="loc:LinearLocation")
        _display(loc, geom)
        _supplementary(loc, site)
        _el(_el(loc, "loc:gmlLineString", srsDimension="2"), "loc:posList", _pos_list(geom.coords))
    else:  # Polygon / MultiPolygon
        loc = _el(parent, tag, xsi_type="loc:AreaLocation")
        _display(loc, geom)
        multi = _el(loc, "loc:gmlMultiPolygon")
        for poly in getattr(geom, "geoms", [geom]):
            gml = _el(multi, "loc:gmlPolygon")
            _el(_el(gml, "loc:exterior", srsDimension="2"), "loc:posList", _pos_list(poly.exterior.coords))
            for ring in poly.interiors:
                _el(_el(gml, "loc:interior", srsDimension="2"), "loc:posList", _pos_list(ring.coords))


def _location_reference(parent: etree._Element, site: FeedSite) -> None:
    # on the grid of the positions written (6 decimals), and valid there (service.geo.precision)
    geom = on_grid(site.geometry, DATEX2_DECIMALS)
    if isinstance(geom, MultiLineString):
        merged = linemerge(geom)
        geom = merged if isinstance(merged, LineString) else geom
    if isinstance(geom, MultiPoint | MultiLineString) and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if isinstance(geom, MultiPoint | MultiLineString):
        group = _el(parent, "sit:locationReference", xsi_type="loc:LocationGroupByList")
        for part in geom.geoms:
            _location(group, "loc:locationContainedInGroup", part, site)
    elif isinstance(geom, Point | LineString | Polygon | MultiPolygon):
        _location(parent, "sit:locationReference", geom, site)
    else:  # anything else: its representative point
        _location(parent, "sit:locationReference", geom.representative_point(), site)


# --- records ----------------------------------------------------------------------------------------------


def _record_head(situation: etree._Element, site: FeedSite, record_id: str, xsi_type: str,
                 meta: FeedMeta, *, impact: bool = False) -> etree._Element:
    rec = _el(situation, "sit:situationRecord", xsi_type=xsi_type, id=record_id, version=str(site.version))
    _el(rec, "sit:situationRecordCreationTime", iso_z(site.first_published))
    _el(rec, "sit:situationRecordVersionTime", iso_z(site.last_changed))
    _el(rec, "sit:probabilityOfOccurrence", "certain")
    _el(rec, "sit:severity", SEVERITY.get(site.vehicle_impact, "unknown"))
    source = _el(rec, "sit:source")
    _el(source, "com:sourceCountry", "de")
    _el(source, "com:sourceIdentification", str(site.owner_id))
    _multilingual(source, "com:sourceName", [("de", site.owner_name)])
    validity = _el(rec, "sit:validity")
    _el(validity, "com:validityStatus", "active" if site.active_now else "definedByValidityTimeSpec")
    period = _el(validity, "com:validityTimeSpecification")
    _el(period, "com:overallStartTime", iso_z(site_start(site, meta.timezone)[0]))
    _el(period, "com:overallEndTime", iso_z(site_end(site, meta.timezone)))
    _valid_period(period, site, meta)
    if impact and site.vehicle_impact == "full_closure":
        imp = _el(rec, "sit:impact")
        _el(imp, "sit:capacityRemaining", "0.0")
        _el(imp, "sit:numberOfOperationalLanes", "0")
    if xsi_type != "sit:PublicEvent":
        cause = _el(rec, "sit:cause")
        _el(cause, "sit:causeType", "roadMaintenance" if xsi_type == "sit:MaintenanceWorks" else "constructionWork")
    de, en = site.impact_text
    dates_de = f"{site.start.strftime('%d.%m.%Y')} – {site.end.strftime('%d.%m.%Y')}."
    dates_en = f"{site.start.isoformat()} – {site.end.isoformat()}."  # as the GTFS-RT alerts' English text
    hours = shift_text(site.shift)
    if hours is not None:  # day or night work: "01.04.2027 – 03.04.2027. Nachtarbeit, 20:00–07:00 Uhr."
        dates_de, dates_en = f"{dates_de} {hours[0]}.", f"{dates_en} {hours[1]}."
    comment = _el(rec, "sit:generalPublicComment")
    title = sentence(site.title)
    body = f"{title} {de}. {dates_de}" + (f" {sentence(site.description)}" if site.description else "")
    _multilingual(comment, "sit:comment", [("de", body), ("en", f"{title} {en}. {dates_en}")])
    _location_reference(rec, site)
    return rec


# The name of the first ``validPeriod`` of day or night work reported set up (``common.setup_period``).
SET_UP_NAME = ("Baustelle eingerichtet", "Works set up")


def _valid_period(period: etree._Element, site: FeedSite, meta: FeedMeta) -> None:
    """The hours day or night work occupies the road (``common.SHIFT_HOURS``), as one ``validPeriod`` within the
    overall period: from the first shift's start to the last one's end (``common.shift_bounds``), named in German
    and English, recurring daily at the local times of day. A night runs past midnight: its
    ``endTimeOfPeriod`` (07:00) is before its ``startTimeOfPeriod`` (20:00), and its last night ends at 07:00 the
    morning after the last day, where ``overallEndTime`` ends too (``common.site_end``). Works reported set up (an
    emergency, the owner's start) are in place from then, whatever their hours: a first ``validPeriod`` "Baustelle
    eingerichtet" / "Works set up" from the set-up time to the end of the shift running then or of the next one
    (``common.setup_period``, as the first WZDx occurrence and GTFS-RT period), and the recurring one from the next
    shift's start. ``continuous`` works have none: they are valid throughout the overall period."""
    bounds, names = shift_bounds(site, meta.timezone), shift_text(site.shift)
    if bounds is None or names is None:
        return
    begin, end = SHIFT_HOURS[site.shift]
    first = bounds[0]
    setup = setup_period(site, meta.timezone)
    if setup is not None:  # set up: in place from then to the end of that shift (or the next), then by its hours
        in_place = _el(period, "com:validPeriod")
        _el(in_place, "com:startOfPeriod", iso_z(setup[0]))
        _el(in_place, "com:endOfPeriod", iso_z(setup[1]))
        _multilingual(in_place, "com:periodName", [("de", SET_UP_NAME[0]), ("en", SET_UP_NAME[1])])
        first = next_shift_start(site, meta.timezone, setup[1])
        if first is None or first >= bounds[1]:
            return
    valid = _el(period, "com:validPeriod")
    _el(valid, "com:startOfPeriod", iso_z(first))
    _el(valid, "com:endOfPeriod", iso_z(bounds[1]))
    _multilingual(valid, "com:periodName", [("de", names[0]), ("en", names[1])])
    time_of_day = _el(valid, "com:recurringTimePeriodOfDay")
    _el(time_of_day, "com:startTimeOfPeriod", begin.isoformat())  # local time, as xs:time without a zone
    _el(time_of_day, "com:endTimeOfPeriod", end.isoformat())


def _operator_status(site: FeedSite) -> str:
    return "beingImplemented" if site.active_now else "approved"


def _works(situation: etree._Element, site: FeedSite, meta: FeedMeta) -> None:
    record_type, detail = RECORD_TYPES.get(site.kind, ("MaintenanceWorks", "other"))
    rec = _record_head(situation, site, f"{site.id}_works", f"sit:{record_type}", meta)
    if record_type == "PublicEvent":
        _el(rec, "sit:publicEventType", detail)
        return
    _el(rec, "sit:operatorActionStatus", _operator_status(site))
    _el(rec, "sit:roadworksIdentifier", str(site.id))
    _el(rec, "sit:urgentRoadworks", "true" if site.urgency in ("urgent", "emergency") else "false")
    mobility = _el(rec, "sit:mobility")
    _el(mobility, "sit:mobilityType", "stationary")
    if site.kind in SUBJECTS:
        _el(_el(rec, "sit:subjects"), "sit:subjectTypeOfWorks", SUBJECTS[site.kind])
    if record_type == "MaintenanceWorks":
        _el(rec, "sit:roadMaintenanceType", "repairWork" if site.urgency == "emergency" else detail)
    else:
        _el(rec, "sit:constructionWorkType", detail)


def _for_vehicles(rec: etree._Element, site: FeedSite) -> None:
    """NetworkManagement ``forVehiclesWithCharacteristicsOf``: the record applies to the cycle lane's bicycles only."""
    vehicle = FOR_VEHICLES.get(site.vehicle_impact)
    if vehicle is not None:
        _el(_el(rec, "sit:forVehiclesWithCharacteristicsOf"), "com:vehicleType", vehicle)


def _closure(situation: etree._Element, site: FeedSite, meta: FeedMeta) -> None:
    rec = _record_head(situation, site, f"{site.id}_closure", "sit:RoadOrCarriagewayOrLaneManagement", meta,
                       impact=True)
    _el(rec, "sit:operatorActionStatus", _operator_status(site))
    _el(rec, "sit:complianceOption", "mandatory")
    _for_vehicles(rec, site)
    _el(rec, "sit:roadOrCarriagewayOrLaneManagementType", CLOSURE_TYPES[site.vehicle_impact])


def _rerouting(situation: etree._Element, site: FeedSite, meta: FeedMeta) -> None:
    rec = _record_head(situation, site, f"{site.id}_rerouting", "sit:ReroutingManagement", meta)
    _el(rec, "sit:operatorActionStatus", _operator_status(site))
    _el(rec, "sit:complianceOption", "advisory")
    _for_vehicles(rec, site)
    _el(rec, "sit:reroutingManagementType", "followDiversionSigns")
    _el(rec, "sit:signedRerouting", "true")


def _situation(payload: etree._Element, site: FeedSite, meta: FeedMeta) -> None:
    situation = _el(payload, "sit:situation", id=str(site.id))
    _el(situation, "sit:overallSeverity", SEVERITY.get(site.vehicle_impact, "unknown"))
    _el(situation, "sit:situationVersionTime", iso_z(site.last_changed))
    header = _el(situation, "sit:headerInformation")
    _el(header, "com:confidentiality", "noRestriction")
    _el(header, "com:informationStatus", "real")
    _works(situation, site, meta)
    if site.vehicle_impact in CLOSURE_TYPES:  # the same rule as record_ids
        _closure(situation, site, meta)
    if site.road_diversion:  # the same rule as record_ids
        _rerouting(situation, site, meta)


def build(sites: list[FeedSite], ended: list[EndedSite], meta: FeedMeta, dropped: Sequence[Dropped] = ()) -> bytes:
    """The situation publication of ``sites``; ``informationManagement`` lists the records of ``ended`` sites
    (cancelled or closed) and the ``dropped`` records (each record once)."""
    root = etree.Element(f"{{{NS['con']}}}messageContainer", nsmap=NS, modelBaseVersion="3")
    payload = _el(root, "con:payload", xsi_type="sit:SituationPublication", lang="de", modelBaseVersion="3")
    _multilingual(payload, "com:feedDescription", [
        ("de", f"Baustellen im Ruhrgebiet. Herausgeber: {meta.publisher}. Lizenz: {meta.license} "
               f"({meta.license_url})."),
        ("en", f"Roadworks in the Ruhr area. Publisher: {meta.publisher}. Licence: {meta.license} "
               f"({meta.license_url})."),
    ])
    _el(payload, "com:feedType", "roadworks")
    _el(payload, "com:publicationTime", iso_z(meta.updated))
    creator = _el(payload, "com:publicationCreator")
    _el(creator, "com:country", "de")
    _el(creator, "com:nationalIdentifier", meta.national_identifier)
    for site in sites:
        _situation(payload, site, meta)

    exchange = _el(root, "con:exchangeInformation", modelBaseVersion="3")
    context = _el(exchange, "ex:exchangeContext")
    _el(context, "ex:codedExchangeProtocol", "snapshotPull")
    _el(context, "ex:exchangeSpecificationVersion", "3")
    supplier = _el(context, "ex:supplierOrCisRequester")
    _el(supplier, "ex:name", meta.publisher)
    _el(supplier, "ex:serviceURL", meta.public_url.rstrip("/") + "/feeds/datex2/situations.xml")
    ident = _el(supplier, "ex:internationalIdentifier")
    _el(ident, "com:country", "de")
    _el(ident, "com:nationalIdentifier", meta.national_identifier)
    dynamic = _el(exchange, "ex:dynamicInformation")
    _el(dynamic, "ex:exchangeStatus", "online")
    _el(dynamic, "ex:messageGenerationTimestamp", iso_z(meta.updated))

    references = [(record_id, gone.reason, gone.version) for gone in ended
                  for record_id in record_ids(str(gone.id), gone.vehicle_impact, gone.road_diversion)]
    listed = {record_id for record_id, _, _ in references}
    published = {record_id for site in sites for record_id in record_ids(str(site.id), site.vehicle_impact,
                                                                          site.road_diversion)}
    for record in sorted(dropped, key=lambda d: d.record_id):
        if record.record_id not in listed and record.record_id not in published:
            listed.add(record.record_id)
            references.append((record.record_id, record.status, record.version))
    if references:
        resources = _el(_el(root, "con:informationManagement"), "inf:informationManagedResourceList")
        for record_id, status, version in references:
            ref = _el(resources, "inf:elementReference")
            _el(ref, "inf:managementStatus", status)
            _el(ref, "inf:versionedReference", id=record_id, version=str(version))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
