"""Organisations and API keys: every created thing has a Location to read it back, and a leaked key can be
revoked (by an admin, or by its own organisation) and is refused from the next request on."""

from __future__ import annotations

import uuid


def test_created_organisation_and_key_can_be_read_back_at_location(client, make_caller) -> None:  # noqa: ANN001
    admin = make_caller("coordinator", "admin")
    r = client.post("/v1/organisations", json={"name": "Stadt Gelsenkirchen", "kind": "city"}, headers=admin.headers)
    assert r.status_code == 201, r.text
    org = client.get(r.headers["location"], headers=admin.headers)
    assert org.status_code == 200 and org.json() == r.json()

    k = client.post(f"{r.headers['location']}/keys", json={"role": "submitter"}, headers=admin.headers)
    assert k.status_code == 201, k.text
    read = client.get(k.headers["location"], headers=admin.headers)
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["id"] == k.json()["id"] and body["prefix"] == k.json()["prefix"] and body["revoked_at"] is None
    assert "key" not in body and k.json()["key"] not in read.text, "the secret is shown only once"


def test_unknown_organisation_is_404(client, city) -> None:  # noqa: ANN001
    r = client.get(f"/v1/organisations/{uuid.uuid4()}", headers=city.headers)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_revoked_key_is_refused_at_once_and_listed_as_revoked(client, make_caller) -> None:  # noqa: ANN001
    admin = make_caller("coordinator", "admin")
    org = client.post("/v1/organisations", json={"name": "Stadtwerke Bochum", "kind": "utility"},
                      headers=admin.headers).json()
    keys = f"/v1/organisations/{org['id']}/keys"
    leaked = client.post(keys, json={}, headers=admin.headers).json()
    spare = client.post(keys, json={}, headers=admin.headers).json()
    as_leaked = {"Authorization": f"Bearer {leaked['key']}"}
    assert client.get("/v1/me", headers=as_leaked).status_code == 200

    # the utility stops its own leaked key with its other key, without waiting for an admin
    as_spare = {"Authorization": f"Bearer {spare['key']}"}
    r = client.delete(f"{keys}/{leaked['id']}", headers=as_spare)
    assert r.status_code == 204, r.text
    refused = client.get("/v1/me", headers=as_leaked)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert client.get("/v1/me", headers=as_spare).status_code == 200, "only the revoked key stops working"

    listed = {k["id"]: k for k in client.get(keys, headers=as_spare).json()}
    assert set(listed) == {leaked["id"], spare["id"]}
    assert listed[leaked["id"]]["revoked_at"] is not None and listed[spare["id"]]["revoked_at"] is None
    first = listed[leaked["id"]]["revoked_at"]
    assert client.delete(f"{keys}/{leaked['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"{keys}/{leaked['id']}", headers=admin.headers).json()["revoked_at"] == first, \
        "revoking again keeps the first date"


def test_other_organisations_keys_are_out_of_reach(client, city, utility) -> None:  # noqa: ANN001
    keys = f"/v1/organisations/{utility.org_id}/keys"
    listed = client.get(keys, headers=city.headers)
    assert listed.status_code == 403 and "organisation itself" in listed.json()["detail"]
    own = client.get(keys, headers=utility.headers).json()
    assert len(own) == 1
    r = client.delete(f"{keys}/{own[0]['id']}", headers=city.headers)
    assert r.status_code == 403, "a city cannot revoke a utility's key"
    assert client.get("/v1/me", headers=utility.headers).status_code == 200
    assert client.delete(f"{keys}/{uuid.uuid4()}", headers=utility.headers).status_code == 404


def test_a_submitter_key_cannot_revoke_its_organisations_admin_key(client, make_caller, db) -> None:  # noqa: ANN001
    from service.auth import service as auth

    office = make_caller("coordinator", "admin")
    keys = f"/v1/organisations/{office.org_id}/keys"
    _, submitter_key = auth.create_key(db, org_id=office.org_id, role="submitter")
    _, coordinator_key = auth.create_key(db, org_id=office.org_id, role="coordinator")
    db.flush()
    by_role = {k["role"]: k["id"] for k in client.get(keys, headers=office.headers).json()}
    as_submitter = {"Authorization": f"Bearer {submitter_key}"}
    r = client.delete(f"{keys}/{by_role['admin']}", headers=as_submitter)
    assert r.status_code == 403 and "ask an admin" in r.json()["detail"]
    assert client.delete(f"{keys}/{by_role['coordinator']}", headers=as_submitter).status_code == 403
    assert client.get("/v1/me", headers=office.headers).status_code == 200, "the admins keep their key"
    as_coordinator = {"Authorization": f"Bearer {coordinator_key}"}
    assert client.delete(f"{keys}/{by_role['submitter']}", headers=as_coordinator).status_code == 204
    assert client.get("/v1/me", headers=as_submitter).status_code == 401
    assert client.delete(f"{keys}/{by_role['coordinator']}", headers=office.headers).status_code == 204


def test_key_created_answer_has_the_fields_a_read_has(client, make_caller) -> None:  # noqa: ANN001
    admin = make_caller("coordinator", "admin")
    created = client.post(f"/v1/organisations/{admin.org_id}/keys", json={}, headers=admin.headers)
    read = client.get(created.headers["location"], headers=admin.headers).json()
    assert {k: v for k, v in created.json().items() if k != "key"} == read


def test_only_the_coordination_office_gets_keys_that_approve(client, make_caller, utility) -> None:  # noqa: ANN001
    """A coordinator (or admin) key decides on requests: a utility holding one would approve its own works."""
    admin = make_caller("coordinator", "admin")
    keys = f"/v1/organisations/{utility.org_id}/keys"
    before = client.get(keys, headers=admin.headers).json()
    for role, article in (("coordinator", "a"), ("admin", "an")):
        r = client.post(keys, json={"role": role}, headers=admin.headers)
        assert r.status_code == 422, r.text
        (error,) = r.json()["errors"]
        assert error["field"] == "role" and f"{article} {role} key acts for the coordination office" in error["detail"]
        assert "Stadtwerke Essen" in error["detail"] and "kind utility" in error["detail"]
    assert client.get(keys, headers=admin.headers).json() == before, "no key was made"
    assert client.post(keys, json={"role": "submitter"}, headers=admin.headers).status_code == 201
    for kind in ("city", "road_authority", "transit_operator", "rail", "business"):
        org = client.post("/v1/organisations", json={"name": f"Org {kind}", "kind": kind},
                          headers=admin.headers).json()
        r = client.post(f"/v1/organisations/{org['id']}/keys", json={"role": "coordinator"}, headers=admin.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "role", kind
    office = client.post("/v1/organisations", json={"name": "Koordinierung Ruhr-West", "kind": "coordinator"},
                         headers=admin.headers).json()
    for role in ("coordinator", "admin"):
        r = client.post(f"/v1/organisations/{office['id']}/keys", json={"role": role}, headers=admin.headers)
        assert r.status_code == 201 and r.json()["role"] == role, r.text


def test_an_organisation_name_is_one_line(client, make_caller) -> None:  # noqa: ANN001
    """The owner's name is the "Wer baut" line of every notice: a line break there would split the mail."""
    admin = make_caller("coordinator", "admin")
    r = client.post("/v1/organisations", json={"name": "Stadtwerke\r\nBochum", "kind": "utility"},
                    headers=admin.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "name"
    assert client.post("/v1/organisations", json={"name": "Stadtwerke Bochum", "kind": "utility"},
                       headers=admin.headers).status_code == 201
