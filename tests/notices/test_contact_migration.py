"""Migration 0018 removes the owners' contact details that notices stored before they were left out of the site
snapshot: from a notice's site and from the sites a digest or a welcome lists; everything else stays."""

from __future__ import annotations

import json
import uuid

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from tests.conftest import migration_config

REVISION = "0018_notice_payload_contacts"
CONTACT = {"name": "Bauleitung", "phone": "+49 201 000000", "email": "bau@example.org"}



def _site(name: str, **extra: object) -> dict:
    return {"id": str(uuid.uuid4()), "title": name, "owner": "Stadt Essen", "impact": "full_closure", **extra}


def test_upgrade_removes_the_stored_contacts(scratch_url: str) -> None:
    cfg = migration_config(scratch_url)
    before = ScriptDirectory.from_config(cfg).get_revision(REVISION).down_revision
    assert before == "0017_conflict_rules_revision"
    command.upgrade(cfg, before)

    old_site = _site("Kanal", contact=CONTACT)
    payloads = {
        "notice": {"site": old_site},
        "digest": {"period": "daily", "items": [{"kind": "request.created", "site": _site("A", contact=CONTACT)},
                                                {"kind": "request.updated", "site": _site("B")},
                                                {"kind": "request.approved", "site": _site("C", contact={})}]},
        "welcome": {"count": 1, "as_of": "2026-11-21", "items": [{"kind": "request.created",
                                                                  "site": _site("D", contact=CONTACT)}]},
        "clean": {"site": _site("E")},
        "confirmation": {"confirm_token": "t", "area": "Umkreis"},
        "odd": {"site": "not an object", "items": [{"kind": "x", "site": None}, "not an object"]},
        "mixed": {"site": None, "items": [{"kind": "x", "site": None}, "not an object",
                                          {"kind": "x", "site": _site("F", contact=CONTACT)}]},
    }
    engine = create_engine(scratch_url)
    try:
        with engine.begin() as conn:
            sub = conn.scalar(text("""
                INSERT INTO subscriptions (id, email, token, status, area_kind, area_input, area, kinds,
                                           min_impact_rank, modes, lead_days, delivery, language)
                VALUES (gen_random_uuid(), 'info@example.de', 'tok', 'active', 'circle', '{}',
                        ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(7.0, 51.44), 4326), 0.01)), '{}', 0, '{}', 14,
                        'immediate', 'de')
                RETURNING id"""))
            for key, payload in payloads.items():
                conn.execute(text("INSERT INTO notices (id, subscription_id, kind, dedupe_key, payload, digest_pending)"
                                  " VALUES (gen_random_uuid(), :sub, :kind, :key, cast(:payload AS jsonb), false)"),
                             {"sub": sub, "kind": key, "key": key, "payload": json.dumps(payload)})

        command.upgrade(cfg, REVISION)

        with engine.connect() as conn:
            stored = dict(conn.execute(text("SELECT dedupe_key, payload FROM notices")).all())
            assert conn.scalar(text("SELECT count(*) FROM notices WHERE payload::text LIKE '%bau@example.org%'")) == 0
    finally:
        engine.dispose()

    def without(site: dict) -> dict:
        return {k: v for k, v in site.items() if k != "contact"}

    assert stored["notice"] == {"site": without(old_site)}
    digest = payloads["digest"]
    assert stored["digest"] == {**digest, "items": [{**i, "site": without(i["site"])} for i in digest["items"]]}
    assert [i["site"]["title"] for i in stored["digest"]["items"]] == ["A", "B", "C"]  # the order kept
    assert stored["welcome"]["items"][0]["site"] == without(payloads["welcome"]["items"][0]["site"])
    mixed = payloads["mixed"]
    assert stored["mixed"] == {**mixed, "items": [*mixed["items"][:2], {"kind": "x", "site": without(
        mixed["items"][2]["site"])}]}
    for untouched in ("clean", "confirmation", "odd"):
        assert stored[untouched] == payloads[untouched], untouched

    command.downgrade(cfg, before)  # a no-op: the contacts stay gone
    engine = create_engine(scratch_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT payload FROM notices WHERE dedupe_key = 'notice'")) == stored["notice"]
    finally:
        engine.dispose()
