from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from service.auth.models import KeyStatus, OrgKind, Role
from service.kit.types import NotBlank, OneLine, Trimmed


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # trimmed, and unique regardless of case: "stadt essen " names the organisation "Stadt Essen"
    name: Annotated[str, Field(min_length=2, max_length=200), NotBlank, OneLine, Trimmed]
    kind: OrgKind


class OrganisationRead(BaseModel):
    id: uuid.UUID
    name: str
    kind: OrgKind
    created_at: datetime


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role = Role.submitter


class KeyCreated(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None
    status: KeyStatus = Field(description="`active` while the key is accepted; `revoked`; `role_not_allowed`: a "
                              "coordinator or admin key of an organisation not of kind coordinator (made before "
                              "only the coordination office could get one), refused with 403 — revoke it and "
                              "issue a submitter key.")
    key: str = Field(description="The secret key. It is shown only once; only a hash is stored.")


class KeyRead(BaseModel):
    """A key without its secret: the prefix is what shows in logs and in the key itself (``bst_3f9a1c2e_…``)."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = Field(description="When the key was revoked; `null` while it is valid.")
    status: KeyStatus = Field(description="`active` while the key is accepted; `revoked`; `role_not_allowed`: a "
                              "coordinator or admin key of an organisation not of kind coordinator (made before "
                              "only the coordination office could get one), refused with 403 — revoke it and "
                              "issue a submitter key.")


class Me(BaseModel):
    organisation: OrganisationRead
    role: Role
    key_id: uuid.UUID
