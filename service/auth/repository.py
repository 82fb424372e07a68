from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.auth.models import ApiKey, Organisation


def get_org(session: Session, org_id: uuid.UUID) -> Organisation | None:
    return session.get(Organisation, org_id)


def get_org_by_name(session: Session, name: str) -> Organisation | None:
    """The organisation of that name, regardless of case (the unique index of migration 0027 compares so)."""
    return session.scalar(select(Organisation).where(func.lower(Organisation.name) == func.lower(name)))


def list_orgs(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def add(session: Session, obj: Organisation | ApiKey) -> None:
    session.add(obj)
    session.flush()


def get_active_key_by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None)))


def get_key(session: Session, org_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.organisation_id == org_id))


def list_keys(session: Session, org_id: uuid.UUID) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.organisation_id == org_id)
                                .order_by(ApiKey.created_at, ApiKey.id)))


def revoke_key(session: Session, api_key: ApiKey) -> None:
    """Mark the key revoked now (database time), once: a second revocation keeps the first date."""
    if api_key.revoked_at is None:
        api_key.revoked_at = func.now()
        session.flush()
        session.refresh(api_key, ["revoked_at"])
