"""Coordinator and admin keys act for the coordination office. A key made before only the office could get one
(or whose organisation's kind changed since) is refused at every request with a 403 that says why and what to
do, is listed as ``role_not_allowed``, and a utility holding one cannot approve, plan or administer."""

from __future__ import annotations

import secrets
import uuid

import pytest
from sqlalchemy.orm import Session

from service.auth import service as auth
from service.auth.models import ApiKey, Organisation, Role
from service.kit.problems import Problem
from service.workflow import service as workflow
from service.workflow.schemas import ActionBody
from tests.workflow.flow import act, create, d, ok


def _legacy_key(db: Session, org_id: uuid.UUID, role: str) -> tuple[ApiKey, dict[str, str]]:
    """A key written straight into the table, as before ``create_key`` refused office roles to other kinds."""
    public = secrets.token_hex(4)
    key = f"{auth.KEY_PREFIX}{public}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(organisation_id=org_id, role=role, prefix=f"{auth.KEY_PREFIX}{public}",
                     key_hash=auth.hash_key(key))
    db.add(api_key)
    db.flush()
    return api_key, {"Authorization": f"Bearer {key}"}


def _refused(r, api_key: ApiKey) -> None:  # noqa: ANN001
    assert r.status_code == 403, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith("/key-role-not-allowed") and body["key_id"] == str(api_key.id)
    assert body["role"] == api_key.role and body["organisation_kind"] == "utility"
    assert "'Stadtwerke Essen' is of kind utility" in body["detail"] and api_key.prefix in body["detail"]
    assert f"/keys/{api_key.id}" in body["detail"] and "submitter key" in body["detail"]


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_a_utilitys_old_office_key_cannot_approve_plan_or_administer(client, db, utility, coordinator,  # noqa: ANN001
                                                                      role) -> None:
    api_key, as_legacy = _legacy_key(db, utility.org_id, role)
    req = create(client, utility)
    ok(client, coordinator, req["id"], "propose", {"start": d(0)})
    ok(client, utility, req["id"], "accept")

    _refused(client.get("/v1/me", headers=as_legacy), api_key)
    _refused(client.post(f"/v1/requests/{req['id']}/approve", json=None, headers=as_legacy), api_key)
    _refused(client.post("/v1/plans", json={"bbox": [6.9, 51.4, 7.1, 51.5], "from": d(0), "to": d(89)},
                         headers=as_legacy), api_key)
    _refused(client.post(f"/v1/requests/{req['id']}/slot/lock", headers=as_legacy), api_key)
    _refused(client.post("/v1/organisations", json={"name": "Tarnfirma", "kind": "coordinator"},
                         headers=as_legacy), api_key)
    _refused(client.post(f"/v1/organisations/{utility.org_id}/keys", json={"role": "submitter"},
                         headers=as_legacy), api_key)
    # public endpoints that show more with a key refuse it too, rather than quietly ignoring it
    _refused(client.get("/v1/subscriptions/sub_unknown/feed.atom", headers=as_legacy), api_key)
    assert client.get(f"/v1/requests/{req['id']}", headers=utility.headers).json()["status"] == "accepted", \
        "the request waits for the coordination office"
    assert act(client, coordinator, req["id"], "approve").status_code == 200, "the office still approves"


def test_the_keys_list_says_which_keys_are_refused(client, db, utility, make_caller) -> None:  # noqa: ANN001
    admin = make_caller("coordinator", "admin")
    stale, as_stale = _legacy_key(db, utility.org_id, "admin")
    keys = f"/v1/organisations/{utility.org_id}/keys"
    listed = {k["id"]: k for k in client.get(keys, headers=admin.headers).json()}
    assert listed[str(stale.id)]["status"] == "role_not_allowed" and listed[str(stale.id)]["role"] == "admin"
    assert [k["status"] for k in listed.values() if k["id"] != str(stale.id)] == ["active"]
    assert client.get(f"{keys}/{stale.id}", headers=utility.headers).json()["status"] == "role_not_allowed"

    # the stale key has no powers: the utility's own submitter key may stop it, without waiting for an admin
    assert client.delete(f"{keys}/{stale.id}", headers=utility.headers).status_code == 204
    assert client.get(f"{keys}/{stale.id}", headers=admin.headers).json()["status"] == "revoked"
    assert client.get("/v1/me", headers=as_stale).status_code == 401
    office_keys = client.get(f"/v1/organisations/{admin.org_id}/keys", headers=admin.headers).json()
    assert [k["status"] for k in office_keys] == ["active"]


def test_an_office_key_is_refused_once_its_organisation_is_no_longer_the_office(client, db, make_caller) -> None:  # noqa: ANN001
    office = make_caller("coordinator", "coordinator", "Stadtwerke Essen")
    assert client.get("/v1/me", headers=office.headers).json()["role"] == "coordinator"
    org = db.get(Organisation, office.org_id)
    org.kind = "utility"
    db.flush()
    (api_key,) = org.keys
    _refused(client.get("/v1/me", headers=office.headers), api_key)
    org.kind = "coordinator"
    db.flush()
    assert client.get("/v1/me", headers=office.headers).status_code == 200


def test_a_principal_outside_the_office_has_no_office_powers(client, db, utility, coordinator, settings) -> None:  # noqa: ANN001
    """Made without a key (CLI, worker), an office role still needs an organisation of kind coordinator."""
    req = create(client, utility)
    ok(client, coordinator, req["id"], "propose", {"start": d(0)})
    ok(client, utility, req["id"], "accept")
    org = db.get(Organisation, utility.org_id)
    for role in (Role.coordinator, Role.admin):
        principal = auth.system_principal(org, role)
        assert not principal.is_coordinator and not principal.is_admin
        with pytest.raises(Problem) as refused:
            workflow.approve(db, principal, uuid.UUID(req["id"]), ActionBody(), settings, if_match=None)
        assert refused.value.status == 403
    office = auth.system_principal(db.get(Organisation, coordinator.org_id), Role.admin)
    assert office.is_coordinator and office.is_admin
