"""What the three feed builders share: the published site as plain data, licence links, dates, road names and the
scrubbing of free text. Pure: no ORM, no FastAPI."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from shapely import get_coordinates
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge

from service.geo.crs import to_metric
from service.geo.rules import SHIFT_HOURS, in_road

# Impacts that reach the carriageway (WZDx, DATEX II closure records) when the works lie in the road.
ROAD_IMPACTS = frozenset({"lane_reduction", "one_way", "full_closure"})
# Modes that use a part of the street of their own: the footway, the cycle lane or path, the bus lane. A request
# naming only these (no ``car``) restricts that part, not the road (:func:`vehicle_impact`).
PART_MODES = frozenset({"pedestrian", "cycle", "bus"})
# What :func:`vehicle_impact` gives besides the impacts of the requests: only the cycle lane (the vehicle lanes stay
# open) or only the bus lane (one lane closed for vehicles) is restricted.
CYCLE_LANE = "cycle_lane"
BUS_LANE = "bus_lane"
# Vehicle impacts that restrict a lane of the road (WZDx work zones, DATEX II closure and rerouting records).
LANE_IMPACTS = frozenset({*ROAD_IMPACTS, CYCLE_LANE, BUS_LANE})
# Whether works lie in the road or on a track of their own is ``service.geo.rules.in_road`` (imported here): the
# conflict rules use it too.
# Transit modes as GTFS-RT sees them: ``tram`` (trams and Stadtbahn), ``bus``, ``rail`` (trains: S-Bahn, DB). A
# request may still name ``transit``, the value from before trams and buses were told apart: both of them.
TRANSIT_MODES = frozenset({"tram", "bus", "rail"})
TRANSIT = "transit"
# a corridor's stop this close to a site is affected by it (closed, moved, or served by the replacement)
STOP_RADIUS_M = 300.0
# When a request's works occupy the road by its ``shift`` (``rules.SHIFT_HOURS``: day 07:00–20:00, night 20:00 to
# 07:00 the next morning). Night work on the days ``start``..``end`` runs from 20:00 on ``start`` to 07:00 the
# morning after ``end`` (:func:`shift_bounds`).
# (German, English) of the working hours, before the hours themselves (:func:`shift_text`)
SHIFT_TEXT = {"day": ("Arbeiten nur tagsüber", "Daytime work only"), "night": ("Nachtarbeit", "Night work")}

LICENSES = {
    "dl-de/by-2-0": "https://www.govdata.de/dl-de/by-2-0",
    "dl-de/by-2.0": "https://www.govdata.de/dl-de/by-2-0",
    "dl-de/zero-2-0": "https://www.govdata.de/dl-de/zero-2-0",
    "dl-de/zero-2.0": "https://www.govdata.de/dl-de/zero-2-0",
    "cc0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "cc0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "cc-by-4.0": "https://creativecommons.org/licenses/by/4.0/",
}
CC0_URL = "https://creativecommons.org/publicdomain/zero/1.0/"

# (German, English) of an impact on the road ...
IMPACT_TEXT = {
    "none": ("Keine Verkehrseinschränkung", "No traffic restriction"),
    "footway": ("Gehweg eingeschränkt", "Footway restricted"),
    "lane_reduction": ("Fahrstreifen eingeschränkt", "Lane(s) closed"),
    "one_way": ("Nur in einer Richtung befahrbar", "Open in one direction only"),
    "full_closure": ("Vollsperrung", "Road closed"),
}
# ... of works that restrict only one part of the street ((German, English) when it is closed, when restricted) ...
PART_TEXT = {
    "footway": (("Gehweg gesperrt", "Footway closed"), ("Gehweg eingeschränkt", "Footway restricted")),
    CYCLE_LANE: (("Radweg gesperrt", "Cycle lane closed"), ("Radweg eingeschränkt", "Cycle lane restricted")),
    "footway_cycle_lane": (("Geh- und Radweg gesperrt", "Footway and cycle lane closed"),
                           ("Geh- und Radweg eingeschränkt", "Footway and cycle lane restricted")),
    BUS_LANE: (("Busspur gesperrt", "Bus lane closed"), ("Busspur eingeschränkt", "Bus lane restricted")),
}
# ... and of the same impact on a track that does not lie in the road (an S-Bahn line, a tram on its own track bed)
TRACK_IMPACT_TEXT = {
    "none": ("Keine Verkehrseinschränkung", "No traffic restriction"),
    "footway": ("Zugang eingeschränkt", "Access restricted"),
    "lane_reduction": ("Gleise teilweise gesperrt", "Track partly closed"),
    "one_way": ("Eingleisiger Betrieb", "Single-track operation"),
    "full_closure": ("Streckensperrung", "Line closed"),
}


def vehicle_impact(kind: str, impact: str, modes: Iterable[str]) -> str:
    """The impact of works on the vehicles on the road: the one rule behind WZDx ``vehicle_impact``, the DATEX II
    closure and rerouting records and severity, the impact texts and the buses' GTFS-RT effect.

    ``impact`` says how hard the works restrict traffic, ``modes`` which traffic, so a full closure of the footway
    alone is no road closure:

    - works off the road (:func:`in_road`: an S-Bahn line, a tram on its own track bed) → ``none``;
    - impact ``none`` or ``footway`` → as it is;
    - ``modes`` naming ``car``, a tram or train (``tram``, ``transit``, ``rail``) or nothing at all → the impact as
      it is: the road's;
    - ``modes`` naming only ``pedestrian``, ``cycle`` and ``bus``, the traffic with a part of the street of its own:
      with ``bus`` → ``bus_lane`` (the bus lane closes; for vehicles at most a lane closure, the buses use the next
      lane); else with ``cycle`` → ``cycle_lane`` (the cycle lane or path closes, the vehicle lanes stay open); else
      (``pedestrian`` alone) → ``footway``, as for impact ``footway``.

    So the result is ``none``, ``footway``, ``cycle_lane``, ``bus_lane``, ``lane_reduction``, ``one_way`` or
    ``full_closure``.
    """
    named = set(modes)
    if not in_road(kind, named):
        return "none"
    if impact not in ROAD_IMPACTS or not named or not named <= PART_MODES:
        return impact
    if "bus" in named:
        return BUS_LANE
    return CYCLE_LANE if "cycle" in named else "footway"


def impact_text(kind: str, impact: str, modes: Iterable[str]) -> tuple[str, str]:
    """(German, English) of the impact, worded for the road or for the track (never "Road closed" for a line), and
    for the part of the street the works restrict when they restrict only one (:func:`vehicle_impact`: "Gehweg
    gesperrt", "Radweg gesperrt", "Busspur gesperrt", never "Vollsperrung" for a footway)."""
    named = set(modes)
    if not in_road(kind, named):
        return TRACK_IMPACT_TEXT.get(impact, (impact, impact))
    part = vehicle_impact(kind, impact, named)
    if part == CYCLE_LANE and "pedestrian" in named:
        part = "footway_cycle_lane"
    if part in PART_TEXT and impact in ROAD_IMPACTS:
        closed, restricted = PART_TEXT[part]
        return closed if impact == "full_closure" else restricted
    return IMPACT_TEXT.get(impact, (impact, impact))


def sentence(text: str) -> str:
    """``text`` as a sentence to join others: stripped, with a full stop unless it ends in one (or ``!``, ``?``).
    So a description ending in a scrubbed address ("Rückfragen: […]") is not run into what follows."""
    text = (text or "").strip()
    return text if not text or text.endswith((".", "!", "?")) else f"{text}."


@dataclass(frozen=True)
class FeedMeta:
    """Who publishes, under which licence, and the feed's own time ``updated``: when it is generated (DATEX II
    ``publicationTime`` and ``messageGenerationTimestamp``, WZDx ``feed_info.update_date``, GTFS-RT
    ``header.timestamp``). The service builds with a placeholder there and writes the time when it serves the body
    (``service.Template``), so the same content is built once and keeps its content ETag."""

    publisher: str
    license: str
    license_url: str
    public_url: str
    timezone: str
    updated: datetime
    national_identifier: str = "DE-BST-RUHR"
    # the feed's "now" for what rolls on with time: the GTFS-RT alerts list the shifts of day and night work from
    # here (:func:`shift_periods`). The service gives the last shift boundary (:func:`shift_boundary`), so that the
    # bytes stay the same between two boundaries; None: ``updated``.
    reference: datetime | None = None


@dataclass
class Stop:
    id: str
    position: Point | None = None  # WGS84; None when the operator registered no coordinates


@dataclass
class Corridor:
    id: str
    name: str
    kind: str
    routes: list[str]
    stops: list[Stop]
    geometry: BaseGeometry | None = None  # WGS84
    route_types: dict[str, int] = field(default_factory=dict)  # GTFS route_type of the routes registered with one

    @cached_property
    def located_stops(self) -> dict[str, BaseGeometry]:
        """Stops with a position, in EPSG:25832 (computed once, however many sites lie on the corridor)."""
        return {st.id: to_metric(st.position) for st in self.stops if st.position is not None}

    @cached_property
    def metric_line(self) -> BaseGeometry | None:
        """The corridor as one line in EPSG:25832, or None when it is not one line."""
        line = to_metric(self.geometry) if self.geometry is not None else None
        if line is not None and line.geom_type == "MultiLineString":
            line = linemerge(line)
        return line if line is not None and line.geom_type == "LineString" else None


@dataclass
class FeedSite:
    """One published site request, as every feed sees it. Never carries contact data."""

    id: uuid.UUID
    title: str
    description: str
    kind: str
    impact: str
    modes: list[str]
    shift: str
    urgency: str
    status: str
    owner_id: uuid.UUID
    owner_name: str
    geometry: BaseGeometry
    has_diversion: bool
    has_replacement: bool
    start: date
    end: date  # inclusive
    from_slot: bool
    version: int
    first_published: datetime
    last_changed: datetime
    corridors: list[Corridor] = field(default_factory=list)
    # when the works were reported set up (the status became ``active``: the owner's start, an emergency), from the
    # request's history; None when not active or not recorded
    activated_at: datetime | None = None

    @property
    def in_road(self) -> bool:
        return in_road(self.kind, self.modes)

    @property
    def vehicle_impact(self) -> str:
        return vehicle_impact(self.kind, self.impact, self.modes)

    @property
    def road_diversion(self) -> bool:
        """A diversion signed for road traffic: only works that restrict a lane of the road have one
        (:data:`LANE_IMPACTS`). The diversion of works on the track only (a tram's own track bed shared with buses)
        is the buses', not the cars': the road stays open; that of a footway restriction is the pedestrians'."""
        return self.has_diversion and self.vehicle_impact in LANE_IMPACTS

    @property
    def road_affecting(self) -> bool:
        """Published in WZDx: works that restrict a lane of the road, the cycle lane included (or cars at all)."""
        return self.vehicle_impact in LANE_IMPACTS or ("car" in self.modes and self.impact != "none")

    @property
    def impact_text(self) -> tuple[str, str]:
        return impact_text(self.kind, self.impact, self.modes)

    @property
    def active_now(self) -> bool:
        return self.status == "active" or self.urgency == "emergency"


@dataclass
class EndedSite:
    """A site that was published and no longer is: ``reason`` is ``cancelled`` or ``closed``."""

    id: uuid.UUID
    impact: str
    kind: str
    has_diversion: bool
    version: int
    ended_at: datetime
    reason: str
    modes: list[str] = field(default_factory=list)

    @property
    def vehicle_impact(self) -> str:
        return vehicle_impact(self.kind, self.impact, self.modes)

    @property
    def road_diversion(self) -> bool:
        """As :attr:`FeedSite.road_diversion`, so that the cancellations name the records that were published."""
        return self.has_diversion and self.vehicle_impact in LANE_IMPACTS


def license_url(license_id: str) -> str:
    if "://" in license_id:
        return license_id
    return LICENSES.get(license_id.lower(), f"https://www.govdata.de/{license_id}")


def start_instant(day: date, tz: str) -> datetime:
    """Local midnight at the start of ``day``, in UTC."""
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)


def end_instant(day: date, tz: str) -> datetime:
    """Local midnight after the inclusive end ``day``, in UTC."""
    return start_instant(day + timedelta(days=1), tz)


def local_instant(day: date, clock: time, tz: str) -> datetime:
    """``clock`` on ``day`` in local time, in UTC."""
    return datetime.combine(day, clock, ZoneInfo(tz)).astimezone(UTC)


def shift_text(shift: str) -> tuple[str, str] | None:
    """(German, English) of the working hours of ``shift`` (:data:`SHIFT_HOURS`), e.g. "Nachtarbeit, 20:00–07:00
    Uhr" / "Night work, 20:00–07:00"; None for ``continuous`` works."""
    if shift not in SHIFT_HOURS:
        return None
    begin, end = (f"{clock:%H:%M}" for clock in SHIFT_HOURS[shift])
    de, en = SHIFT_TEXT[shift]
    return f"{de}, {begin}–{end} Uhr", f"{en}, {begin}–{end}"


def shift_bounds(site: FeedSite, tz: str) -> tuple[datetime, datetime] | None:
    """When the first shift of day or night work begins and the last one ends (in UTC), or None for ``continuous``
    works: day work from 07:00 on the first day to 20:00 on the last, night work from 20:00 on the first day to
    07:00 the morning after the last (a night crosses midnight: it belongs to the day it begins on)."""
    hours = SHIFT_HOURS.get(site.shift)
    if hours is None:
        return None
    begin, end = hours
    last = site.end + timedelta(days=1) if end <= begin else site.end
    return local_instant(site.start, begin, tz), local_instant(last, end, tz)


def shift_boundary(moment: datetime, tz: str) -> datetime:
    """The last time at or before ``moment`` at which a shift began or ended (:data:`SHIFT_HOURS`: 07:00 or 20:00
    local time), in UTC. Which shifts are over, running or ahead (:func:`shift_periods`) changes only there, so a
    feed listing them from this instant is the same from one boundary to the next. (The hours lie outside the
    hour a change of summer time skips or repeats, so each is one instant.)"""
    clocks = sorted({clock for hours in SHIFT_HOURS.values() for clock in hours})
    day = moment.astimezone(ZoneInfo(tz)).date()
    candidates = [local_instant(day - timedelta(days=back), clock, tz) for back in (0, 1) for clock in clocks]
    return max(instant for instant in candidates if instant <= moment)


def shift_periods(site: FeedSite, tz: str, reference: datetime, count: int) -> list[tuple[datetime, datetime]] | None:
    """The shifts of day or night work still to come at ``reference``, as (start, end) in UTC: the one running then
    (a night that began the evening before and runs until 07:00 included) and those after it, at most ``count`` of
    them (one per day: the next ``count`` days of work), in order; None for ``continuous`` works.

    Each shift runs at its local hours (:data:`SHIFT_HOURS`; across a change of summer time a night lasts 10 or 12
    hours); a night belongs to the day it begins on (:func:`shift_bounds`). Works reported set up
    (:func:`site_start`) are in place from then to the end of the shift running then or of the next one
    (:func:`setup_period`, the first period; a shift over before it is left out, the shift it ends with is in it).
    Empty when every shift is over (day work on the evening of its last day)."""
    hours = SHIFT_HOURS.get(site.shift)
    if hours is None:
        return None
    begin, end = hours
    overnight = end <= begin
    started = site_start(site, tz)[0]
    setup = setup_period(site, tz)
    periods: list[tuple[datetime, datetime]] = []
    if setup is not None and setup[1] > reference and count > 0:
        periods.append(setup)  # the works are in place since they were set up, whatever their hours
    # the night running at ``reference`` began the day before: start there, never before the works' first day
    day = max(site.start, reference.astimezone(ZoneInfo(tz)).date() - timedelta(days=1))
    while day <= site.end and len(periods) < count:
        first = max(local_instant(day, begin, tz), started)
        last = local_instant(day + timedelta(days=1) if overnight else day, end, tz)
        if last > reference and last > first and (setup is None or first >= setup[1]):
            periods.append((first, last))
        day += timedelta(days=1)
    return periods


def setup_period(site: FeedSite, tz: str) -> tuple[datetime, datetime] | None:
    """Day or night work reported set up (:func:`site_start` real: the owner's start, an emergency set up at once)
    is in place from then, whatever its hours: the crew is there and the road is closed now. It occupies the road
    from its set-up time to the end of the shift of the works running then, or of the next one when it was set up
    between two (an emergency with night work reported at 06:40 on its first day: until 07:00 the next morning, its
    first night's end), at most to the works' end (:func:`site_end`); after that by its hours. None for
    ``continuous`` works and works not reported set up. The one rule behind the first WZDx occurrence, the first
    GTFS-RT ``active_period`` (:func:`shift_periods`) and DATEX II's first ``validPeriod``."""
    hours = SHIFT_HOURS.get(site.shift)
    started, real = site_start(site, tz)
    if hours is None or not real:
        return None
    begin, end = hours
    overnight = end <= begin
    day = max(site.start, started.astimezone(ZoneInfo(tz)).date() - timedelta(days=1))
    while day <= site.end:
        last = local_instant(day + timedelta(days=1) if overnight else day, end, tz)
        if last > started:
            return started, last
        day += timedelta(days=1)
    return started, site_end(site, tz)


def next_shift_start(site: FeedSite, tz: str, moment: datetime) -> datetime | None:
    """The start of the works' first shift of day or night work beginning at or after ``moment``, or None when none
    is left (or the works are ``continuous``)."""
    hours = SHIFT_HOURS.get(site.shift)
    if hours is None:
        return None
    day = max(site.start, moment.astimezone(ZoneInfo(tz)).date() - timedelta(days=1))
    while day <= site.end:
        if (start := local_instant(day, hours[0], tz)) >= moment:
            return start
        day += timedelta(days=1)
    return None


def site_end(site: FeedSite, tz: str) -> datetime:
    """When the works end: the one rule behind WZDx ``end_date``, DATEX II ``overallEndTime`` and the GTFS-RT
    ``active_period`` end. Local midnight after the last day (:func:`end_instant`); for night work the end of its
    last night, 07:00 the morning after (:func:`shift_bounds`)."""
    end = end_instant(site.end, tz)
    bounds = shift_bounds(site, tz)
    return max(end, bounds[1]) if bounds is not None else end


def site_start(site: FeedSite, tz: str) -> tuple[datetime, bool]:
    """When the works begin, and whether that is their real start rather than the planned one: the one rule behind
    WZDx ``start_date`` / ``is_start_date_verified``, DATEX II ``overallStartTime`` and the GTFS-RT
    ``active_period`` start.

    Works reported set up (status ``active``: the owner's ``start``, or an emergency, which the workflow sets up at
    once) begin at the time they were (:attr:`FeedSite.activated_at`, from the request's history) where that lies
    in the site's period: real. Otherwise local midnight of the first day (:func:`start_instant`), planned: a site
    not yet set up, or an active one whose set-up time is not recorded (status set directly) or lies outside its
    period (never a real start backdated to midnight, nor one before the period the feeds give)."""
    start, end = start_instant(site.start, tz), end_instant(site.end, tz)
    if site.status == "active" and site.activated_at is not None and start <= site.activated_at < end:
        return site.activated_at, True
    return start, False


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def local_date(day: date) -> str:
    return day.strftime("%d.%m.%Y")


_STREET_SUFFIX = r"(?:straße|strasse|str\.|weg|allee|platz|ring|damm|gasse|chaussee|ufer|wall|markt|brücke|tunnel)"
_STREET_WORD = r"(?:Straße|Strasse|Str\.|Weg|Allee|Platz|Ring|Damm|Gasse|Chaussee|Ufer|Wall|Markt|Brücke|Tunnel)"
# A capitalised word, also an abbreviation (``Dr.``, ``St.``), and the lowercase words inside hyphenated names.
_CAP = r"[A-ZÄÖÜ]\w*(?:\.(?=-))?"
_PARTICLE = r"(?:von|vom|van|zu|zum|zur|der|den|dem|des|de|am|an|auf|im|in|und)"
_NAME = rf"{_CAP}(?:-(?:{_CAP}|{_PARTICLE}))*"
# The adjective before a separate street word: Rüttenscheider Straße, Hohe Straße, Hoher Wall, Alten Markt (not
# "Neugestaltung Platz").
_ADJECTIVE = r"[A-ZÄÖÜ][\w-]*(?:er|e|es|en)"
# Adjectives that begin a street name, by their stem (any ending follows: Alte, Alter, Altes, Alten), and "St."
# (Sankt): "Alte Karlsruher Straße", "Alter Postweg", "Kleine Kirchstraße", "Äußere Grüngürtelstraße", "St.
# Georgstraße". A closed list: before a one-word street name any capitalised word could stand ("Sperrung
# Kirchstraße", "Baustelle Alfredstraße"), and only these are part of the name.
_LEADING_STEM = (r"(?:Alt|Neu|Groß|Gross|Klein|Hoh|Lang|Kurz|Breit|Schmal|Krumm|Ober|Unter|Mittler|Vorder|Hinter"
                 r"|Äußer|Äusser|Ausser|Inner|Nieder|Grün|Rot|Weiß|Weiss|Schwarz|Heilig|Tief|Still)")
_LEADING = rf"(?:{_LEADING_STEM}(?:es|en|er|e)|St\.|Sankt)"
# ... and in the dative after "Am", "Zur", "An der": "An der Alten Kirche", "Am Hohen Stein", "Zum Grünen Baum"
_LEADING_DATIVE = rf"{_LEADING_STEM}en"
_END = r"(?![\w-])"
# Nouns that follow "Am", "Im", "Zum", "Zur" in prose rather than in street names.
_NOT_A_STREET = r"(?:Bereich|Rahmen|Zuge|Anschluss|Abschnitt|Schutz|Ende|Anfang|Beginn|Wochenende|Vorfeld)\b"
_ROAD_RE = re.compile(
    # Friedrich-Ebert-Straße, Willy-Brandt-Platz, Von-der-Tann-Str., Dr.-Hammacher-Straße
    rf"\b({_NAME}-{_STREET_WORD}){_END}"
    # Alfredstraße, Westfalendamm, Kennedyplatz; Alter Postweg, Kleine Kirchstraße, St. Georgstraße
    rf"|\b((?:{_LEADING}\s)?[A-ZÄÖÜ][\w-]*{_STREET_SUFFIX}){_END}"
    # Rüttenscheider Straße, Märkische Straße, Tourainer Ring; Alte Karlsruher Straße
    rf"|\b((?:{_LEADING}\s)?{_ADJECTIVE}\s{_STREET_WORD}){_END}"
    # Am Anger, Am Alten Markt, Zum Ehrenmal, Am Hohen Stein (not "Im Bereich")
    rf"|\b((?:Am|Im|Zum|Zur)\s(?!{_NOT_A_STREET})"
    rf"(?:{_ADJECTIVE}\s{_STREET_WORD}{_END}|(?:{_LEADING_DATIVE}\s(?!{_STREET_WORD}{_END}))?{_NAME}{_END}"
    rf"(?!\s+{_STREET_WORD})))"
    # An der Reichsbank, Auf dem Kamp, An der Alten Kirche (not "In der Steeler" of "In der Steeler Straße", nor
    # "In Essen", "Auf Höhe")
    rf"|\b((?:An|In|Auf)\s(?:der|den|dem)\s(?:{_LEADING_DATIVE}\s(?!{_STREET_WORD}{_END}))?{_NAME}{_END}"
    rf"(?!\s+{_STREET_WORD}))"
    r"|\b([ABLK]\s?\d{1,4})\b"
)


def road_names(title: str, description: str = "", *, fallback: bool = True) -> list[str]:
    """Street names and road numbers found in the title (then the description); the title itself if none.

    Requests carry no structured road name, so this is a heuristic for German street names
    (``Rüttenscheider Straße``, ``Alfredstraße``, ``Friedrich-Ebert-Straße``, ``Am Hauptbahnhof``, ``B 224``).
    Without ``fallback`` nothing found gives an empty list."""
    found: list[str] = []
    for text in (title, description):
        for match in _ROAD_RE.finditer(text or ""):
            name = next(g for g in match.groups() if g)
            name = re.sub(r"\s+", " ", name).strip()
            if name not in found:
                found.append(name)
        if found:
            break
    return found or ([title] if fallback else [])


_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_RE = re.compile(r"(?:\+|\b0)\d[\d\s/()-]{5,}\d")
REDACTED = "[…]"

# Personal names in free text (GDPR: the open data never names a private person). A name is taken out where
# something says that a person follows: a salutation or a title ("Herr", "Frau Dr.", "Hr.", "Mrs", "Prof.") or a
# contact label ("Ansprechpartnerin:", "Bauleitung:", "Polier", "Rückfragen an", "site manager:", "gez."). The name
# runs over capitalised words (at most three, and particles: "von der", "van", "de"), initials ("M.", "H.-J."),
# hyphenated and apostrophe names ("Schmidt-Weber", "O'Connor") and ends at anything else: punctuation, a
# lowercase word, a contact word ("Tel."), a weekday, a street. The label stays and the name becomes "[…]", as an
# address does: "Ansprechpartner: […], Tel. […]".
#
# What a label introduces may be an organisation, and is kept: "Kontakt: Stadtwerke Essen AG", "Bauleitung:
# Tiefbauamt", "Kontakt: Ruhrbahn Kundencenter" (a legal form, an acronym, a word naming an organisation or a
# service: :data:`_ORG_SUFFIXES`), also a firm's trade name after its owner ("Kontakt: Becker Tiefbau GmbH"). After
# a salutation there is always a person ("Herr Neustadt"). Street names are never taken for names:
# "Frau-Bertha-Krupp-Straße", "Dr.-Hammacher-Straße" (no space after the salutation), "Herrenstraße", "Am
# Herrenhaus" (no salutation), "Kontakt: Alfredstraße 12" (:data:`_ROAD_RE`, a house number). A function label
# ("Kontakt", "Bauleitung") before a single capitalised word counts with a colon, a dash or "ist" only ("Bauleitung
# Tiefbau" is a noun); a label naming a person ("Polier Becker") does without. A name of two or three words at the
# start of a phrase and before its role is found too ("Jens Becker, Bauleiter", "M. Yılmaz (Polier)"), unless a
# word is a place (:data:`_PLACES`), an organisation or a street. Not found: a name without any salutation or role.
_SPACE = r"[ \t\u00a0]"
_GENDER = r"(?:in|innen|/-?in|:in|\*in|_in|\(in\))?"
# A salutation, or a title standing for one, before a name (never "Herrenstraße", "Dr.-Hammacher-Straße").
_SALUTATION = r"(?:Herrn?|Hrn?\.|Frau|Fr\.|Frl\.|Mrs?\.?|Ms\.?|Mx\.?|Dr\.?|Prof\.?|Dipl\.-[A-Z][a-z]+\.)"
# More titles after a salutation: "Frau Dr. Anna ...", "Herr Prof. Dr.-Ing. ...".
_TITLE_RE = re.compile(rf"{_SPACE}+(?:Dr\.?(?:-Ing\.)?|Prof\.?|Dipl\.-[A-Z][a-z]+\.|Ing\.|med\.)(?={_SPACE})")
# Labels, regardless of case: of a person ("Polier Becker") ...
_PERSON_LABEL = (
    rf"Ansprechpartner{_GENDER}|Ansprechperson(?:en)?|Kontaktperson(?:en)?|(?:Ober)?bauleiter{_GENDER}"
    rf"|Polier{_GENDER}|Vorarbeiter{_GENDER}|Projektleiter{_GENDER}|Sachbearbeiter{_GENDER}"
    rf"|Bauüberwacher{_GENDER}|gez\.|i\.{_SPACE}?[AV]\."
    r"|site\s+(?:manager|supervisor|engineer|foreman|agent)|project\s+(?:manager|lead(?:er)?|engineer)"
    r"|resident\s+engineer|foreman|supervisor|(?:engineer|person)\s+in\s+charge|contact\s+person"
)
# ... of a function or a way to ask ("Bauleitung Tiefbau", "Kontakt Essen" are nouns: a colon makes a label) ...
_FUNCTION_LABEL = (
    r"Kontakt|(?:Ober)?bauleitung|Projektleitung|Bauüberwachung|Verantwortlicher?|Zuständiger?|(?:Rück)?fragen"
    r"|Auskunft|Auskünfte|contact|enquiries|inquiries|queries|questions"
)
# ... and those ending in a preposition: "Rückfragen an", "Fragen bitte bei", "enquiries to".
_ASKING_LABEL = (
    r"(?:Rück)?fragen(?:\s+bitte)?\s+(?:an|bei)|Auskunft\s+(?:erteilt|gibt|bei)|Auskünfte\s+(?:erteilt|gibt|bei)"
    r"|vertreten\s+durch|wenden\s+Sie\s+sich\s+(?:bitte\s+)?an|(?:enquiries|inquiries|queries|questions)\s+to"
    r"|please\s+contact"
)
_NAME_TRIGGER_RE = re.compile(
    rf"\b(?i:(?P<asking>{_ASKING_LABEL})|(?P<person>{_PERSON_LABEL})|(?P<function>{_FUNCTION_LABEL}))"
    rf"(?:(?:\s+(?i:vor\s+Ort|on\s+site))?(?P<delim>{_SPACE}*[:=]|{_SPACE}+[–-]|{_SPACE}+(?i:ist|sind|is|are))"
    rf"|(?![\w-]))"
    rf"|(?<![\w.-])(?P<salutation>{_SALUTATION})(?={_SPACE})"
)
_SALUTATION_RE = re.compile(rf"{_SPACE}+(?={_SALUTATION}{_SPACE})")
# A word of a name: an initial ("M.", "H.-J."), a word, hyphenated or with an apostrophe; its case is checked apart
# (``str.isupper``: "Yılmaz", "Łukasz", "Çelik").
_NAME_WORD_RE = re.compile(rf"{_SPACE}+([^\W\d_]\.(?:-[^\W\d_]\.)?|[^\W\d_][\w'’]*(?:-[^\W\d_][\w'’]*)*)")
# Particles of a name: "Frau von Bergen", "Mr van Dijk" ...
_PARTICLES = frozenset({"von", "van", "de", "da", "di", "del", "della", "ten", "ter", "al", "el", "bin", "ibn"})
# ... and after one of those only: "von der Heyden", "van den Berg", "de la Cruz" (not "Herr der Lage")
_INNER_PARTICLES = frozenset({"der", "den", "dem", "la", "le", "los"})
_ALL_PARTICLES = _PARTICLES | _INNER_PARTICLES
# Capitalised words that are no name nor part of one: articles, prepositions, contact words, days, months, streets.
_NOT_NAMES = frozenset("""
    Am Im An Auf In Zum Zur Bei Beim Für Mit Von Vom Nach Über Unter Ab Bis Ist Sind Der Die Das Den Dem Des Ein Eine
    Einer Bitte Per Und Oder Sowie Tel Telefon Telefonnummer Rufnummer Durchwahl Mobil Mobilnummer Handy Fax Mail
    E-Mail Email Web Internet Sprechzeiten Uhr Baustelle Baustellen Achtung Hinweis Nord Süd Ost West
    Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag Mo Di Mi Do Fr Sa So Werktags Täglich
    Januar Februar März April Mai Juni Juli August September Oktober November Dezember
    The A At On For From To Via Please And Or Phone Mobile Monday Tuesday Wednesday Thursday Friday Saturday Sunday
    Mon Tue Wed Thu Fri Sat Sun January February March June July October December Daily
    Straße Strasse Str Weg Allee Platz Ring Damm Gasse Chaussee Ufer Wall Markt Brücke Tunnel Hbf Bahnhof
    Morgen Vormittag Mittag Nachmittag Abend Nacht Früh Sie Ihr Ihre Ihren Ihrem Ihnen Wir Uns Es Er Ich Man
    I We You Us Our Your It They Dr Prof
""".split())
# What makes a label's words an organisation or a service, not a person: an ending (case ignored) ...
_ORG_SUFFIXES = (
    "amt", "ämter", "büro", "zentrale", "zentrum", "center", "centre", "telefon", "hotline", "service", "stelle",
    "stellen", "team", "abteilung", "werk", "werke", "bau", "gesellschaft", "genossenschaft", "verband", "betrieb",
    "betriebe", "verwaltung", "firma", "gruppe", "leitung", "information", "info", "netz", "netze", "bahn", "stadt",
    "gemeinde", "kreis", "behörde", "ministerium", "unternehmen", "unternehmung", "bauherr", "bauherrin", "geber",
    "träger", "nehmer", "polizei", "feuerwehr", "dienst", "dienste", "office", "desk", "department", "council",
    "authority", "company", "contractor", "agency", "works", "services", "nrw", "gmbh", "mbh", "ltd", "inc", "llc",
)
# ... a noun's ending, in long words only ("Hartung", "Jung" are names) ...
_NOUN_SUFFIXES = ("ung", "ungen", "heit", "keit", "schaft", "tion", "ität", "anlage", "arbeit", "arbeiten")
# ... an acronym ("DB", "EVAG", "RWE") or a legal form in the rest of the phrase ("Becker & Söhne GmbH").
_LEGAL_FORM_RE = re.compile(r"&|\b(?:GmbH|AG|KG|KGaA|SE|OHG|GbR|UG|eG|mbH|Ltd|Inc|LLC|plc)\b|\be\.\s?V\.")
_PHRASE_END_RE = re.compile(r"[,;()\[\]\n]|\.(?:\s|$)|$")
# "Fr." is Friday after a weekday ("Mo.–Fr.", "Mi. und Fr.") or "bis": no name follows.
_WEEKDAY_BEFORE_RE = re.compile(
    r"(?:\b(?:Mo|Di|Mi|Do|Sa|So|Montag|Dienstag|Mittwoch|Donnerstag|Samstag|Sonntag)\b\.?[\s,/–-]*"
    r"(?:(?:bis|und|sowie)\s*)?|\b(?:bis|ab|jeden|freitags)\s+)$")
# A house number after a label's words: an address ("Kontakt: Westfalendamm 12"), no name.
_HOUSE_NUMBER_RE = re.compile(rf"{_SPACE}+\d{{1,4}}[a-z]?\b")
# One-word street names that are surnames too ("Döring", "Damm", "Hellweg"): names (an address has a number).
_SURNAME_LIKE_ROAD_RE = re.compile(r"[A-ZÄÖÜ][\w-]*(?:weg|ring|damm|wall|markt|brücke|tunnel|ufer)")


def _org_word(word: str) -> bool:
    lower = word.lower().rstrip(".")
    return (lower.endswith(_ORG_SUFFIXES) or (len(word) >= 9 and lower.endswith(_NOUN_SUFFIXES))
            or (2 <= len(word) <= 6 and word.isupper() and word.isalpha()))


_LEADING_RE = re.compile(rf"{_LEADING}\s+")


def _road_at(text: str, pos: int) -> bool:
    """A street name or road number starts at ``pos``; a one-word one that may be a surname does not count, nor
    does a leading adjective ("Lange" of "Herr Lange Kirchstraße" may be a surname: the street starts after it)."""
    match = _ROAD_RE.match(text, pos)
    if match is None or _SURNAME_LIKE_ROAD_RE.fullmatch(match.group()) is not None:
        return False
    lead = _LEADING_RE.match(text, pos)
    rest = _ROAD_RE.match(text, lead.end()) if lead is not None else None
    return rest is None or rest.end() != match.end()


def _name_words(text: str, pos: int, *, after_salutation: bool) -> list[re.Match[str]]:
    """The words of the name that follows ``pos`` (none: no name there)."""
    words: list[re.Match[str]] = []
    capitalised, end = 0, pos
    while capitalised < 3 and (match := _NAME_WORD_RE.match(text, end)) is not None:
        word = match.group(1)
        end = match.end()
        particle = words and words[-1].group(1) in _ALL_PARTICLES
        if (word in _PARTICLES and (words or after_salutation)) or (word in _INNER_PARTICLES and particle):
            words.append(match)  # kept if a capitalised word follows
            continue
        if (not word[0].isupper() or word in _NOT_NAMES or _NAME_TRIGGER_RE.match(text, match.start(1))
                or _road_at(text, match.start(1))):
            break
        # after a salutation the first word is a name, whatever it looks like ("Herr Neustadt"); a later word
        # naming an organisation is not ("Herr Krause Tiefbauamt")
        if after_salutation and capitalised and _org_word(word):
            break
        words.append(match)
        capitalised += 1
    while words and words[-1].group(1) in _ALL_PARTICLES:
        words.pop()
    return words


def _person_at(text: str, trigger: re.Match[str]) -> tuple[int, int] | None:
    """Where the person's name that ``trigger`` (a salutation or a label) introduces lies, or None."""
    salutation = trigger.group("salutation")
    if salutation:
        if salutation == "Fr." and _WEEKDAY_BEFORE_RE.search(text, max(0, trigger.start() - 40), trigger.start()):
            return None
        pos = trigger.end()
        while (title := _TITLE_RE.match(text, pos)) is not None:
            pos = title.end()
        words = _name_words(text, pos, after_salutation=True)
        if not words or (salutation == "Fr." and _org_word(words[0].group(1))):  # "Fr. Vollsperrung"
            return None
        return trigger.start(), words[-1].end()
    if (ahead := _SALUTATION_RE.match(text, trigger.end())) is not None:  # "Rückfragen an Hr. Krause"
        inner = _NAME_TRIGGER_RE.match(text, ahead.end())
        return _person_at(text, inner) if inner is not None and inner.group("salutation") else None
    words = _name_words(text, trigger.end(), after_salutation=False)
    if not words or _HOUSE_NUMBER_RE.match(text, words[-1].end()):
        return None
    if any(_org_word(word.group(1)) for word in words):
        return None
    phrase_end = _PHRASE_END_RE.search(text, words[-1].end()).start()
    if _LEGAL_FORM_RE.search(text, words[-1].end(), phrase_end):
        return None
    if not (trigger.group("delim") or trigger.group("asking") or trigger.group("person")) and len(words) < 2:
        return None
    return words[0].start(1), words[-1].end()


# A role after the name it belongs to: "Jens Becker, Bauleiter", "M. Yılmaz (Polier)", "Anna Lange – Projektleitung".
_ROLE_AFTER_RE = re.compile(
    rf"{_SPACE}*(?:,|\(|{_SPACE}[–-]){_SPACE}*(?i:(?:der|die|unser(?:e|er)?|our|the){_SPACE}+)?"
    rf"(?i:(?P<role>{_PERSON_LABEL}|(?:Ober)?bauleitung|Projektleitung|Bauüberwachung))(?![\w-])")
# Where such a name may begin: at the start of the text or of a phrase, or after a word in lower case ("führt").
_PHRASE_START_RE = re.compile(r"(?:^|[.:;,()\[\]\n–]|\s-|\b[^\W\d_A-ZÄÖÜ][\w-]*)\s*$")
# Places that come before a role as a name would ("Essen Kray, Bauleitung"): the Ruhr's cities and a few more words.
_PLACES = frozenset("""
    Essen Dortmund Bochum Duisburg Gelsenkirchen Oberhausen Mülheim Herne Bottrop Recklinghausen Hagen Hamm Witten
    Marl Moers Gladbeck Dinslaken Castrop-Rauxel Unna Dorsten Lünen Herten Bergkamen Datteln Waltrop Schwerte Hattingen
    Velbert Kamen Haltern Voerde Wesel Karlsruhe Mitte Innenstadt Altstadt Zentrum Stadtmitte Hauptbahnhof Ruhr
    Emscher Rhein Kanal Gas Wasser Strom Glasfaser Fernwärme Sperrung Baugrube Graben Leitung Leitungen
""".split())
_BACKWARD_WORD_RE = re.compile(r"([^\W\d_]\.(?:-[^\W\d_]\.)?|[^\W\d_][\w'’]*(?:-[^\W\d_][\w'’]*)*)$")


def _person_before(text: str, role: re.Match[str]) -> tuple[int, int] | None:
    """Where the name of two or three words that a role after it (:data:`_ROLE_AFTER_RE`) names lies, or None."""
    words: list[tuple[int, int]] = []
    end = role.start()
    while len(words) < 3 and (match := _BACKWARD_WORD_RE.search(text, 0, end)) is not None:
        word = match.group(1)
        if (not word[0].isupper() or word in _NOT_NAMES or word in _PLACES or _org_word(word)
                or _NAME_TRIGGER_RE.match(text, match.start(1)) or _road_at(text, match.start(1))):
            break
        words.insert(0, (match.start(1), match.end(1)))
        head = match.start(1)
        if _PHRASE_START_RE.search(text, 0, head) is not None and len(words) >= 2:
            return head, words[-1][1]
        if head == 0 or text[head - 1] not in " \t\u00a0":
            break
        end = head - 1
        while end > 0 and text[end - 1] in " \t\u00a0":
            end -= 1
    return None


def scrub_names(text: str) -> str:
    """``text`` with each personal name that a salutation or a contact label introduces, or that a role follows
    ("Jens Becker, Bauleiter"), replaced by "[…]"."""
    spans: list[tuple[int, int]] = []
    done = 0
    for trigger in _NAME_TRIGGER_RE.finditer(text):
        if trigger.start() < done or (span := _person_at(text, trigger)) is None:
            continue
        spans.append(span)
        done = span[1]
    for role in _ROLE_AFTER_RE.finditer(text):
        label = _NAME_TRIGGER_RE.match(text, role.start("role"))
        if label is not None and _person_at(text, label) is not None:
            continue  # the role names its own person after it ("..., Bauleiter: Herr Krause")
        span = _person_before(text, role)
        if span is not None and not any(s < span[1] and span[0] < e for s, e in spans):
            spans.append(span)
    out: list[str] = []
    done = 0
    for start, end in sorted(spans):
        out += [text[done:start], REDACTED]
        done = end
    return "".join(out) + text[done:]


# The revision of the scrubbing rules (:func:`scrub` and what it calls). Raise it whenever they change, so what was
# stored scrubbed by the old rules is scrubbed again: the requests' ``public_title`` (``public_title_rev``, refreshed
# by the worker at its start and by ``baustellen db upgrade``). The feeds have their own CONTENT_REVISION
# (service/feeds/service.py): raise that too.
SCRUB_REVISION = 1


def scrub(text: str) -> str:
    """Remove e-mail addresses, telephone numbers and personal names (:func:`scrub_names`) from free text before
    it is published: each becomes "[…]", several in a row one."""
    text = _PHONE_RE.sub(REDACTED, _EMAIL_RE.sub(REDACTED, text or ""))
    return re.sub(r"\[…\](?:\s+\[…\])+", REDACTED, scrub_names(text)).strip()


# The keys whose strings are sentences or names in the JSON the service composes about requests (explanations,
# unplaced reasons: {"de", "en"} pairs, other requests' titles, a coordinator's reason or note): what
# :func:`scrub_texts` scrubs. Ids, dates and codes stay as they are (a UUID's digits can read as a phone number).
TEXT_KEYS = frozenset({"de", "en", "title", "note", "reason", "detail", "text", "comment", "name", "rule_name"})


def scrub_texts(value: Any, keys: frozenset[str] = TEXT_KEYS, _text: bool = False) -> Any:
    """``value`` (JSON: dicts, lists, strings, numbers) with every string held under one of ``keys`` (also in a
    list or an object below it) :func:`scrub`-bed; the rest as it is."""
    if isinstance(value, dict):
        return {k: scrub_texts(v, keys, k in keys) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_texts(v, keys, _text) for v in value]
    if isinstance(value, str) and _text:
        return scrub(value)
    return value


def route_ids(values: Any) -> list[str]:
    """Route ids registered on a corridor: strings, or objects with ``id`` (or ``route_id``)."""
    out: list[str] = []
    for value in values or []:
        ident = value.get("id") or value.get("route_id") if isinstance(value, dict) else value
        if ident is not None and str(ident) not in out:
            out.append(str(ident))
    return out


def route_types(values: Any) -> dict[str, int]:
    """GTFS ``route_type`` of the routes registered as objects with one (``route_type`` or ``type``: 0 tram, 3 bus,
    the extended types 900 tram, 700 bus, ...); routes registered as plain ids have none."""
    out: dict[str, int] = {}
    for value in values or []:
        if not isinstance(value, dict):
            continue
        ident = value.get("id") or value.get("route_id")
        kind = value.get("route_type", value.get("type"))
        if isinstance(kind, str) and kind.strip().isdigit():
            kind = int(kind)
        if ident is not None and isinstance(kind, int) and not isinstance(kind, bool):
            out.setdefault(str(ident), kind)
    return out


def corridor_stops(values: Any) -> list[Stop]:
    """Stops registered on a corridor: strings, or objects with ``id`` (or ``stop_id``) and optional ``lon``/``lat``."""
    out: list[Stop] = []
    for value in values or []:
        if isinstance(value, dict):
            ident = value.get("id") or value.get("stop_id")
            lon, lat = value.get("lon"), value.get("lat")
            position = Point(lon, lat) if lon is not None and lat is not None else None
        else:
            ident, position = value, None
        if ident is not None and all(st.id != str(ident) for st in out):
            out.append(Stop(str(ident), position))
    return out


def affected_stops(site: BaseGeometry, corridor: Corridor, *, closed: bool,
                   radius_m: float = STOP_RADIUS_M) -> list[str]:
    """The corridor's stops a site affects, in the corridor's order (distances in EPSG:25832).

    A stop without a position always counts: nothing says where it is. A stop with one counts when it lies within
    ``radius_m`` of the site. When ``closed`` (no service through the site) and the corridor is one line, the last
    stop before the site and the first after it along the line count too: service ends there.
    """
    located = corridor.located_stops
    if not located:
        return [st.id for st in corridor.stops]
    footprint = to_metric(site)
    picked = {ident for ident, point in located.items() if point.distance(footprint) <= radius_m}
    line = corridor.metric_line if closed else None
    if line is not None:
        along = sorted((line.project(point), ident) for ident, point in located.items())
        reach = [line.project(Point(xy)) for xy in get_coordinates(footprint)]
        before = [ident for pos, ident in along if pos <= min(reach)]
        after = [ident for pos, ident in along if pos >= max(reach)]
        picked.update(before[-1:] + after[:1])
    return [st.id for st in corridor.stops if st.position is None or st.id in picked]
