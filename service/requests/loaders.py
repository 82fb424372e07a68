"""Bulk loads used by the CLI: the bundled Ruhr example and the Karlsruhe open data."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from service.auth import service as auth
from service.geo import GeometryError, check_crs
from service.kit.example import move_request, years_ahead
from service.kit.time import today
from service.requests import karlsruhe
from service.requests.service import LoadSummary, load_body
from service.settings import Settings

Progress = Callable[[int], None]


class BadFile(ValueError):
    """A file that cannot be loaded at all (missing, unreadable, not JSON, not a FeatureCollection, one naming a
    ``crs`` other than WGS84); the message names the file and why, for the CLI to print as one line."""


def _features(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadFile(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadFile(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError:
        raise BadFile(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise BadFile(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadFile(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        found = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise BadFile(f"{path}: not a GeoJSON FeatureCollection (found {found!r}), expected "
                      '{"type": "FeatureCollection", "features": [...]}')
    try:
        check_crs(data)  # as POST /v1/requests/import: a crs other than WGS84 would have every position misread
    except GeometryError as exc:
        raise BadFile(f"{path}: crs: {exc.detail}") from None
    return features


def load_karlsruhe(
    session: Session, path: Path, settings: Settings, *, progress: Progress | None = None
) -> LoadSummary:
    """Store every feature of the data set at ``path`` that maps onto a valid request; a feature that does not
    (:class:`karlsruhe.InvalidFeature`, or refused by the request's validation) is refused alone, by its ``id``
    (else ``features[i]``) and reason, and the others are stored. :class:`BadFile` when ``path`` is no
    FeatureCollection at all."""
    summary = LoadSummary()
    for i, feature in enumerate(_iter(_features(path), progress)):
        try:
            owner_name, owner_kind, body, notes = karlsruhe.to_request(feature)
        except karlsruhe.InvalidFeature as exc:
            summary.refused.append((_label(feature, i), str(exc)))
            continue
        org = auth.get_or_create_organisation(session, name=owner_name, kind=owner_kind)
        load_body(session, auth.system_principal(org), body, settings, summary, label=body["external_id"],
                  repair=True, notes=notes, source="karlsruhe")
    return summary


def load_example(
    session: Session, folder: Path, settings: Settings, *, progress: Progress | None = None
) -> LoadSummary:
    """Organisations and requests of ``examples/ruhr``; properties carry ``owner_org`` by name."""
    orgs = {o["name"]: o["kind"] for o in json.loads((folder / "organisations.json").read_text("utf-8"))}
    for name, kind in orgs.items():
        auth.get_or_create_organisation(session, name=name, kind=kind)
    summary = LoadSummary()
    years = years_ahead(folder, today(settings))
    for feature in _iter(_features(folder / "requests.geojson"), progress):
        props = move_request(dict(feature["properties"]), years)
        org = auth.get_or_create_organisation(session, name=props.pop("owner_org"), kind="city")
        body = {**props, "geometry": feature["geometry"]}
        load_body(session, auth.system_principal(org), body, settings, summary,
                  label=props.get("external_id") or props["title"], source="example")
    return summary


def _label(feature: Any, index: int) -> str:
    props = feature.get("properties") if isinstance(feature, dict) else None
    site_id = props.get("id") if isinstance(props, dict) else None
    return site_id if isinstance(site_id, str) and site_id.strip() else f"features[{index}]"


def count_features(path: Path) -> int:
    return len(_features(path))


def _iter(items: list[dict[str, Any]], progress: Progress | None) -> Iterable[dict[str, Any]]:
    for item in items:
        yield item
        if progress:
            progress(1)
