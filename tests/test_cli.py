"""The ``baustellen`` CLI against a real database (committed data, emptied after each test)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from service.app import create_app
from service.cli import app as cli
from service.conflicts.models import Blackout, Conflict
from service.kit.time import today, years_after
from service.requests.models import SiteRequest
from service.settings import Settings
from service.slots.models import Slot
from service.worker import build_scheduler
from tests.feeds.validators import assert_datex_valid, wzdx_errors, wzdx_link_errors
from tests.map.conftest import free_port
from tests.slots.helpers import assert_slots_valid

KARLSRUHE = Settings().shared_data_dir / "real" / "karlsruhe" / "sites.geojson"


@pytest.fixture
def run(clean_database, database_url, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("BAUSTELLEN_DATABASE_URL", database_url)
    runner = CliRunner()

    def _run(*args: str) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout.strip()

    return _run


def test_org_and_key_from_the_cli_open_the_api(run, settings) -> None:  # noqa: ANN001
    org_id = uuid.UUID(run("org", "create", "--name", "Stadt Bochum – Tiefbauamt", "--kind", "city"))
    key = run("key", "create", "--org", str(org_id), "--role", "submitter")
    assert key.startswith("bst_")
    with TestClient(create_app(settings)) as client:
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 200
        assert me.json()["organisation"]["id"] == str(org_id)
        assert me.json()["role"] == "submitter"
        key_id = me.json()["key_id"]
        # a leaked key is revoked from the CLI (id from `key list`) and refused at once
        assert key_id in CliRunner().invoke(cli, ["key", "list", "--org", str(org_id)],
                                            env={"COLUMNS": "60"}).output
        assert run("key", "revoke", "--org", str(org_id), key_id).startswith(f"revoked {key[:12]} at ")
        assert client.get("/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
        listed = CliRunner().invoke(cli, ["key", "list", "--org", str(org_id)], env={"COLUMNS": "80"}).output
        assert re.search(rf"{key_id}\s.*submitter\s.*{key[:12]}.*\d\d:\d\d\s.*\d\d:\d\d", listed), listed


def test_org_and_key_refuse_bad_values_without_a_traceback(run, clean_database, database_url) -> None:  # noqa: ANN001
    org_id = run("org", "create", "--name", "DEW21", "--kind", "utility")

    def refused(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args))
        assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
        return " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # rich boxes and wraps long lines

    assert "'pirates' is not one of 'road_authority', 'city'" in refused(
        "org", "create", "--name", "X", "--kind", "pirates")
    assert "'boss' is not one of 'submitter', 'coordinator', 'admin'" in refused(
        "key", "create", "--org", org_id, "--role", "boss")
    # a utility gets no key that approves (its own) requests
    assert "--role: a coordinator key acts for the coordination office" in refused(
        "key", "create", "--org", org_id, "--role", "coordinator")
    assert "--name: Value error, must not be blank" in refused("org", "create", "--name", "   ", "--kind", "city")
    assert "named 'DEW21' exists already" in refused("org", "create", "--name", "DEW21", "--kind", "city")
    assert "named 'DEW21' exists already (names are compared regardless of case)" in refused(
        "org", "create", "--name", " dew21 ", "--kind", "city")
    assert f"--org: Organisation {uuid.UUID(int=1)} does not exist" in refused(
        "key", "create", "--org", str(uuid.UUID(int=1)))
    assert f"API key {uuid.UUID(int=2)} does not exist" in refused(
        "key", "revoke", "--org", org_id, str(uuid.UUID(int=2)))
    # the ids `key create --org` needs are printed whole even on a narrow terminal
    listed = CliRunner().invoke(cli, ["org", "list"], env={"COLUMNS": "60"})
    assert listed.exit_code == 0 and org_id in listed.output


def test_plan_names_a_missing_or_malformed_day(clean_database, database_url, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("BAUSTELLEN_DATABASE_URL", database_url)
    missing = CliRunner().invoke(cli, ["plan", "--bbox", "6.9,51.4,7.1,51.5", "--to", "2027-12-31"])
    assert missing.exit_code == 2 and "--from" in missing.output
    bad = CliRunner().invoke(cli, ["plan", "--bbox", "6.9,51.4,7.1,51.5", "--from", "2027-13-01", "--to", "2027-12-31"])
    assert bad.exit_code == 2 and "--from '2027-13-01' is not a date like 2027-01-01" in bad.output


def test_import_karlsruhe_repairs_and_maps_the_real_data(run, engine) -> None:  # noqa: ANN001
    run("import", "karlsruhe", str(KARLSRUHE))
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(SiteRequest))
        repaired = session.scalars(select(SiteRequest).where(func.jsonb_array_length(SiteRequest.geometry_notes) > 0))
        repaired = list(repaired)
        kinds = dict(session.execute(select(SiteRequest.kind, func.count()).group_by(SiteRequest.kind)).all())
        impacts = dict(session.execute(select(SiteRequest.impact, func.count()).group_by(SiteRequest.impact)).all())
        invalid = session.scalar(
            select(func.count()).select_from(SiteRequest).where(~func.ST_IsValid(SiteRequest.geom))
        )
    assert total == 368
    assert len(repaired) == 18  # 14 invalid as published, 4 GeometryCollections merged
    assert all("repaired" in n or "GeometryCollection" in n for r in repaired for n in r.geometry_notes)
    assert invalid == 0
    assert kinds["power"] + kinds["telecom"] == 115 + 1  # "Strom bzw. TK-Versorgung" + "Leitungsarbeiten"
    assert kinds["telecom"] == 55  # the "Telekommunikation" owner
    assert kinds["district_heating"] == 49
    assert impacts == {"lane_reduction": 237, "full_closure": 104, "footway": 27}
    # a second import finds everything there already
    run("import", "karlsruhe", str(KARLSRUHE))
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(SiteRequest)) == 368


def test_demo_load_takes_the_offices_decisions_so_the_feeds_publish_sites(run, engine, settings) -> None:  # noqa: ANN001
    folder = settings.examples_dir / "ruhr"
    decided = {d["external_id"] for d in json.loads((folder / "decisions.json").read_text("utf-8"))["approve"]}
    out = run("demo", "load")
    assert f"coordination office: {len(decided)} slots approved" in out
    assert "not approved" not in out
    with Session(engine) as session:
        rows = session.execute(select(SiteRequest.id, SiteRequest.external_id, SiteRequest.status, Slot.start,
                                      Slot.end, Slot.status).join(Slot, Slot.request_id == SiteRequest.id)).all()
        hard = session.execute(select(Conflict.request_a, Conflict.request_b)
                               .where(Conflict.hard, Conflict.request_b.is_not(None))).all()
    assert len(rows) == 53
    approved = {r[0]: r for r in rows if r[2] == "approved"}
    assert {r[1] for r in approved.values()} == decided
    assert all(r[5] == "approved" for r in approved.values())
    # a full plan ran after the rules were loaded and before the decisions: the others have proposed slots
    unplaced = {r[1] for r in rows if r[5] == "unplaced"}
    assert {r[2] for r in rows if r[0] not in approved and r[1] not in unplaced} == {"slot_proposed"}
    # the planned gas renewal inside the Hohe Straße no-dig area (its whole window) cannot be placed; a few others
    # lose to heavier works (their provisional slots from the load had broken rules loaded after them)
    assert "DEW-WG-2027-131" in unplaced and len(unplaced) <= 3, out
    assert f"{53 - len(unplaced)} slots placed, {len(unplaced)} unplaced" in out
    with Session(engine) as session:
        reasons = session.scalars(select(Slot.unplaced).where(Slot.status == "unplaced")).all()
    assert all(r["reason"]["de"].startswith("Kein Beginn im Zeitfenster ist frei") for r in reasons), reasons
    # and no stored slot, approved or proposed, breaks a rule or clashes with another (the independent checker)
    with Session(engine) as session:
        assert assert_slots_valid(session, settings, bbox=list(settings.service_area), start=str(today(settings)),
                                  end="2028-12-31") == 53 - len(unplaced)
        # (an unplaced request's conflicts are those of its window: the request as asked breaks the rule)
        placed = select(Slot.request_id).where(Slot.start.is_not(None))
        rule_hits = session.execute(select(Conflict.kind, Conflict.request_a, Conflict.request_b).where(
            Conflict.kind.in_(("moratorium", "blackout", "zone", "corridor")), Conflict.request_a.in_(placed),
            (Conflict.request_b.is_(None)) | Conflict.request_b.in_(placed))).all()
    assert rule_hits == []
    # the office approved no two slots that clash: hard conflicts between approved sites never overlap in time
    for a, b in hard:
        if a in approved and b in approved:
            assert approved[a][4] < approved[b][3] or approved[b][4] < approved[a][3], (a, b)

    with TestClient(create_app(settings)) as client:
        datex = client.get("/feeds/datex2/situations.xml")
        wzdx = client.get("/feeds/wzdx.geojson").json()
        gtfs = client.get("/feeds/gtfs-rt/alerts.pb", params={"format": "json"}).json()
    root = assert_datex_valid(datex.content)
    situations = {el.get("id") for el in root.iter("{*}situation")}
    assert situations == {str(rid) for rid in approved}
    assert wzdx_errors(wzdx) == []
    # WZDx is about the road: the two pedestrian-zone works, the S-Bahn platform and the S1 track closure are left out
    off_road = {"TBA-66-2027/012", "WBD-TB-27-0088", "DBI-RW-BST-2027-0210", "DBI-RW-S1-2027-0045"}
    # (a site's road events: one per shift of day or night work, part of its geometry, diversion route; ids
    # "<request id>[:…]")
    assert {f["id"].split(":")[0] for f in wzdx["features"]} == {
        str(rid) for rid, r in approved.items() if r[1] not in off_road}
    assert wzdx_link_errors(wzdx) == []

    # GTFS-RT names the stops each site affects, not every stop of the line: the S1 track works between Essen Hbf
    # and Essen-Steele close the line there, the platform works at Dortmund Universität touch that stop only
    alerts = {e["id"]: e["alert"] for e in gtfs["entity"]}  # "<request id>:<effect>" (gtfsrt.entity_id)
    by_external = {r[1]: str(rid) for rid, r in approved.items()}
    pairs = lambda ext, effect: [(e.get("route_id"), e.get("stop_id"))  # noqa: E731
                                 for e in alerts[f"{by_external[ext]}:{effect}"]["informed_entity"]]
    assert pairs("DBI-RW-S1-2027-0045", "no_service") == [("S1", "de:05113:9083"), ("S1", "de:05113:9305")]
    assert pairs("DBI-RW-BST-2027-0210", "other_effect") == [("S1", "de:05913:1125")]

    # a second load finds everything there and decides nothing again
    assert "coordination office: 0 slots approved" in run("demo", "load")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).where(SiteRequest.status == "approved")) == len(decided)



def test_worker_process_runs_its_jobs_quietly_and_stops_on_sigterm(clean_database, database_url, tmp_path) -> None:  # noqa: ANN001
    """`baustellen worker` as its own process: it starts every domain's jobs, an idle round logs nothing (no
    APScheduler line per run, no empty delivery stats), and SIGTERM ends it cleanly."""
    expected_jobs = len(build_scheduler(Settings(database_url=database_url))[0].get_jobs())
    env = {**os.environ, "BAUSTELLEN_DATABASE_URL": database_url, "BAUSTELLEN_WORKER_POLL_SECONDS": "0.2"}
    log = tmp_path / "worker.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-c", "from service.cli import app; app()", "worker"],
                                cwd=Path(__file__).resolve().parents[1], env=env, stdout=fh,
                                stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 60
            while "worker started with" not in log.read_text() and proc.poll() is None:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            time.sleep(2)  # about ten rounds of the 0.2 s delivery job, with nothing to do
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
    out = log.read_text()
    assert proc.returncode == 0, out
    assert f"worker started with {expected_jobs} jobs" in out
    assert "Running job" not in out and "executed successfully" not in out
    assert "DeliveryStats(claimed=0" not in out
    assert "Traceback" not in out


def test_serve_logs_every_line_with_its_time(clean_database, database_url, tmp_path) -> None:  # noqa: ANN001
    """`baustellen serve` as its own process: uvicorn's access lines had no time (the worker's lines have one);
    now its own lines and the access lines start with it, in the worker's format."""
    port = free_port()
    env = {**os.environ, "BAUSTELLEN_DATABASE_URL": database_url}
    log = tmp_path / "serve.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-c", "from service.cli import app; app()", "serve",
                                 "--port", str(port)], cwd=Path(__file__).resolve().parents[1], env=env,
                                stdout=fh, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 60
            while "Application startup complete" not in log.read_text() and proc.poll() is None:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            assert httpx.get(f"http://127.0.0.1:{port}/ogc/conformance", timeout=10).status_code == 200
            while '"GET /ogc/conformance HTTP/1.1" 200' not in log.read_text():
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
    lines = log.read_text().splitlines()
    stamp = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} "
    access = [line for line in lines if "GET /ogc/conformance" in line]
    assert len(access) == 1 and re.match(stamp + r'uvicorn\.access INFO 127\.0\.0\.1:\d+ - "GET /ogc/conformance '
                                         r'HTTP/1\.1" 200 OK$', access[0]), lines
    assert all(re.match(stamp + r"uvicorn(\.error)? INFO ", line) for line in lines if line != access[0]), lines


def test_demo_load_moves_the_example_ahead_of_a_later_today(run, engine, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("BAUSTELLEN_TODAY", "2029-02-01")  # the example's windows open from 2027-01-04
    out = run("demo", "load")
    assert "coordination office: 12 slots approved" in out and "not approved" not in out
    features = json.loads((Settings().examples_dir / "ruhr" / "requests.geojson").read_text("utf-8"))["features"]
    written = {f["properties"]["external_id"]: f["properties"] for f in features}
    with Session(engine) as session:
        rows = session.execute(select(SiteRequest.external_id, SiteRequest.earliest_start, SiteRequest.latest_end,
                                      SiteRequest.preferred_start, Slot.start)
                               .join(Slot, Slot.request_id == SiteRequest.id)).all()
        christmas = session.execute(select(Blackout.start, Blackout.end).where(Blackout.name.like("Weihnacht%"))).all()
    assert len(rows) == 53
    for ext, first, last, preferred, slot_start in rows:
        props = written[ext]
        assert first == years_after(date.fromisoformat(props["earliest_start"]), 3) >= date(2029, 2, 1)
        assert last >= years_after(date.fromisoformat(props["latest_end"]), 3)
        wished = props.get("preferred_start")
        assert preferred == (wished and years_after(date.fromisoformat(wished), 3))
        assert slot_start is None or slot_start >= date(2029, 2, 1)
    assert christmas and all(start.year >= 2029 and (start.month, end.month) == (11, 12) for start, end in christmas)
