"""Validators built from the official standard files in ``../shared/data/standards`` (no network)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft7Validator, FormatChecker
from lxml import etree
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from service.settings import Settings

STANDARDS = Settings().shared_data_dir / "standards"
DATEX_DIR = STANDARDS / "datex2" / "v3.6"
WZDX_DIR = STANDARDS / "wzdx-4.2"
# The DATEX II v3 namespaces of a SituationPublication, for XPath over the feed.
DATEX_NS = {
    "con": "http://datex2.eu/schema/3/messageContainer",
    "sit": "http://datex2.eu/schema/3/situation",
    "com": "http://datex2.eu/schema/3/common",
    "loc": "http://datex2.eu/schema/3/locationReferencing",
    "inf": "http://datex2.eu/schema/3/informationManagement",
}
WZDX_BASE = "https://raw.githubusercontent.com/usdot-jpo-ode/wzdx/main/schemas/4.2/"


@cache
def datex_container_schema() -> etree.XMLSchema:
    """DATEX II v3.6 Exchange 2020 message container (it imports the D2Payload and Situation schemas)."""
    return etree.XMLSchema(etree.parse(str(DATEX_DIR / "DATEXII_3_MessageContainer.xsd")))


def assert_datex_valid(body: bytes) -> etree._Element:
    doc = etree.fromstring(body)
    schema = datex_container_schema()
    if not schema.validate(doc):
        errors = "\n".join(f"{e.line}: {e.message}" for e in list(schema.error_log)[:20])
        raise AssertionError(f"DATEX II document does not validate:\n{errors}")
    return doc


@cache
def wzdx_validator() -> Draft7Validator:
    resources = []
    for path in sorted((WZDX_DIR / "schemas").glob("*.json")):
        resources.append((WZDX_BASE + path.name, Resource.from_contents(json.loads(path.read_text()), DRAFT7)))
    for name in ("Point", "MultiPoint", "LineString"):
        path = STANDARDS / "geojson-geometry" / f"{name}.json"
        resources.append((f"https://geojson.org/schema/{name}.json",
                          Resource.from_contents(json.loads(path.read_text()), DRAFT7)))
    registry = Registry().with_resources(resources)
    schema = json.loads((WZDX_DIR / "schemas" / "WorkZoneFeed.json").read_text())
    return Draft7Validator(schema, registry=registry, format_checker=FormatChecker())


def wzdx_errors(doc: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in wzdx_validator().iter_errors(doc)]


def wzdx_examples() -> list[Path]:
    return sorted((WZDX_DIR / "examples").glob("*.geojson"))


# The target of each kind of WZDx link that names an event type (RelatedRoadEventType).
_LINK_TARGETS = {"related-detour": "detour", "related-work-zone": "work-zone"}


def wzdx_link_errors(doc: dict) -> list[str]:
    """What the schema cannot see about the road events' ``related_road_events``: ids unique, every link naming an
    event of the feed (of the right type for ``related-detour`` / ``related-work-zone``), and each work zone's
    ``related-detour`` answered by a ``related-work-zone`` back."""
    events = {f["id"]: f["properties"]["core_details"] for f in doc["features"]}
    errors = [f"duplicate id {ident}" for ident in {f["id"] for f in doc["features"]}
              if sum(f["id"] == ident for f in doc["features"]) > 1]
    for feature in doc["features"]:
        ident, core = feature["id"], feature["properties"]["core_details"]
        for link in core.get("related_road_events", []):
            target = events.get(link["id"])
            if target is None:
                errors.append(f"{ident}: {link['type']} names {link['id']}, not in the feed")
            elif link["type"] in _LINK_TARGETS and target["event_type"] != _LINK_TARGETS[link["type"]]:
                errors.append(f"{ident}: {link['type']} names a {target['event_type']} event")
            elif link["type"] == "related-detour" and {"type": "related-work-zone", "id": ident} not in target.get(
                    "related_road_events", []):
                errors.append(f"{ident}: {link['id']} does not link related-work-zone back")
    return errors
