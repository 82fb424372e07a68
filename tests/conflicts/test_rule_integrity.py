"""Rule names are unique regardless of case; a corridor names each GTFS route and stop once. Through the API
against real PostGIS, and migration 0020 on a database that already holds names differing only in case."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from service.conflicts import repository
from tests.conflicts.helpers import box, line
from tests.conftest import migration_config

BODIES: dict[str, dict[str, Any]] = {
    "zones": {"capacity": 2, "geometry": box(-500, -500, 500, 500)},
    "corridors": {"kind": "tram", "geometry": line(-500, 0, 1000)},
    "moratoriums": {"geometry": box(-500, -500, 500, 500), "start": "2027-01-01", "end": "2027-12-31"},
    "blackouts": {"geometry": None, "start": "2027-12-01", "end": "2027-12-24"},
}


def create(client, coordinator, path: str, name: str, **extra: Any):  # noqa: ANN001, ANN201
    return client.post(f"/v1/{path}", json={"name": name, **BODIES[path], **extra}, headers=coordinator.headers)


@pytest.mark.parametrize("path", sorted(BODIES))
def test_names_are_unique_regardless_of_case(client, coordinator, path: str) -> None:  # noqa: ANN001
    first = create(client, coordinator, path, "Rüttenscheid")
    assert first.status_code == 201, first.text
    for name in ("Rüttenscheid", "rüttenscheid", "RÜTTENSCHEID"):
        r = create(client, coordinator, path, name)
        assert r.status_code == 409, (name, r.text)
        assert r.json()["errors"] == [{"field": "name", "detail": "already used"}]
        assert "'Rüttenscheid'" in r.json()["detail"]  # names the rule that holds the name
    other = create(client, coordinator, path, "Holsterhausen")
    assert other.status_code == 201, other.text
    rename = client.patch(f"/v1/{path}/{other.json()['id']}", json={"name": "rüttenScheid"},
                          headers=coordinator.headers)
    assert rename.status_code == 409 and rename.json()["errors"][0]["field"] == "name"
    # a rule may change the case of its own name
    own = client.patch(f"/v1/{path}/{first.json()['id']}", json={"name": "RÜTTENSCHEID"}, headers=coordinator.headers)
    assert own.status_code == 200, own.text
    assert own.json()["properties"]["name"] == "RÜTTENSCHEID"
    assert [f["properties"]["name"] for f in client.get(f"/v1/{path}", headers=coordinator.headers).json()
            ["features"]] == ["Holsterhausen", "RÜTTENSCHEID"]


def test_a_name_taken_between_check_and_insert_is_a_409(client, coordinator, monkeypatch) -> None:  # noqa: ANN001
    """Two coordinators creating "Rüttenscheid" and "rüttenscheid" at once both pass the check; the unique index
    refuses the second, which answers 409 as the check would, not 500."""
    assert create(client, coordinator, "zones", "Rüttenscheid").status_code == 201
    monkeypatch.setattr(repository, "get_rule_by_name", lambda *_args: None)  # the check saw nothing yet
    r = create(client, coordinator, "zones", "rüttenscheid")
    assert r.status_code == 409, r.text
    assert r.json()["errors"] == [{"field": "name", "detail": "already used"}]
    other = create(client, coordinator, "zones", "Holsterhausen").json()["id"]
    r = client.patch(f"/v1/zones/{other}", json={"name": "RÜTTENSCHEID"}, headers=coordinator.headers)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "name"
    assert client.get(f"/v1/zones/{other}", headers=coordinator.headers).json()["properties"]["name"] == \
        "Holsterhausen"


def test_a_corridor_names_each_stop_and_route_once(client, coordinator, make_caller) -> None:  # noqa: ANN001
    operator = make_caller("transit_operator", "submitter", "Ruhrbahn")
    stops = [{"id": "s1", "name": "Rüttenscheider Stern"}, {"id": "s2", "name": "Martinstraße"},
             {"id": "s1", "name": "Rüttenscheider Stern (Gleis 2)"}]
    r = create(client, coordinator, "corridors", "Linie 107", stops=stops)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["stops[2].id"]
    assert "stops[0]" in r.json()["errors"][0]["detail"]
    r = create(client, coordinator, "corridors", "Linie 107", routes=["107", "108", "107"])
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["routes[2]"]
    assert client.get("/v1/corridors", headers=coordinator.headers).json()["features"] == []
    r = create(client, coordinator, "corridors", "Linie 107", routes=["107", "108"], stops=stops[:2],
               owner_id=str(operator.org_id))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    # the owner maintaining its stops is held to the same rule
    r = client.patch(f"/v1/corridors/{cid}", json={"stops": [*stops[:2], {"id": "s2"}]}, headers=operator.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "stops[2].id"
    r = client.patch(f"/v1/corridors/{cid}", json={"routes": ["107", "107"]}, headers=operator.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "routes[1]"
    props = client.get(f"/v1/corridors/{cid}", headers=operator.headers).json()["properties"]
    assert [s["id"] for s in props["stops"]] == ["s1", "s2"] and props["routes"] == ["107", "108"]


# --- migration 0020 ----------------------------------------------------------------------------------------------



def test_upgrade_refuses_names_differing_only_in_case(scratch_url: str) -> None:
    cfg = migration_config(scratch_url)
    command.upgrade(cfg, "0019_conflicts_pending")
    engine = create_engine(scratch_url)
    zone = "INSERT INTO zones (id, name, capacity, min_impact, geom) VALUES (gen_random_uuid(), :name, 1, " \
           "'lane_reduction', ST_GeomFromText('POLYGON((7 51.4, 7.01 51.4, 7.01 51.41, 7 51.41, 7 51.4))', 4326))"
    try:
        with engine.begin() as conn:
            for name in ("Rüttenscheid", "rüttenscheid", "Holsterhausen"):
                conn.execute(text(zone), {"name": name})
        with pytest.raises(RuntimeError, match="zones: 'Rüttenscheid' .*'rüttenscheid'") as refused:
            command.upgrade(cfg, "head")
        assert "Holsterhausen" not in str(refused.value) and "PATCH" in str(refused.value)
        with engine.connect() as conn:  # nothing changed: still at 0019, the old constraint in place
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0019_conflicts_pending"
            assert conn.scalar(text("SELECT count(*) FROM pg_constraint WHERE conname = 'zones_name_key'")) == 1
        with engine.begin() as conn:
            conn.execute(text("UPDATE zones SET name = 'Rüttenscheid Süd' WHERE name = 'rüttenscheid'"))
        command.upgrade(cfg, "head")
        with pytest.raises(Exception, match="uq_zones_lower_name"), engine.begin() as conn:
            conn.execute(text(zone), {"name": "HOLSTERHAUSEN"})
        command.downgrade(cfg, "0019_conflicts_pending")
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM zones")) == 3
    finally:
        engine.dispose()
