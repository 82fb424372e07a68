from __future__ import annotations

import uuid

from fastapi import APIRouter

from service.auth import service
from service.auth.dependencies import Admin, Authenticated, SessionDep
from service.auth.schemas import KeyCreate, KeyCreated, Me, OrganisationCreate, OrganisationRead

router = APIRouter(prefix="/v1", tags=["auth"])


@router.get("/me", response_model=Me)
def me(principal: Authenticated, session: SessionDep) -> Me:
    org = service.get_organisation(session, principal.org_id)
    return Me(organisation=OrganisationRead.model_validate(org, from_attributes=True), role=principal.role,
              key_id=principal.key_id)


@router.get("/organisations", response_model=list[OrganisationRead])
def list_organisations(_: Authenticated, session: SessionDep) -> list[OrganisationRead]:
    return [OrganisationRead.model_validate(o, from_attributes=True) for o in service.list_organisations(session)]


@router.post("/organisations", response_model=OrganisationRead, status_code=201)
def create_organisation(body: OrganisationCreate, _: Admin, session: SessionDep) -> OrganisationRead:
    org = service.create_organisation(session, name=body.name, kind=body.kind)
    return OrganisationRead.model_validate(org, from_attributes=True)


@router.post("/organisations/{org_id}/keys", response_model=KeyCreated, status_code=201)
def create_key(org_id: uuid.UUID, body: KeyCreate, _: Admin, session: SessionDep) -> KeyCreated:
    api_key, secret = service.create_key(session, org_id=org_id, role=body.role)
    return KeyCreated(id=api_key.id, organisation_id=org_id, role=api_key.role, prefix=api_key.prefix, key=secret)
