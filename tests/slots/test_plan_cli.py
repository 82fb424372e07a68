"""`baustellen plan` as a coordinator reads it: a summary in 80 columns with units, the checker's violations, a
verdict against FCFS, the skip reasons and the kept slots that break a hard rule; `plan show` / `plan list`;
`plan --dry-run`; `slot lock` / `unlock`; errors naming the command's options. Committed data (the CLI opens its
own connections)."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from service.app import create_app
from service.auth import service as auth
from service.cli import app as cli
from service.kit.db import make_sessionmaker, session_scope
from service.settings import Settings
from service.slots import repository
from service.slots.models import PlanRun, Slot
from tests.conftest import site_body

BBOX = "6.99,51.43,7.01,51.45"
LONG = ("Erneuerung der Trinkwasserleitung einschließlich aller Hausanschlüsse, Schieberkreuze und Hydranten im "
        "Abschnitt zwischen Rüttenscheider Stern und Martinstraße")


def _setup(engine: Engine, settings: Settings) -> dict[str, str]:
    with session_scope(make_sessionmaker(engine, settings)) as session:
        keys = {}
        for name, kind, role in (("city", "city", "submitter"), ("utility", "utility", "submitter"),
                                 ("other", "utility", "submitter"), ("office", "coordinator", "coordinator")):
            org = auth.create_organisation(session, name=f"{name} {uuid.uuid4().hex[:6]}", kind=kind)
            keys[name] = {"Authorization": f"Bearer {auth.create_key(session, org_id=org.id, role=role)[1]}"}
    ids = {}
    with TestClient(create_app(settings)) as client:
        def post(who: str, body: dict) -> str:
            r = client.post("/v1/requests", json=body, headers=keys[who])
            assert r.status_code == 201, r.text
            return r.json()["id"]

        ids["a"] = post("city", site_body())
        ids["b"] = post("utility", site_body(kind="water", impact="lane_reduction", title=LONG))
        # K may run until June 2028: a plan of 2027 keeps its slot, which a later blackout covers
        ids["k"] = post("other", site_body(title="Fernwärme K", earliest_start="2027-03-01", latest_end="2028-06-30",
                                           preferred_start="2027-12-01"))
        r = client.post("/v1/blackouts", json={"name": "Weihnachtsmarkt", "geometry": None, "start": "2027-12-20",
                                               "end": "2028-01-06", "max_impact": "lane_reduction"},
                        headers=keys["office"])
        assert r.status_code == 201, r.text
    with session_scope(make_sessionmaker(engine, settings)) as session:
        repository.put_slot(session, uuid.UUID(ids["k"]), start=date(2027, 12, 1), end=date(2028, 1, 29),
                            status="proposed", provisional=False, explanation={}, unplaced=None, plan_id=None)
    return ids


def _slots(engine: Engine) -> set[tuple]:
    with Session(engine) as session:
        return {tuple(r) for r in session.execute(select(Slot.request_id, Slot.start, Slot.status, Slot.provisional))}


def test_the_plan_command_summarises_lists_and_locks(clean_database, settings, database_url,
                                                      monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("BAUSTELLEN_DATABASE_URL", database_url)
    ids = _setup(clean_database, settings)
    runner = CliRunner()

    before = _slots(clean_database)
    dry = runner.invoke(cli, ["plan", "--bbox", BBOX, "--from", "2027-01-01", "--to", "2027-12-31", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "DRY RUN: figures only, no slot was written" in dry.output
    assert _slots(clean_database) == before

    result = runner.invoke(cli, ["plan", "--bbox", BBOX, "--from", "2027-01-01", "--to", "2027-12-31"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert all(len(line) <= 80 for line in out.splitlines()), out
    for text in ("unplaced work (weighted days)", "weighted deviation (weighted days)",
                 "conflict pairs in the problem", "violations (checker)", "kept slots breaking a hard rule",
                 "verdict: ", "skipped 1:", "1  the window reaches beyond the plan period",
                 "kept slots that break a hard rule (1)", f"  {ids['k']} Fernwärme K",
                 "      slot 2027-12-01..2028-01-29 breaks:\n"
                 "        blackout \"Weihnachtsmarkt\" 2027-12-20..2028-01-06"):
        assert text in out, out
    assert "conflicts " not in out and "DRY RUN" not in out
    with Session(clean_database) as session:
        run = session.scalars(select(PlanRun).order_by(PlanRun.created_at.desc())).first()
        assert run is not None and not run.params.get("dry_run")
    assert f"details: baustellen plan show {run.id}" in out

    show = runner.invoke(cli, ["plan", "show", str(run.id)])
    assert show.exit_code == 0, show.output
    assert "unplaced 0:" in show.output and "moved 1, most days first:" in show.output
    assert all(len(line) <= 80 for line in show.output.splitlines()), show.output
    (line,) = [x for x in show.output.splitlines() if ids["b"] in x]
    assert line.startswith(f"  {ids['b']} Erneuerung der Trinkwasserleitung") and line.endswith("…")
    assert ", wanted 2027-04-01 (+" in show.output
    listed = runner.invoke(cli, ["plan", "list"])
    assert listed.exit_code == 0, listed.output
    runs = listed.output.splitlines()
    assert runs[1] == f"{run.id} 2027-01-01..2027-12-31 2 / 0", listed.output
    assert runs[2].endswith(" 2 / 0 (dry run)") and all(len(line) <= 80 for line in runs), listed.output

    locked = runner.invoke(cli, ["slot", "lock", ids["b"]])
    assert locked.exit_code == 0, locked.output
    assert locked.output.startswith("locked: Erneuerung der Trinkwasserleitung") and "(locked)" in locked.output
    assert runner.invoke(cli, ["slot", "unlock", ids["b"]]).output.startswith("unlocked: ")
    with Session(clean_database) as session:
        assert session.get(Slot, uuid.UUID(ids["b"])).status == "proposed"
    missing = runner.invoke(cli, ["slot", "lock", str(uuid.UUID(int=5))])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_plan_errors_name_the_command_options(clean_database, database_url, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("BAUSTELLEN_DATABASE_URL", database_url)
    runner = CliRunner()
    backwards = runner.invoke(cli, ["plan", "--bbox", BBOX, "--from", "2027-02-01", "--to", "2027-01-01"])
    assert backwards.exit_code == 2
    assert "error: --to: 2027-01-01 is before --from 2027-02-01" in backwards.output, backwards.output
    bbox = runner.invoke(cli, ["plan", "--bbox", "6.99,51.43,7.01", "--from", "2027-01-01", "--to", "2027-12-31"])
    assert bbox.exit_code == 2 and "error: --bbox: must be four numbers" in bbox.output, bbox.output
    neither = runner.invoke(cli, ["plan", "--from", "2027-01-01", "--to", "2027-12-31"])
    assert neither.exit_code == 2 and "error: --bbox: give either bbox or zone" in neither.output, neither.output
    mixed = runner.invoke(cli, ["plan", "--from", "2027-01-01", "show", str(uuid.UUID(int=1))])
    assert mixed.exit_code == 2 and "takes no --from" in mixed.output
    unknown = runner.invoke(cli, ["plan", "show", str(uuid.UUID(int=1))])
    assert unknown.exit_code == 2 and "does not exist" in unknown.output
