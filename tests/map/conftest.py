"""A real uvicorn server on a free loopback port, serving the test database with committed data, and the
Ruhr example loaded into it (straight into the tables: the map only reads)."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from geoalchemy2.shape import from_shape, to_shape
from playwright.sync_api import Browser, Dialog, Page, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.app import create_app
from service.auth import service as auth
from service.conflicts.models import Conflict, Zone
from service.requests.models import SiteRequest
from service.requests.schemas import RequestWrite
from service.requests.service import prepare
from service.settings import REPO_ROOT, Settings
from service.slots.models import Slot
from tests.map.browser import CHROMIUM_ARGS, SAY_YES

RUHR = REPO_ROOT / "examples" / "ruhr"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(settings: Settings, clean_database: Engine) -> Iterator[str]:
    port = free_port()
    # its public address is its own: the OGC links are built from it (GDAL follows them), never from Host
    app = create_app(settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"}))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def tab(browser: Browser, *, accept_dialogs: bool = False, locale: str = "de-DE", **options: object) -> Iterator[Page]:
    """A fresh tab (German locale unless told) with these context options; any page error, and any dialog of the
    browser (confirm, prompt, alert: the page asks in its own dialog), fails the test. ``accept_dialogs``: the
    page's questions are answered with yes ("approve despite conflicts?" and the like; browser.SAY_YES)."""
    context = browser.new_context(locale=locale, **options)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))

    def browser_dialog(d: Dialog) -> None:
        errors.append(f"browser dialog ({d.type}): {d.message}")
        d.dismiss()

    pg.on("dialog", browser_dialog)
    if accept_dialogs:
        pg.add_init_script(SAY_YES)
    yield pg
    context.close()
    assert not errors, errors


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A wide screen's tab (1600 x 950); the page's questions are answered with yes."""
    yield from tab(browser, accept_dialogs=True, viewport={"width": 1600, "height": 950})


@pytest.fixture
def full_hd(browser: Browser) -> Iterator[Page]:
    """A full HD screen's tab (1920 x 1080)."""
    yield from tab(browser, viewport={"width": 1920, "height": 1080})


@pytest.fixture
def laptop(browser: Browser) -> Iterator[Page]:
    """A laptop's tab (1400 x 900), the size the QA pass found the list and the legend cramped at."""
    yield from tab(browser, viewport={"width": 1400, "height": 900})


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A tab of a phone's size (390 x 844, touch)."""
    yield from tab(browser, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                   device_scale_factor=2)


@dataclass
class Ruhr:
    coordinator_key: str
    ids: dict[str, uuid.UUID] = field(default_factory=dict)  # external_id -> request id
    titles: dict[uuid.UUID, str] = field(default_factory=dict)
    zone_id: uuid.UUID | None = None


def load_ruhr(engine: Engine, folder: Path = RUHR) -> Ruhr:
    """Organisations and requests of examples/ruhr, a coordinator key, a few slots, conflicts and a zone."""
    settings = Settings()
    with Session(engine) as session:
        orgs = {}
        for o in json.loads((folder / "organisations.json").read_text("utf-8")):
            orgs[o["name"]] = auth.get_or_create_organisation(session, name=o["name"], kind=o["kind"])
        coordinator = next(org for org in orgs.values() if org.kind == "coordinator")
        _, key = auth.create_key(session, org_id=coordinator.id, role="coordinator")
        ruhr = Ruhr(coordinator_key=key)
        for feature in json.loads((folder / "requests.geojson").read_text("utf-8"))["features"]:
            props = dict(feature["properties"])
            owner = orgs.get(props["owner_org"]) or auth.get_or_create_organisation(
                session, name=props["owner_org"], kind="city")
            props.pop("owner_org")
            body = RequestWrite.model_validate({**props, "geometry": feature["geometry"]})
            prepared = prepare(body, settings)
            req = SiteRequest(owner_id=owner.id, status="submitted", source="example", geometry_notes=[],
                              **prepared.values)
            session.add(req)
            session.flush()
            ruhr.ids[props.get("external_id") or props["title"]] = req.id
            ruhr.titles[req.id] = req.title
        session.commit()
        reqs = [session.get(SiteRequest, rid) for rid in ruhr.ids.values()]  # in the file's order
        # the first three get a slot: proposed, approved, locked; the first two conflict with each other
        for req, status in zip(reqs[:3], ("proposed", "approved", "locked"), strict=True):
            start = req.preferred_start or req.earliest_start
            end = date.fromordinal(start.toordinal() + req.duration_days - 1)
            session.add(Slot(request_id=req.id, start=start, end=end, status=status,
                             explanation={"summary": "Vorzugsbeginn frei / preferred start is free"}))
            req.status = "slot_proposed" if status != "approved" else "approved"
        a, b = sorted([reqs[0].id, reqs[1].id])
        session.add(Conflict(request_a=a, request_b=b, kind="space", hard=True, distance_m=120.0,
                             overlap_start=max(reqs[0].earliest_start, reqs[1].earliest_start),
                             overlap_end=min(reqs[0].latest_end, reqs[1].latest_end), reason={"distance_m": 120.0}))
        first = to_shape(reqs[0].geom)
        zone = Zone(name="Innenstadt Essen", capacity=2, min_impact="lane_reduction",
                    geom=from_shape(first.buffer(0.01).envelope, srid=4326))
        session.add(zone)
        session.commit()
        ruhr.zone_id = zone.id
    return ruhr


@pytest.fixture
def ruhr(clean_database: Engine) -> Ruhr:
    return load_ruhr(clean_database)
