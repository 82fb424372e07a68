"""Typed auth dependencies: an endpoint's signature says who may call it.

``Authenticated`` — any valid key (401 without one); ``Coordinator`` — role coordinator or admin (403
otherwise); ``Admin`` — role admin. ``OptionalPrincipal`` — public endpoints that show more to callers
with a key. Everywhere, a coordinator or admin key of an organisation that is not the coordination office
(made before only the office could get one) is refused with 403 ``key-role-not-allowed``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from service.auth.service import Principal, authenticate
from service.kit.db import get_session
from service.kit.problems import Problem, forbidden

_bearer = HTTPBearer(auto_error=False, description="API key of your organisation: `Bearer bst_...`")

# scope="function": the transaction commits when the endpoint returns, before the response is sent, so a
# client that reads right after a 201/202 finds what it created, and a failing commit is an error, not a 2xx.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, type_="unauthorized", headers={"WWW-Authenticate": "Bearer"})


def optional_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    if credentials is None:
        return None
    principal = authenticate(session, credentials.credentials)
    if principal is None:
        raise _unauthorized("The API key is unknown or revoked.")
    request.state.principal = principal
    return principal


def require_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise _unauthorized("An API key is required: send 'Authorization: Bearer <key>'.")
    return principal


def require_coordinator(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    if not principal.is_coordinator:
        raise forbidden("Only the coordination office (role coordinator or admin) may do this.")
    return principal


def require_admin(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    if not principal.is_admin:
        raise forbidden("Only an admin key may do this.")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
Authenticated = Annotated[Principal, Depends(require_principal)]
Coordinator = Annotated[Principal, Depends(require_coordinator)]
Admin = Annotated[Principal, Depends(require_admin)]
