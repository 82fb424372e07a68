"""Organisations and API keys.

A key looks like ``bst_3f9a1c2e_<secret>``: the ``bst_`` prefix makes leaked keys easy to grep for, the
eight hex characters after it identify the key in logs, and only the SHA-256 of the whole key is stored.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.auth import repository
from service.auth.models import ApiKey, KeyStatus, Organisation, OrgKind, Role
from service.kit.problems import InvalidField, Problem, forbidden, not_found

KEY_PREFIX = "bst_"

# The roles that act for the coordination office (a coordinator approves, rejects and plans; an admin can do all
# that too): only an organisation of kind ``coordinator`` holds them, else a utility could approve its own works.
OFFICE_ROLES = (Role.coordinator, Role.admin)


def role_allowed(role: Role | str, org_kind: OrgKind | str) -> bool:
    """Whether an organisation of ``org_kind`` may act with ``role``: the office roles only for the office."""
    return role not in OFFICE_ROLES or org_kind == OrgKind.coordinator


@dataclass(frozen=True)
class Principal:
    """Who is calling: the organisation, its kind, the key's role and id. The office's powers need both the role
    and an organisation of kind ``coordinator`` (``authenticate`` refuses a key whose role its organisation may
    not hold; this holds for principals made without a key too)."""

    org_id: uuid.UUID
    org_name: str
    org_kind: str
    role: str
    key_id: uuid.UUID

    @property
    def is_coordinator(self) -> bool:
        return self.role in OFFICE_ROLES and role_allowed(self.role, self.org_kind)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin and role_allowed(self.role, self.org_kind)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_organisation(session: Session, *, name: str, kind: OrgKind | str) -> Organisation:
    kind = OrgKind(kind)
    existing = repository.get_org_by_name(session, name)
    if existing is not None:
        same = "" if existing.name == name else " (names are compared regardless of case)"
        raise Problem(409, "Conflict", f"An organisation named {existing.name!r} exists already{same}.",
                      type_="conflict", existing_id=str(existing.id))
    org = Organisation(name=name, kind=kind.value)
    repository.add(session, org)
    return org


def find_organisation(session: Session, name: str) -> Organisation | None:
    return repository.get_org_by_name(session, name)


def get_or_create_organisation(session: Session, *, name: str, kind: OrgKind | str) -> Organisation:
    return find_organisation(session, name) or create_organisation(session, name=name, kind=kind)


def create_key(session: Session, *, org_id: uuid.UUID, role: Role | str) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never retrievable again. A ``coordinator`` or
    ``admin`` key only for a coordination office (kind ``coordinator``): 422 on ``role`` otherwise."""
    role = Role(role)
    org = repository.get_org(session, org_id)
    if org is None:
        raise not_found("Organisation", org_id)
    if not role_allowed(role, org.kind):
        article = "an" if role.value[0] in "aeiou" else "a"  # an admin key, a coordinator key
        raise InvalidField("role", f"{article} {role.value} key acts for the coordination office (it approves and "
                           f"rejects requests) and is only for an organisation of kind coordinator; {org.name!r} is "
                           f"of kind {org.kind}: give it a submitter key")
    public = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{public}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(organisation_id=org_id, role=role.value, prefix=f"{KEY_PREFIX}{public}", key_hash=hash_key(key))
    repository.add(session, api_key)
    return api_key, key


def key_status(api_key: ApiKey) -> KeyStatus:
    """Whether the key is accepted now. A coordinator or admin key of an organisation not of kind coordinator (one
    made before that rule, or whose organisation's kind changed since) is refused, as a revoked one."""
    if api_key.revoked_at is not None:
        return KeyStatus.revoked
    if not role_allowed(api_key.role, api_key.organisation.kind):
        return KeyStatus.role_not_allowed
    return KeyStatus.active


def _role_not_allowed(api_key: ApiKey) -> Problem:
    org = api_key.organisation
    return Problem(
        403, "Forbidden",
        f"This API key ({api_key.prefix}) has role {api_key.role}, but {org.name!r} is of kind {org.kind}: "
        f"coordinator and admin keys act for the coordination office (they approve, plan and administer) and "
        f"only an organisation of kind coordinator may hold them, so the key is refused. An admin revokes it "
        f"(DELETE /v1/organisations/{org.id}/keys/{api_key.id}) and issues the organisation a submitter key.",
        type_="key-role-not-allowed", key_id=str(api_key.id), role=api_key.role, organisation_kind=org.kind,
    )


def authenticate(session: Session, key: str) -> Principal | None:
    """The caller of ``key``; ``None`` for a key unknown or revoked. A key whose role its organisation may not
    hold (``role_allowed``) raises 403 naming the key, so its holder learns why and what to do."""
    if not key.startswith(KEY_PREFIX):
        return None
    api_key = repository.get_active_key_by_hash(session, hash_key(key))
    if api_key is None:
        return None
    if key_status(api_key) is KeyStatus.role_not_allowed:
        raise _role_not_allowed(api_key)
    org = api_key.organisation
    return Principal(org_id=org.id, org_name=org.name, org_kind=org.kind, role=api_key.role, key_id=api_key.id)


def list_organisations(session: Session) -> list[Organisation]:
    return repository.list_orgs(session)


SYSTEM_KEY_ID = uuid.UUID(int=0)


def system_principal(org: Organisation, role: Role = Role.submitter) -> Principal:
    """Act for an organisation from the CLI or the worker (no API key involved)."""
    return Principal(org_id=org.id, org_name=org.name, org_kind=org.kind, role=Role(role).value,
                     key_id=SYSTEM_KEY_ID)


def get_organisation(session: Session, org_id: uuid.UUID) -> Organisation:
    org = repository.get_org(session, org_id)
    if org is None:
        raise not_found("Organisation", org_id)
    return org


ROLE_RANK = {Role.submitter: 0, Role.coordinator: 1, Role.admin: 2}


def _check_keys_visible(session: Session, principal: Principal, org_id: uuid.UUID) -> None:
    """Admins manage every organisation's keys; any other key sees those of its own organisation."""
    if repository.get_org(session, org_id) is None:
        raise not_found("Organisation", org_id)
    if not (principal.is_admin or principal.org_id == org_id):
        raise forbidden("Only an admin or a key of the organisation itself may see its keys.")


def list_keys(session: Session, principal: Principal, org_id: uuid.UUID) -> list[ApiKey]:
    _check_keys_visible(session, principal, org_id)
    return repository.list_keys(session, org_id)


def get_key(session: Session, principal: Principal, org_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    _check_keys_visible(session, principal, org_id)
    api_key = repository.get_key(session, org_id, key_id)
    if api_key is None:
        raise not_found("API key", key_id)
    return api_key


def revoke_key(session: Session, principal: Principal, org_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    """Revoke a key at once (a leaked or unused one). Admins revoke any key; another key revokes keys of its own
    organisation up to its own role, so a leaked submitter key cannot lock out the admins; a key refused for its
    role (``role_not_allowed``) has no powers, so any key of its organisation may revoke it. Idempotent:
    revoking a revoked key changes nothing."""
    api_key = get_key(session, principal, org_id, key_id)
    rank = ROLE_RANK[Role(api_key.role)] if role_allowed(api_key.role, api_key.organisation.kind) else 0
    if not principal.is_admin and rank > ROLE_RANK[Role(principal.role)]:
        raise forbidden(f"A {principal.role} key may not revoke a {api_key.role} key; ask an admin.")
    repository.revoke_key(session, api_key)
    return api_key
