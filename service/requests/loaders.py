"""Bulk loads used by the CLI: the bundled Ruhr example and the Karlsruhe open data."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from service.auth import service as auth
from service.kit.example import move_request, years_ahead
from service.kit.time import today
from service.requests import karlsruhe
from service.requests.service import LoadSummary, load_body
from service.settings import Settings

Progress = Callable[[int], None]


def _features(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return list(data["features"])


def load_karlsruhe(
    session: Session, path: Path, settings: Settings, *, progress: Progress | None = None
) -> LoadSummary:
    summary = LoadSummary()
    for feature in _iter(_features(path), progress):
        owner_name, owner_kind, body, notes = karlsruhe.to_request(feature)
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


def count_features(path: Path) -> int:
    return len(_features(path))


def _iter(items: list[dict[str, Any]], progress: Progress | None) -> Iterable[dict[str, Any]]:
    for item in items:
        yield item
        if progress:
            progress(1)
