"""Organisation names are unique regardless of case and of white space at either end: "stadt essen " is the
organisation "Stadt Essen", not a second one a coordinator could not tell apart in a list, a notice or a feed."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from tests.conftest import migration_config


def test_a_name_differing_only_in_case_or_spaces_names_the_existing_organisation(client, make_caller) -> None:  # noqa: ANN001
    admin = make_caller("coordinator", "admin")
    first = client.post("/v1/organisations", json={"name": "  Stadt Herne – Tiefbau \u200b", "kind": "city"},
                        headers=admin.headers)
    assert first.status_code == 201, first.text
    assert first.json()["name"] == "Stadt Herne – Tiefbau"  # stored trimmed
    for name in ("stadt herne – tiefbau", "STADT HERNE – TIEFBAU ", "Stadt Herne – Tiefbau"):
        again = client.post("/v1/organisations", json={"name": name, "kind": "city"}, headers=admin.headers)
        assert again.status_code == 409, again.text
        assert again.json()["existing_id"] == first.json()["id"]
        assert "'Stadt Herne – Tiefbau' exists already" in again.json()["detail"]
    names = [o["name"] for o in client.get("/v1/organisations", headers=admin.headers).json()]
    assert sum(n.lower() == "stadt herne – tiefbau" for n in names) == 1



def test_the_upgrade_stops_on_names_differing_only_in_case_and_trims_the_others(scratch_url: str) -> None:
    cfg = migration_config(scratch_url)
    command.upgrade(cfg, "0026_list_and_purge_indexes")
    engine = create_engine(scratch_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO organisations (id, name, kind) VALUES "
                              "(gen_random_uuid(), 'Stadt Essen', 'city'), (gen_random_uuid(), 'stadt essen ', 'city'),"
                              "(gen_random_uuid(), ' DEW21 ', 'utility')"))
        with pytest.raises(RuntimeError, match=r"'Stadt Essen' \(id .*'stadt essen ' \(id "):
            command.upgrade(cfg, "head")
        with engine.begin() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0026_list_and_purge_indexes"
            conn.execute(text("DELETE FROM organisations WHERE name = 'stadt essen '"))
        command.upgrade(cfg, "head")
        with engine.begin() as conn:
            assert sorted(conn.scalars(text("SELECT name FROM organisations"))) == ["DEW21", "Stadt Essen"]
            with pytest.raises(Exception, match="uq_organisations_lower_name"):
                conn.execute(text("INSERT INTO organisations (id, name, kind) VALUES "
                                  "(gen_random_uuid(), 'DEW21'::text, 'utility')".replace("'DEW21'", "'dew21'")))
    finally:
        engine.dispose()
