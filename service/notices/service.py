"""Subscriptions and the notice outbox. Nothing here commits; the HTTP request or the worker job does.

A subscription's area is stored as a (multi)polygon in EPSG:4326 with a generated EPSG:25832 copy under a
GiST index: a point with a radius is buffered in metres; a street within a city is the city's outline
plus the normalised street name, which must occur in the site's title or description (there is no street
gazetteer offline; see docs/notices.md).
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import socket
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from geoalchemy2.shape import from_shape
from pydantic import ValidationError
from shapely.geometry import MultiPolygon, Point, Polygon, box, shape
from sqlalchemy.orm import Session

from service.auth.service import Principal
from service.events.models import Event
from service.feeds import gtfsrt
from service.feeds.common import FeedSite, scrub
from service.feeds.service import corridors_of
from service.geo import GeometryError, GeometryLimits, to_metric, to_wgs84, validate_geojson
from service.kit.limits import has_control_character
from service.kit.problems import InvalidField, Problem, field_path, not_found
from service.kit.time import today
from service.kit.types import line_break
from service.notices import egress, render, repository
from service.notices.models import Subscription, WebhookEndpoint
from service.notices.schemas import WEBHOOK_URL_MAX, SubscriptionPatch, SubscriptionWrite, WebhookIn
from service.requests.models import IMPACT_ORDER
from service.settings import Settings

MAX_SUBSCRIPTION_AREA_KM2 = 1500.0
RADIUS_RANGE_M = (10.0, 20_000.0)
PENDING_TTL = timedelta(days=7)
FEED_LIMIT = 500

# Approximate outlines (bounding boxes, lon/lat) of the Ruhr's cities for street subscriptions. They are
# deliberately generous; the street name does the narrowing. Replaced by examples/ruhr/municipalities.geojson
# when that file exists (features with a "name" property).
CITY_BBOXES: dict[str, tuple[float, float, float, float]] = {
    "essen": (6.89, 51.34, 7.14, 51.54),
    "mülheim an der ruhr": (6.81, 51.35, 6.96, 51.47),
    "duisburg": (6.62, 51.33, 6.83, 51.56),
    "oberhausen": (6.78, 51.45, 6.93, 51.58),
    "bochum": (7.10, 51.41, 7.35, 51.53),
    "dortmund": (7.30, 51.41, 7.64, 51.60),
    "gelsenkirchen": (6.98, 51.48, 7.14, 51.64),
    "bottrop": (6.88, 51.50, 7.01, 51.65),
    "herne": (7.10, 51.50, 7.27, 51.58),
    "hagen": (7.37, 51.27, 7.60, 51.43),
    "hamm": (7.67, 51.59, 7.98, 51.74),
    "recklinghausen": (7.14, 51.55, 7.27, 51.66),
    "gladbeck": (6.92, 51.55, 7.03, 51.61),
    "witten": (7.25, 51.38, 7.43, 51.47),
    "moers": (6.57, 51.41, 6.70, 51.49),
    "herten": (7.07, 51.57, 7.19, 51.63),
    "castrop-rauxel": (7.25, 51.53, 7.37, 51.60),
    "marl": (7.02, 51.62, 7.18, 51.70),
    "unna": (7.62, 51.50, 7.78, 51.58),
    "lünen": (7.45, 51.58, 7.60, 51.66),
}
CITY_ALIASES = {"mülheim": "mülheim an der ruhr", "muelheim": "mülheim an der ruhr",
                "muelheim an der ruhr": "mülheim an der ruhr", "luenen": "lünen"}


# --- areas --------------------------------------------------------------------------------------


@dataclass
class Area:
    kind: str  # polygon|circle|street
    geometry: MultiPolygon
    street_norm: str | None
    stored_input: dict[str, Any]


def normalise_street(name: str) -> str:
    """The same normalisation as repository._NORM_SQL: "Rüttenscheider Straße" → "rüttenscheiderstr"."""
    s = unicodedata.normalize("NFC", name).lower()
    for a, b in (("straße", "str"), ("strasse", "str"), (".", ""), (" ", ""), ("-", ""), ("\u00a0", "")):
        s = s.replace(a, b)
    return s


@cache
def _municipalities(path: str) -> dict[str, Any]:
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        return {}
    data = json.loads(p.read_text())
    return {str(f["properties"].get("name", "")).lower(): shape(f["geometry"]) for f in data.get("features", [])
            if f.get("geometry") and f.get("properties")}


def city_outline(city: str, settings: Settings) -> Any:
    key = " ".join(city.lower().split())
    key = CITY_ALIASES.get(key, key)
    found = _municipalities(str(settings.examples_dir / "ruhr" / "municipalities.geojson")).get(key)
    if found is not None:
        return found
    if key in CITY_BBOXES:
        return box(*CITY_BBOXES[key])
    known = ", ".join(sorted(c.title() for c in CITY_BBOXES))
    raise InvalidField("area.city", f"{city!r} is not a city this service knows; known cities: {known}")


def _multi(geom: Any) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    raise InvalidField("area", "must describe an area")


def parse_area(area: dict[str, Any], settings: Settings) -> Area:
    limits = GeometryLimits(service_area=tuple(settings.service_area), max_vertices=settings.max_vertices,  # type: ignore[arg-type]
                            max_area_km2=MAX_SUBSCRIPTION_AREA_KM2)
    if "type" in area:
        try:
            valid = validate_geojson(area, limits=limits, allowed=("Polygon", "MultiPolygon"))
        except GeometryError as exc:
            raise InvalidField(exc.field("area"), exc.detail) from exc
        return Area("polygon", _multi(valid.geometry), None, {"type": "polygon"})
    if "point" in area:
        extra = set(area) - {"point", "radius_m"}
        if extra:
            raise InvalidField(f"area.{sorted(extra)[0]}", "is not a field of a point area")
        radius = area.get("radius_m", 500)
        if isinstance(radius, bool) or not isinstance(radius, int | float):
            raise InvalidField("area.radius_m", "must be a number of metres")
        if not RADIUS_RANGE_M[0] <= radius <= RADIUS_RANGE_M[1]:
            raise InvalidField("area.radius_m", f"must lie between {RADIUS_RANGE_M[0]:g} and {RADIUS_RANGE_M[1]:g} m")
        try:
            valid = validate_geojson({"type": "Point", "coordinates": area["point"]}, limits=limits,
                                     allowed=("Point",))
        except GeometryError as exc:
            raise InvalidField("area.point", exc.detail) from exc
        circle = to_wgs84(to_metric(valid.geometry).buffer(float(radius), quad_segs=16))
        p: Point = valid.geometry  # type: ignore[assignment]
        return Area("circle", _multi(circle), None, {"point": [p.x, p.y], "radius_m": radius})
    if "street" in area:
        extra = set(area) - {"street", "city"}
        if extra:
            raise InvalidField(f"area.{sorted(extra)[0]}", "is not a field of a street area")
        street, city = area.get("street"), area.get("city")
        if not isinstance(street, str) or not 2 <= len(street.strip()) <= 200:
            raise InvalidField("area.street", "must be a street name of 2 to 200 characters")
        if not isinstance(city, str) or not city.strip():
            raise InvalidField("area.city", "is required with a street")
        for name, value in (("street", street), ("city", city)):  # they are said in the emails, on one line
            if line_break(value) is not None:
                raise InvalidField(f"area.{name}", "must be one line, without line breaks")
        norm = normalise_street(street)
        if len(norm) < 3:
            raise InvalidField("area.street", "is too short to find in site descriptions")
        return Area("street", _multi(city_outline(city, settings)), norm,
                    {"street": street.strip(), "city": city.strip()})
    raise InvalidField("area", 'must be a GeoJSON Polygon, {"point": [lon, lat], "radius_m": m} or '
                               '{"street": "...", "city": "..."}')


def area_summary(sub: Subscription) -> dict[str, Any]:
    """The area as the subscriber gave it (``render.area_text`` words it in each language)."""
    return {"kind": sub.area_kind, **(sub.area_input or {})}


# --- webhooks -----------------------------------------------------------------------------------


def new_webhook_secret() -> str:
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _ip_of(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address a host literal stands for, including the shorthand forms resolvers accept (``127.1``,
    ``2130706433``, ``0x7f.0.0.1``); ValueError for a host name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        if all(c in "0123456789abcdefx." for c in host) and any(c.isdigit() for c in host):
            try:
                return ipaddress.IPv4Address(socket.inet_aton(host))
            except OSError:
                pass
        raise


# A host name's labels (letters, digits, hyphens, not at either end; an underscore as some DNS names carry it), in
# their ASCII (IDNA) form; at most 253 characters in all.
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


def _host_name_ok(host: str) -> bool:
    try:
        ascii_host = host if host.isascii() else host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.split(".")
    return len(ascii_host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def check_webhook_url(url: str, settings: Settings, field_name: str) -> str:
    if len(url) > WEBHOOK_URL_MAX:
        raise InvalidField(field_name, f"must be at most {WEBHOOK_URL_MAX} characters long")
    if any(c.isspace() for c in url) or has_control_character(url):
        raise InvalidField(field_name, "must not contain spaces or control characters (percent-encode them)")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket: "https://[zz/x"
        raise InvalidField(field_name, "is not a valid URL") from exc
    if not host or parts.scheme not in ("https", "http"):
        raise InvalidField(field_name, "must be an absolute HTTPS URL")
    try:
        port = parts.port  # raises ValueError for a port out of range
    except ValueError as exc:
        raise InvalidField(field_name, "has an invalid port") from exc
    if port == 0:
        raise InvalidField(field_name, "has an invalid port")
    loopback = host == "localhost" or host.endswith(".localhost")
    try:
        ip = _ip_of(host)
    except ValueError:
        ip = None  # a host name: its addresses are checked when the worker connects (egress)
        if not _host_name_ok(host):
            raise InvalidField(field_name, "does not name a valid host") from None
    if ip is not None:
        why = egress.refusal(ip)
        loopback = loopback or why == "loopback"
        if why is not None and not loopback:
            raise InvalidField(field_name, "must not point into a private network")
    if loopback and not settings.webhook_allow_http_loopback:
        raise InvalidField(field_name, "must not point to this machine")
    if parts.scheme == "http" and not (loopback and settings.webhook_allow_http_loopback):
        raise InvalidField(field_name, "must use https")
    if parts.username or parts.password:
        raise InvalidField(field_name, "must not contain credentials")
    return url


def _set_webhooks(sub: Subscription, hooks: list[WebhookIn | str], settings: Settings) -> None:
    urls = []
    for i, h in enumerate(hooks):
        url = h if isinstance(h, str) else h.url
        urls.append(check_webhook_url(url, settings, f"webhooks[{i}]"))
    if len(set(urls)) != len(urls):
        raise InvalidField("webhooks", "lists the same URL twice")
    existing = {ep.url: ep for ep in sub.webhooks}
    keep = []
    for url in urls:
        ep = existing.get(url)
        if ep is None:
            ep = WebhookEndpoint(id=uuid.uuid4(), url=url, secret=new_webhook_secret(), enabled=True)
        else:  # saving it again re-enables a disabled endpoint
            ep.enabled, ep.failing_since, ep.disabled_at = True, None, None
        keep.append(ep)
    sub.webhooks = keep


# --- links --------------------------------------------------------------------------------------


def links(sub: Subscription, settings: Settings) -> dict[str, str]:
    base = settings.public_url.rstrip("/") + "/v1/subscriptions"
    return {
        "manage": f"{base}/{sub.token}",
        "unsubscribe": f"{base}/{sub.token}/unsubscribe",
        "calendar": f"{base}/{sub.token}/calendar.ics",
        "atom": f"{base}/{sub.token}/feed.atom",
    }


def confirm_url(token: str, settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/v1/subscriptions/confirm?token={token}"


def map_url(request_id: str, settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/map/#request={request_id}"


# --- subscriptions ------------------------------------------------------------------------------


def _apply(sub: Subscription, data: dict[str, Any], settings: Settings) -> None:
    if "area" in data:
        area = parse_area(data["area"], settings)
        sub.area_kind, sub.street_norm, sub.area_input = area.kind, area.street_norm, area.stored_input
        sub.area = from_shape(area.geometry, srid=4326)
    if "kinds" in data:
        sub.kinds = sorted({str(k) for k in data["kinds"] or []})
    if "min_impact" in data:
        sub.min_impact_rank = IMPACT_ORDER[str(data["min_impact"])] if data["min_impact"] else 0
    if "modes" in data:
        sub.modes = sorted({str(m) for m in data["modes"] or []})
    for key in ("lead_days", "delivery", "language"):
        if data.get(key) is not None:
            setattr(sub, key, data[key])


def create(
    session: Session, body: SubscriptionWrite, settings: Settings, principal: Principal | None = None
) -> Subscription:
    """A pending subscription and its confirmation email in the outbox. An organisation's key (of any kind:
    a business, a transit operator's dispatch, a city) makes the organisation its co-owner; the email
    address still has to confirm."""
    sub = Subscription(
        id=uuid.uuid4(), email=str(body.email), organisation_id=principal.org_id if principal else None,
        token="sub_" + secrets.token_urlsafe(32), confirm_token=secrets.token_urlsafe(32), status="pending",
        kinds=[], modes=[], min_impact_rank=0, webhooks=[],
    )
    _apply(sub, body.model_dump(mode="python", exclude={"webhooks", "email"}), settings)
    _set_webhooks(sub, body.webhooks, settings)
    repository.add(session, sub)
    queue_confirmation(session, sub, settings)
    return sub


def queue_confirmation(session: Session, sub: Subscription, settings: Settings) -> None:
    notice_id = repository.insert_notice(session, {
        "subscription_id": sub.id, "kind": "confirmation", "dedupe_key": f"confirm:{sub.confirm_token}",
        "payload": {"confirm_token": sub.confirm_token, "area": area_summary(sub)},
    })
    if notice_id is not None:
        repository.insert_delivery(session, {
            "notice_id": notice_id, "channel": "email", "inbox": sub.email.lower(),
            "dedupe_key": f"confirm:{sub.confirm_token}",
        })


def _may_be_token(token: str) -> bool:
    """Tokens this service hands out never hold control characters (and PostgreSQL refuses U+0000 in a
    parameter): such a token or id is unknown without asking the database."""
    return not has_control_character(token)


@dataclass
class Confirmed:
    subscription: Subscription
    # How many sites the welcome notice queued now tells of (0: none matches, no welcome); None when the
    # subscription was confirmed before (a new address confirming again: no welcome).
    welcome_sites: int | None


def confirm(session: Session, token: str, settings: Settings, now: datetime | None = None) -> Confirmed:
    """Activate a subscription (double opt-in) and welcome it with the sites already in its area."""
    sub = repository.get_by_confirm_token(session, token) if _may_be_token(token) else None
    if sub is None:
        raise Problem(404, "Not found", "This confirmation link is unknown, used already or expired.",
                      type_="not-found")
    sub.status, sub.confirmed_at, sub.confirm_token = "active", now or datetime.now(UTC), None
    session.flush()
    # Welcomed on its first confirmation only; a new address confirming again gets what waits (below) and the
    # notices from now on (the calendar has the sites).
    first = repository.count_notices(session, sub.id, "confirmation") == 1
    welcomed = queue_welcome(session, sub, settings) if first else None
    if sub.delivery == "immediate":  # switched to immediate while a new address was unconfirmed
        queue_catch_up_digest(session, sub, sub.confirmed_at)
    return Confirmed(sub, welcomed)


WELCOME_LIMIT = 50  # sites listed in the welcome; the count and the calendar have all of them



def _site_snapshots(session: Session, ids: Any) -> dict[uuid.UUID, dict[str, Any]]:
    """The sites as notices show them. Anyone may subscribe, so the owner's title goes out as the open data feeds
    publish it: without e-mail addresses, telephone numbers and personal names (``service.feeds.common.scrub``)."""
    sites = repository.site_snapshots(session, ids)
    for site in sites.values():
        site["title"] = scrub(site["title"]) or "[…]"
    _add_transit(session, sites)
    return sites


def _add_transit(session: Session, sites: dict[uuid.UUID, dict[str, Any]]) -> None:
    """Each site's ``touched``: the transit modes whose service it touches (``gtfsrt.transit_modes``, the rule
    ``repository.MODES_SQL`` matches by) with the lines of the registered corridors it affects, as the GTFS-RT
    feed names them (``gtfsrt.affected_lines``): ``{"bus": {"routes": ["142"], "corridors": ["…"]}}``. A
    subscriber's notice says from it which of the modes it chose are affected (``render.affected``)."""
    facts = repository.transit_facts(session, list(sites))
    near = corridors_of(session, list(facts))
    for rid, site in sites.items():
        row = facts.get(rid)
        if row is None:
            continue
        feed_site = FeedSite(
            id=rid, title=site["title"], description=row.description, kind=site["kind"], impact=site["impact"],
            modes=site["modes"], shift=site["shift"], urgency=site["urgency"], status=site["status"],
            owner_id=row.owner_id, owner_name=site["owner"], geometry=shape(json.loads(row.geometry)),
            has_diversion=site["diversion"], has_replacement=site["replacement"],
            start=date.fromisoformat(site["start"]), end=date.fromisoformat(site["end"]), from_slot=False,
            version=site["version"], first_published=datetime.fromisoformat(site["updated_at"]),
            last_changed=datetime.fromisoformat(site["updated_at"]), corridors=near.get(rid, []))
        touched: dict[str, dict[str, list[str]]] = {
            m: {"routes": [], "corridors": []} for m in render.TRANSIT_ORDER if m in gtfsrt.transit_modes(feed_site)}
        for _effect, corridor, mode, routes, _stops in gtfsrt.affected_lines(feed_site):
            line = touched[mode]
            line["routes"] += [r for r in routes if r not in line["routes"]]
            if corridor.name not in line["corridors"]:
                line["corridors"].append(corridor.name)
        site["touched"] = touched


def for_subscriber(site: dict[str, Any], modes: Any) -> dict[str, Any]:
    """A site snapshot as one subscriber's notice gives it: ``affected``, the modes it affects with the lines,
    those the subscriber chose first (``render.affected``), in place of the snapshot's ``touched``."""
    out = {k: v for k, v in site.items() if k != "touched"}
    if "touched" in site:
        out["affected"] = render.affected(site, list(modes or []))
    return out

def queue_welcome(session: Session, sub: Subscription, settings: Settings) -> int | None:
    """One notice "Baustellen in Ihrem Gebiet: N" listing the sites under way or planned that match the
    subscription (the same matching as every notice), emailed at once whatever the delivery rhythm, once
    per subscription (``welcome:<id>``). Nothing when nothing matches. Not sent to webhooks: a webhook
    tells a machine that something changed, and a machine reads the current sites from the calendar feed.
    Returns the number of sites, or None when the subscription was welcomed before."""
    on = today(settings)
    ids, count = repository.current_sites(session, sub.id, today=on, limit=WELCOME_LIMIT)
    if not count:
        return 0
    snaps = _site_snapshots(session, ids)
    items = [{"kind": render.status_kind(snaps[i]),
              "site": render.public_site({**for_subscriber(snaps[i], sub.modes), "map_url": map_url(str(i), settings)})}
             for i in ids if i in snaps]
    payload = {"count": count, "as_of": on.isoformat(), "area": area_summary(sub), "items": items}
    queued = queue_notice(session, sub.id, sub.email, sub.delivery, [], kind="welcome",
                          dedupe_key=f"welcome:{sub.id}", payload=payload, email_now=True)
    return count if queued is not None else None


def resolve(session: Session, ref: str, principal: Principal | None) -> Subscription:
    """A subscription by its secret management token, or by id with the key of the organisation that owns it
    (anyone else's subscription is not found, whoever asks)."""
    sub = None
    if ref.startswith("sub_"):
        sub = repository.get_by_token(session, ref) if _may_be_token(ref) else None
    else:
        try:
            sub_id = uuid.UUID(ref)
        except ValueError:
            sub_id = None
        if sub_id is not None and principal is not None:
            found = repository.get(session, sub_id)
            if found is not None and found.organisation_id == principal.org_id:
                sub = found
    if sub is None:
        raise not_found("Subscription", ref if not ref.startswith("sub_") else "behind this link")
    return sub


def list_for(session: Session, principal: Principal) -> list[Subscription]:
    """The subscriptions the caller's organisation owns (created with one of its keys)."""
    return repository.list_for_org(session, principal.org_id)


def update(session: Session, sub: Subscription, patch: SubscriptionPatch, settings: Settings) -> Subscription:
    data = patch.model_dump(mode="python", exclude_unset=True)
    for key in ("area", "delivery", "language", "lead_days", "email"):
        if key in data and data[key] is None:
            raise InvalidField(key, "may not be null")
    was_digest = sub.delivery != "immediate"
    if data.get("delivery") not in (None, "immediate", sub.delivery):
        # Digests of the new rhythm are counted from now: the first goes out at its next regular time.
        sub.last_digest_at = datetime.now(UTC)
    _apply(sub, {k: v for k, v in data.items() if k not in ("webhooks", "email")}, settings)
    if "webhooks" in data:
        _set_webhooks(sub, patch.webhooks or [], settings)
    if "email" in data and str(data["email"]).lower() != sub.email.lower():
        # A new address confirms again; nothing goes to it before, nothing more to the old one.
        repository.cancel_pending_email(session, sub.id, "email address changed")
        sub.email, sub.status, sub.confirmed_at = str(data["email"]), "pending", None
        sub.confirm_token = secrets.token_urlsafe(32)
        session.flush()
        queue_confirmation(session, sub, settings)
    if was_digest and sub.delivery == "immediate" and sub.status == "active":
        # What waited for the digest goes out now (an unconfirmed new address gets it once confirmed).
        queue_catch_up_digest(session, sub, datetime.now(UTC))
    session.flush()
    return sub


# The settings the management page's form changes (``POST /v1/subscriptions/{token}/settings``).
FORM_FIELDS = ("delivery", "lead_days", "language", "min_impact")
_WHOLE_DAYS = re.compile(r"[0-9]{1,9}")


def patch_from_form(form: Mapping[str, str | None]) -> SubscriptionPatch:
    """The management page's form as a PATCH body, validated as one (then ``update`` applies it, with the
    same logic as the PATCH): a field the form does not send stays as it is; ``min_impact`` empty means any
    restriction; ``lead_days`` is a whole number of days written in digits. Other fields are ignored."""
    data: dict[str, Any] = {}
    for key in FORM_FIELDS:
        value = form.get(key)
        if value is None:
            continue
        value = value.strip()
        if key == "min_impact":
            data[key] = value or None
        elif key == "lead_days":
            if not _WHOLE_DAYS.fullmatch(value):
                raise InvalidField("lead_days", "must be a whole number of days from 0 to 365")
            data[key] = int(value)
        else:
            data[key] = value
    try:
        return SubscriptionPatch.model_validate(data)
    except ValidationError as exc:
        errors = [{"field": field_path(err["loc"]), "detail": err["msg"]} for err in exc.errors()]
        raise Problem(422, "Invalid input", f"{errors[0]['field']}: {errors[0]['detail']}",
                      type_="invalid-input", errors=errors) from exc


def delete(session: Session, sub: Subscription) -> None:
    """Delete the subscription with its email address, endpoints and everything queued or sent for it. Never
    waits for the worker: while it is sending one of the subscription's notices it holds that delivery's row (and
    the rest of its chunk) until the chunk is done, so then the subscription is marked deleted instead (one UPDATE
    of its own row, its address blanked) and what is queued for it and free is cancelled. From that moment it is
    gone for every reader, the worker sends nothing more for it (it checks before each send), and the worker's
    next round deletes the rest (:func:`purge_deleted`)."""
    session.expunge(sub)
    if repository.remove_now(session, sub.id) is None:
        repository.mark_deleted(session, sub.id)
        repository.cancel_free_deliveries(session, sub.id, "subscription deleted")


def purge_deleted(session: Session) -> int:
    """Delete the subscriptions marked deleted (:func:`delete`) whose rows nobody holds any more; the others
    wait for the next round. Returns how many were deleted."""
    purged = 0
    for sub_id in repository.deleted_subscriptions(session):
        repository.cancel_free_deliveries(session, sub_id, "subscription deleted")
        if repository.has_pending_deliveries(session, sub_id):
            continue  # a worker still holds one of them: it cancels it itself, the next round deletes the rest
        purged += bool(repository.remove_now(session, sub_id))
    return purged


def is_subscribed(session: Session, token: str) -> bool:
    """Whether an unsubscribe link still belongs to a subscription (unsubscribing deletes it)."""
    return _may_be_token(token) and repository.get_by_token(session, token) is not None


def unsubscribe(session: Session, token: str) -> bool:
    sub = repository.get_by_token(session, token) if _may_be_token(token) else None
    if sub is None:
        return False
    delete(session, sub)
    return True


def to_read(session: Session, sub: Subscription, settings: Settings) -> dict[str, Any]:
    min_impact = next((k for k, v in IMPACT_ORDER.items() if v == sub.min_impact_rank), None)
    return {
        "id": sub.id, "email": sub.email, "status": sub.status, "area": {"kind": sub.area_kind, **sub.area_input},
        "area_geometry": json.loads(repository.area_geojson(session, sub.id)),
        "kinds": list(sub.kinds or []), "min_impact": min_impact if sub.min_impact_rank else None,
        "modes": list(sub.modes or []), "lead_days": sub.lead_days, "delivery": sub.delivery,
        "language": sub.language,
        "webhooks": [{"id": ep.id, "url": ep.url, "secret": ep.secret, "enabled": ep.enabled,
                      "failing_since": ep.failing_since, "disabled_at": ep.disabled_at} for ep in sub.webhooks],
        "links": links(sub, settings), "created_at": sub.created_at, "confirmed_at": sub.confirmed_at,
    }


def expire_pending(session: Session, now: datetime) -> int:
    return repository.expire_pending(session, now - PENDING_TTL)


# --- notices ------------------------------------------------------------------------------------


def queue_notice(
    session: Session, sub_id: uuid.UUID, email: str, delivery: str, endpoints: list[WebhookEndpoint], *,
    kind: str, dedupe_key: str, payload: dict[str, Any], request_id: uuid.UUID | None = None,
    event_id: int | None = None, email_now: bool = False,
) -> uuid.UUID | None:
    """One notice per (subscription, dedupe_key) and its deliveries: the email (now, or with the next
    digest) and each enabled webhook. Deliveries are unique per (inbox, dedupe_key)."""
    digest = delivery != "immediate" and not email_now
    notice_id = repository.insert_notice(session, {
        "subscription_id": sub_id, "kind": kind, "dedupe_key": dedupe_key, "payload": payload,
        "request_id": request_id, "event_id": event_id, "digest_pending": digest,
    })
    if notice_id is None:
        return None
    if not digest:
        repository.insert_delivery(session, {"notice_id": notice_id, "channel": "email", "inbox": email.lower(),
                                             "dedupe_key": dedupe_key})
    for ep in endpoints:
        repository.insert_delivery(session, {"notice_id": notice_id, "channel": "webhook", "endpoint_id": ep.id,
                                             "inbox": f"webhook:{ep.url}", "dedupe_key": dedupe_key})
    return notice_id


def _site_payload(site: dict[str, Any], settings: Settings, modes: Any = (), **extra: Any) -> dict[str, Any]:
    """A notice's payload for a subscriber who chose ``modes`` (none: every mode)."""
    return {"site": {**for_subscriber(site, modes), "map_url": map_url(site["id"], settings), **extra}}


def notice_kind_for(event: Event, site: dict[str, Any]) -> str | None:
    """Which notice an outbox event becomes, or None when businesses need not hear of it."""
    kind = event.kind
    if kind not in render.HEADLINES or kind.startswith("lead_time"):
        return None
    payload = event.payload or {}
    if site["status"] == "draft":
        return None
    if kind in render.CANCELLING:  # to those told of the site only (``_queue_event_notices``)
        return None if payload.get("from") == "draft" else kind
    if site["status"] in ("withdrawn", "rejected"):
        return None  # a stale event of a site that is cancelled meanwhile; the cancellation follows
    if kind == "request.updated" and "fields" in payload and not set(payload["fields"]) & render.RELEVANT_FIELDS:
        return None
    if kind == "change.approved" and payload.get("change") == "window":
        return None  # only the window widened: same dates, same area, nothing new for the street
    if kind in ("request.created", "request.submitted") and site.get("urgency") == "emergency":
        return "request.emergency"
    return kind


def dedupe_key_for(event: Event, kind: str) -> str:
    """One notice per subscription and event; an emergency works is one notice however many events announce
    it (its ``request.created``/``request.submitted`` and the ``request.emergency`` that activates it)."""
    if kind == "request.emergency" and event.request_id is not None:
        return f"emergency:{event.request_id}"
    return f"event:{event.id}"


# Notices that say what changed ("Bisher: ...") and compare with what the subscriber was last told.
TOLD_KINDS = ("request.updated", "slot.displaced", "change.approved")
PREVIOUS_FIELDS = ("title", "kind", "start", "end", "dates", "duration_days", "shift", "impact", "modes",
                   "affected", "replacement")
# What an approved change that changed the works' effect on traffic says it was ("jetzt ... statt ...").
EFFECT_PREVIOUS = ("impact", "modes", "affected", "shift", "diversion", "replacement")
# Which aspect of a site an edited field belongs to, when the subscriber was told nothing about it before.
FIELD_ASPECTS = {
    "earliest_start": "dates", "latest_end": "dates", "duration_days": "dates", "preferred_start": "dates",
    "shift": "hours", "geometry": "area", "diversions": "area", "impact": "impact", "modes": "impact",
    "kind": "details", "title": "details",
}


def _aspects(before: dict[str, Any], site: dict[str, Any]) -> list[str]:
    """What differs for the street between two snapshots of a site: its dates, working hours, area, impact,
    details. A window ("within ... to ..., N days") also changes with its number of days."""
    changed = []
    if (before.get("start"), before.get("end")) != (site.get("start"), site.get("end")) or (
            before.get("dates") == site.get("dates") == "window"
            and before.get("duration_days") != site.get("duration_days")):
        changed.append("dates")
    if "shift" in before and before["shift"] != site.get("shift"):  # told before notices carried it: see below
        changed.append("hours")
    if before.get("area_key") and site.get("area_key") and before["area_key"] != site["area_key"]:
        changed.append("area")
    if before.get("impact") != site.get("impact") or sorted(before.get("modes") or []) != sorted(
            site.get("modes") or []):
        changed.append("impact")
    if before.get("title") != site.get("title") or before.get("kind") != site.get("kind"):
        changed.append("details")
    return changed


def _slot_before(slot: Any) -> dict[str, Any] | None:
    if not isinstance(slot, dict) or not slot.get("start") or not slot.get("end"):
        return None
    return {"start": slot["start"], "end": slot["end"],
            "dates": "slot" if slot.get("status") == "approved" else "proposed"}


def change_facts(kind: str, event: Event, site: dict[str, Any], told: dict[str, Any] | None
                 ) -> dict[str, Any] | None:
    """What a change notice adds to the site for one subscriber: ``previous`` (the earlier dates, impact,
    ...) and ``changed`` (the aspects that differ), or None when an edit changes nothing this subscriber was
    not already told (e.g. an edit and its site's creation reach the outbox step together)."""
    payload = event.payload or {}
    if kind == "request.updated":
        fields = payload.get("fields") or []
        if told is not None:
            changed = _aspects(told, site)
            if "area_key" not in told and {"geometry", "diversions"} & set(fields):
                changed.append("area")  # told before notices carried the area's fingerprint
            if "shift" not in told and "shift" in fields:
                changed.append("hours")  # told before notices carried the working hours
            if not changed:
                return None
            return {"previous": {k: told[k] for k in PREVIOUS_FIELDS if k in told}, "changed": changed}
        return {"changed": sorted({FIELD_ASPECTS[f] for f in fields if f in FIELD_ASPECTS})}
    if kind == "slot.displaced":  # the dates the emergency (or a new request) took away, else what was told
        if told is not None and all(told.get(k) == site.get(k) for k in ("start", "end", "dates")):
            return None  # told the dates it has now already (its creation reached the outbox step with the move)
        before = _slot_before(payload.get("previous_slot")) or (
            {k: told[k] for k in ("start", "end", "dates", "duration_days") if k in told} if told else None)
        facts = {"previous": before, "changed": ["dates"]} if before else {}
        if payload.get("previous_slot", False) is None and (before is None or before.get("dates") in render.VOID_DATES):
            facts["first_dates"] = True  # a site without dates of its own got its first (``place_unblocked``)
        return facts
    if kind == "approval.revoked":  # the approved dates that no longer hold
        before = _slot_before({**(payload.get("slot") or {}), "status": "approved"})
        return {"previous": before, "changed": ["dates"]} if before else {}
    if kind == "change.approved":
        return _change_approved_facts(site, told)
    return {}


def _change_approved_facts(site: dict[str, Any], told: dict[str, Any] | None) -> dict[str, Any]:
    """An approved change after approval: ``changed`` names the dates when the slot moved (its previous dates are
    the change's ``previous``) and the area whenever the works' footprint changed (``change.area``), also when the
    dates changed with it; ``previous`` the effects on traffic as the subscriber was told them."""
    change = site.get("change") or {}
    before = change.get("previous") if isinstance(change.get("previous"), dict) else None
    changed = []
    if before and before.get("start") and (before.get("start"), before.get("end")) != (site.get("start"),
                                                                                        site.get("end")):
        changed.append("dates")
    if change.get("area"):
        changed.append("area")
    facts: dict[str, Any] = {"changed": changed} if changed else {}
    previous = {k: told[k] for k in EFFECT_PREVIOUS if k in told} if told and render.effects(site) else {}
    if "dates" in changed and before:  # the approved dates before the change, as for a displacement
        previous.update({"start": before["start"], "end": before["end"], "dates": "slot"})
    if previous:
        facts["previous"] = previous
    return facts


# The edits that may take a site out of a subscription's filter: its owner's edit of a field the match reads
# (``repository.MATCH_PARTS``; the description, which a street subscription also reads, is no field notices
# follow), and an approved change after approval (its area, impact, modes).
FILTER_FIELDS = {"geometry", "diversions", "kind", "impact", "modes", "title"}
# The facts of a site (as a notice's snapshot holds them) each part of the match reads. A part the site fails now
# is a reason it left only when one of them changed since the subscriber was last told about it: when none did,
# the subscriber changed its own filter, and knows.
PART_FACTS = {"area": ("area_key",), "kinds": ("kind",), "impact": ("impact",), "modes": ("kind", "impact", "modes"),
              "street": ("title",)}


def may_leave(event: Event, site: dict[str, Any]) -> bool:
    """Whether an outbox event may have taken its site out of a subscription's filter."""
    if site["status"] == "draft" or site["status"] in render.CANCELLING_STATES:
        return False  # drafts are never told; a cancelled site's subscribers hear of its cancellation
    payload = event.payload or {}
    if event.kind == "request.updated":
        return "fields" not in payload or bool(set(payload["fields"]) & FILTER_FIELDS)
    return event.kind == "change.approved"


def _fact(site: dict[str, Any], name: str) -> Any:
    return sorted(site.get(name) or []) if name == "modes" else site.get(name)


def left_facts(told: dict[str, Any], site: dict[str, Any], passes: Mapping[str, bool]) -> dict[str, Any] | None:
    """What a notice that a site left a subscriber's filter adds to the site: ``left``, the parts of the match
    it fails because the site changed, and, as a change notice, ``previous`` and ``changed`` compared with what
    the subscriber was last told; None when the site changed nothing that the failing parts read."""
    left = [part for part, facts in PART_FACTS.items()
            if not passes[part] and any(_fact(told, f) != _fact(site, f) for f in facts)]
    if not left:
        return None
    changed = _aspects(told, site)
    if "area" in left and "area" not in changed:
        changed.append("area")  # told before notices carried the area's fingerprint
    return {"previous": {k: told[k] for k in PREVIOUS_FIELDS if k in told}, "changed": changed, "left": left}


def queue_left_notices(session: Session, settings: Settings, event: Event, site: dict[str, Any]) -> int:
    """"Baustelle betrifft Ihr Abo nicht mehr": to each subscription that was told about the site and that the
    site, changed by ``event``, no longer matches; through the same channels as its other notices. Once: not again
    while the site stays out (what it was last told is this notice), anew after it came back and left again. The
    key is the notice it takes back, so two workers handling two edits of the site at once queue it once too."""
    rows = repository.left_candidates(session, event.request_id)
    endpoints = repository.enabled_endpoints(session, [r.id for r in rows])
    queued = 0
    for row in rows:
        facts = left_facts(row.site, site, row._mapping)
        if facts is None:
            continue
        if queue_notice(session, row.id, row.email, row.delivery, endpoints.get(row.id, []), kind=render.SITE_LEFT,
                        dedupe_key=f"left:{event.request_id}:{row.seq}",
                        payload=_site_payload(site, settings, row.chosen_modes, **facts),
                        request_id=event.request_id, event_id=event.id):
            queued += 1
    return queued


def process_events(session: Session, settings: Settings, *, limit: int = 500) -> int:
    """Consume outbox events: write the notices they cause and mark them processed, in one transaction. A site
    that an edit takes out of a subscription's filter is noticed to those told about it before
    (:func:`queue_left_notices`)."""
    events = repository.unprocessed_events(session, limit)
    queued = 0
    sites = _site_snapshots(session, list({e.request_id for e in events if e.request_id}))
    for event in events:
        site = sites.get(event.request_id) if event.request_id else None
        if site is None:
            continue
        kind = notice_kind_for(event, site)
        if kind is not None:
            queued += _queue_event_notices(session, settings, event, kind, site)
        if may_leave(event, site):
            queued += queue_left_notices(session, settings, event, site)
    repository.mark_events(session, [e.id for e in events])
    return queued


def _queue_event_notices(session: Session, settings: Settings, event: Event, kind: str, site: dict[str, Any]) -> int:
    """The notices of one outbox event to the subscriptions its site matches; a cancellation ("Baustelle abgesagt
    ... findet nicht wie angekündigt statt") only to those that were told of the site: a notice of it, or a welcome
    that listed it (a site created, changed and withdrawn before the worker came round was never announced)."""
    matches = repository.match_subscriptions(session, event.request_id)
    endpoints = repository.enabled_endpoints(session, [m.id for m in matches])
    cancelling = kind in render.CANCELLING
    told = (repository.last_told(session, event.request_id, [m.id for m in matches])
            if kind in TOLD_KINDS or cancelling else {})
    queued = 0
    for m in matches:
        if cancelling and m.id not in told:
            continue  # never told of the site (no notice of it, no welcome listing it): nothing to call off
        facts = change_facts(kind, event, site, told.get(m.id))
        if facts is None:
            continue
        if queue_notice(session, m.id, m.email, m.delivery, endpoints.get(m.id, []), kind=kind,
                        dedupe_key=dedupe_key_for(event, kind),
                        payload=_site_payload(site, settings, m.modes, **facts),
                        request_id=event.request_id, event_id=event.id):
            queued += 1
    if owner_told(event, kind):
        queued += _queue_owner_notices(session, settings, event, kind, site, [m.id for m in matches])
    return queued


def owner_told(event: Event, kind: str) -> bool:
    """Whether the owner organisation of the event's site is told through its own subscriptions too: when an
    emergency displaced its site (``slot.displaced`` with ``emergency_id``: moved, or left without a slot). Its other
    sites' news reach it as any subscriber's, by area."""
    return kind == "slot.displaced" and bool((event.payload or {}).get("emergency_id"))


def _queue_owner_notices(session: Session, settings: Settings, event: Event, kind: str, site: dict[str, Any],
                         matched: list[uuid.UUID]) -> int:
    """The notice of ``event`` to every active subscription the site's owner organisation made with its key
    (``repository.owner_subscriptions``) that the site does not match by area and filters (those got it already):
    its own channel, by email and its webhooks, at its rhythm and language. Marked ``own_site``: it is not what
    the subscription was told about the area (``repository.last_told``), so no "Baustelle betrifft Ihr Abo nicht
    mehr" follows when the site changes. The request's ``contact`` is never written to (see docs/notices.md)."""
    owners = repository.owner_subscriptions(session, event.request_id, matched)
    endpoints = repository.enabled_endpoints(session, [o.id for o in owners])
    queued = 0
    for o in owners:
        facts = change_facts(kind, event, site, None) or {}
        payload = {**_site_payload(site, settings, o.modes, **facts), "own_site": True}
        if queue_notice(session, o.id, o.email, o.delivery, endpoints.get(o.id, []), kind=kind,
                        dedupe_key=dedupe_key_for(event, kind), payload=payload,
                        request_id=event.request_id, event_id=event.id):
            queued += 1
    return queued


def queue_lead_notices(session: Session, settings: Settings, today: date) -> int:
    """"Starts in N days": once per subscription, site and start date, as soon as the site's start is
    within the subscription's lead time."""
    rows = repository.lead_candidates(session, today)
    sites = _site_snapshots(session, list({r.request_id for r in rows}))
    subs = {s.id: s for s in _subs(session, {r.subscription_id for r in rows})}
    endpoints = repository.enabled_endpoints(session, list(subs))
    queued = 0
    for r in rows:
        sub, site = subs[r.subscription_id], sites[r.request_id]
        days = (r.start_date - today).days
        kind = {0: "lead_time_today", 1: "lead_time_tomorrow"}.get(days, "lead_time")  # not "in 1 Tagen"
        payload = _site_payload(site, settings, sub.modes, days_until=days)
        if queue_notice(session, sub.id, sub.email, sub.delivery, endpoints.get(sub.id, []), kind=kind,
                        dedupe_key=f"lead:{r.request_id}:{r.start_date.isoformat()}", payload=payload,
                        request_id=r.request_id):
            queued += 1
    return queued


def _subs(session: Session, ids: set[uuid.UUID]) -> list[Subscription]:
    from sqlalchemy import select

    return list(session.scalars(select(Subscription).where(Subscription.id.in_(list(ids))))) if ids else []


def digest_boundary(period: str, now: datetime, settings: Settings, hour: int = 7) -> datetime:
    """The latest digest time at or before ``now``: every day (daily) or every Monday (weekly) at 07:00."""
    from service.kit.time import tz

    local = now.astimezone(tz(settings))
    boundary = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if boundary > local:
        boundary -= timedelta(days=1)
    if period == "weekly":
        boundary -= timedelta(days=boundary.weekday())
    return boundary


def _queue_digest(session: Session, sub: Subscription, period: str, dedupe_key: str) -> bool:
    """One email with everything that waits for a digest of ``sub``, in the order it was queued; the items
    are marked as carried by it. Nothing waiting, nothing sent."""
    items = repository.pending_digest_items(session, sub.id)
    if not items:
        return False
    payload = {"period": period, "items": [{"kind": n.kind, "site": render.public_site(n.payload["site"]),
                                            "notice_id": str(n.id)} for n in items]}
    digest_id = queue_notice(session, sub.id, sub.email, sub.delivery, [], kind=f"digest.{period}",
                             dedupe_key=dedupe_key, payload=payload, email_now=True)
    if digest_id is None:
        return False  # that digest exists already: the items keep waiting for the next one, never lost
    for n in items:
        n.digest_pending, n.digest_id = False, digest_id
    return True


def queue_catch_up_digest(session: Session, sub: Subscription, now: datetime) -> bool:
    """A subscription that switched from daily/weekly to immediate delivery: what still waits for its digest
    goes out at once as one "digest up to the switch" (email; webhooks were immediate all along)."""
    session.flush()  # the switch itself first: it locks the subscription's row against the digest job
    return _queue_digest(session, sub, "catch_up", f"digest:catch_up:{sub.id}:{now.isoformat()}")


def queue_digests(session: Session, settings: Settings, now: datetime) -> int:
    """Collect what each daily/weekly subscription was noticed since its last digest into one email; and
    send what still waits for a digest of a subscription that is immediate now (a notice queued while the
    switch to immediate was saved, or one left from before the switch collected them) at once."""
    sent = 0
    for period in ("daily", "weekly"):
        boundary = digest_boundary(period, now, settings)
        for sub in repository.digest_due(session, period, boundary):
            sub.last_digest_at = now
            # per subscription: deliveries are unique per (inbox, key), so two subscriptions of one address
            # sharing a key would send one digest and drop the other's items
            sent += _queue_digest(session, sub, period, f"digest:{period}:{sub.id}:{boundary.isoformat()}")
    for sub in repository.immediate_with_waiting_digest(session):
        sent += queue_catch_up_digest(session, sub, now)
    session.flush()
    return sent


# --- pull feeds ---------------------------------------------------------------------------------


def _require_active(sub: Subscription) -> None:
    if sub.status != "active":
        raise Problem(409, "Not confirmed", "Confirm the subscription with the emailed link first.",
                      type_="subscription-pending")


def calendar_ics(session: Session, sub: Subscription, settings: Settings) -> bytes:
    """The subscription's calendar: the same bytes as long as its sites are the same (``feeds.calendar``)."""
    from service.notices import feeds

    _require_active(sub)
    since = today(settings) - timedelta(days=90)  # the service's calendar
    ids = repository.sites_for_subscription(session, sub.id, ends_after=since, limit=FEED_LIMIT)
    snaps = _site_snapshots(session, ids)
    sites = [{**for_subscriber(snaps[i], sub.modes), "map_url": map_url(str(i), settings)} for i in ids if i in snaps]
    cancelled = [i for i in ids if i in snaps and snaps[i]["status"] in feeds.CANCELLED]
    told = repository.told_sites(session, sub.id, cancelled)  # a site never told of is not called off either
    return feeds.calendar(sub, sites, links(sub, settings), told)


def atom_feed(session: Session, sub: Subscription, settings: Settings) -> bytes:
    """The subscription's Atom feed: the same bytes as long as its notices are the same, so its ETag holds. The
    feed's ``updated`` is its newest notice's time (RFC 4287 4.2.15), without notices when the subscription was
    confirmed, never the time of the request."""
    from service.notices import feeds

    _require_active(sub)
    since = sub.confirmed_at or sub.created_at
    return feeds.atom(sub, repository.notices_for(session, sub.id, 100), links(sub, settings), since)
