from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from service.auth import service
from service.auth.dependencies import Admin, Authenticated, SessionDep
from service.auth.models import ApiKey
from service.auth.schemas import KeyCreate, KeyCreated, KeyRead, Me, OrganisationCreate, OrganisationRead

router = APIRouter(prefix="/v1", tags=["auth"])
KEYS = "/organisations/{org_id}/keys"


def _key_read(api_key: ApiKey) -> KeyRead:
    return KeyRead(id=api_key.id, organisation_id=api_key.organisation_id, role=api_key.role, prefix=api_key.prefix,
                   created_at=api_key.created_at, revoked_at=api_key.revoked_at, status=service.key_status(api_key))


@router.get("/me", response_model=Me)
def me(principal: Authenticated, session: SessionDep) -> Me:
    org = service.get_organisation(session, principal.org_id)
    return Me(organisation=OrganisationRead.model_validate(org, from_attributes=True), role=principal.role,
              key_id=principal.key_id)


@router.get("/organisations", response_model=list[OrganisationRead])
def list_organisations(_: Authenticated, session: SessionDep) -> list[OrganisationRead]:
    return [OrganisationRead.model_validate(o, from_attributes=True) for o in service.list_organisations(session)]


@router.post("/organisations", response_model=OrganisationRead, status_code=201)
def create_organisation(body: OrganisationCreate, _: Admin, session: SessionDep,
                        response: Response) -> OrganisationRead:
    org = service.create_organisation(session, name=body.name, kind=body.kind)
    response.headers["Location"] = f"/v1/organisations/{org.id}"
    return OrganisationRead.model_validate(org, from_attributes=True)


@router.get("/organisations/{org_id}", response_model=OrganisationRead)
def get_organisation(org_id: uuid.UUID, _: Authenticated, session: SessionDep) -> OrganisationRead:
    return OrganisationRead.model_validate(service.get_organisation(session, org_id), from_attributes=True)


@router.post(KEYS, response_model=KeyCreated, status_code=201)
def create_key(org_id: uuid.UUID, body: KeyCreate, _: Admin, session: SessionDep,
               response: Response) -> KeyCreated:
    """Admins: a new key for the organisation, its secret shown only in this answer. `coordinator` and `admin`
    keys act for the coordination office (they approve and reject requests): only an organisation of kind
    `coordinator` gets them, any other answers 422 naming `role`. Such a key made before this rule (or before its
    organisation's kind changed) is refused with 403 and listed with `status` `role_not_allowed`."""
    api_key, secret = service.create_key(session, org_id=org_id, role=body.role)
    response.headers["Location"] = f"/v1/organisations/{org_id}/keys/{api_key.id}"
    return KeyCreated(**_key_read(api_key).model_dump(), key=secret)


@router.get(KEYS, response_model=list[KeyRead])
def list_keys(org_id: uuid.UUID, principal: Authenticated, session: SessionDep) -> list[KeyRead]:
    """The organisation's keys, revoked ones included, without secrets (admins: any organisation; other keys:
    their own, else 403)."""
    return [_key_read(k) for k in service.list_keys(session, principal, org_id)]


@router.get(KEYS + "/{key_id}", response_model=KeyRead)
def get_key(org_id: uuid.UUID, key_id: uuid.UUID, principal: Authenticated, session: SessionDep) -> KeyRead:
    return _key_read(service.get_key(session, principal, org_id, key_id))


@router.delete(KEYS + "/{key_id}", status_code=204)
def revoke_key(org_id: uuid.UUID, key_id: uuid.UUID, principal: Authenticated, session: SessionDep) -> Response:
    """Revoke a key at once: it is refused from the next request on. Admins revoke any key; other keys revoke
    keys of their own organisation up to their own role (a leaked key can be stopped without waiting for an
    admin, and a submitter key cannot revoke the admins'). Revoking twice is fine."""
    service.revoke_key(session, principal, org_id, key_id)
    return Response(status_code=204)
