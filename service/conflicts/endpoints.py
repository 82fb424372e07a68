"""Conflicts API: per-request conflicts, the dry-run check, the conflict map, dig-once opportunities and the
coordinator-managed rules (zones, corridors, moratoriums, blackouts)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from service.auth.dependencies import Authenticated, Coordinator, SessionDep
from service.conflicts import service
from service.conflicts.models import ConflictKind
from service.conflicts.schemas import (
    BlackoutWrite,
    CheckBody,
    CheckResult,
    ConflictRead,
    CorridorWrite,
    MoratoriumWrite,
    ZoneWrite,
)
from service.kit.encode import to_json
from service.kit.geojson import GeoJSONResponse, geojson_response_doc
from service.kit.links import next_links
from service.kit.query import KnownQueryOnly
from service.kit.types import Day

router = APIRouter(tags=["conflicts"])


@router.get("/v1/requests/{request_id}/conflicts", response_model=list[ConflictRead], dependencies=[KnownQueryOnly])
def request_conflicts(request_id: uuid.UUID, principal: Authenticated, session: SessionDep) -> Any:
    """The conflicts of one request: kind, the other request (public summary only), distance, the
    overlapping period and a one-sentence explanation in German and English."""
    return to_json(service.conflicts_of(session, principal, request_id))


@router.post("/v1/conflicts/check", response_model=CheckResult)
def check(body: CheckBody, principal: Authenticated, session: SessionDep, request: Request) -> Any:
    """Dry run for a planned request: which conflicts and dig-once opportunities it would have. Nothing is
    stored. Give `request_id` to check a change of one of your stored requests (coordinators: of any request);
    sent with its slot's dates, the request counts as placed in its slot, as in its stored conflicts."""
    return to_json(service.check(session, principal, body, request.app.state.settings))


@router.get("/v1/conflicts", response_class=GeoJSONResponse, dependencies=[KnownQueryOnly],
            responses=geojson_response_doc(
                "FeatureCollection of conflicts (a line joins the two sites), with `rules_revision`, `stale` "
                "and `pending` (requests and rules waiting to be recomputed)"))
def list_conflicts(
    principal: Authenticated,
    session: SessionDep,
    request: Request,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")] = None,
    start: Annotated[Day | None, Query(description="overlap ends on or after")] = None,
    end: Annotated[Day | None, Query(description="overlap starts on or before")] = None,
    kind: Annotated[list[ConflictKind], Query()] = [],  # noqa: B006
    owner: Annotated[list[uuid.UUID], Query(description="either request belongs to this organisation")] = [],  # noqa: B006
    hard: bool | None = None,
    cursor: int | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> GeoJSONResponse:
    """The stored conflicts as GeoJSON. `rules_revision` is the revision of the detection rules they were
    computed with. `stale: true` means some stored conflicts may be out of date: the service now runs newer rules
    (or other distance settings) and the worker has not recomputed them yet (it does at its start), or `pending`
    (the number of requests and rules changed while a full recomputation ran, or at the same instant as a
    neighbouring request) is above 0 and the worker has not recomputed those yet (it does within seconds)."""
    features, next_cursor = service.list_features(
        session, principal, bbox=bbox, start=start, end=end, kinds=[k.value for k in kind], owners=owner,
        hard=hard, cursor=cursor, limit=limit)
    links = next_links(request, next_cursor)
    rules = service.rules_state(session, request.app.state.settings)
    pending = service.pending_count(session)
    return GeoJSONResponse(to_json({"type": "FeatureCollection", "features": features,
                                    "numberReturned": len(features), "links": links, "next_cursor": next_cursor,
                                    "rules_revision": rules.stored_revision, "stale": rules.stale or pending > 0,
                                    "pending": pending}))


@router.get("/v1/opportunities", response_class=GeoJSONResponse, dependencies=[KnownQueryOnly],
            responses=geojson_response_doc("FeatureCollection of dig-once pairs; a line joins the two sites"))
def list_opportunities(
    principal: Authenticated,
    session: SessionDep,
    request: Request,
    status: Annotated[str | None, Query(pattern="^(open|accepted)$")] = None,
    owner: Annotated[list[uuid.UUID], Query()] = [],  # noqa: B006
    bbox: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> GeoJSONResponse:
    """Pairs of requests within a short distance whose windows lie within a few months of each other, where
    one is road works and the other a utility or track renewal, or both are utilities. Accepted pairs come
    first, then open ones, each nearest first; a page holds `limit` pairs and, when more follow, `next_cursor`
    and a `next` link."""
    features, next_cursor = service.list_opportunities(session, principal, status=status, owners=owner, bbox=bbox,
                                                       cursor=cursor, limit=limit)
    links = next_links(request, next_cursor)
    return GeoJSONResponse(to_json({"type": "FeatureCollection", "features": features,
                                    "numberReturned": len(features), "links": links, "next_cursor": next_cursor}))


@router.post("/v1/opportunities/{opportunity_id}/accept")
def accept_opportunity(opportunity_id: uuid.UUID, principal: Coordinator, session: SessionDep,
                       request: Request) -> Any:
    """Bundle the pair: they share one closure and one trench and never conflict with each other."""
    opp = service.accept_opportunity(session, principal, opportunity_id, request.app.state.settings)
    return to_json({"id": opp.id, "status": opp.status, "request_a": opp.request_a,
                             "request_b": opp.request_b, "accepted_at": opp.accepted_at})


# --- rules ----------------------------------------------------------------------------------------------


def _feature(rule: str, obj: Any, status_code: int = 200) -> Response:
    return GeoJSONResponse(to_json(service.rule_to_read(rule, obj)), status_code=status_code)


def _install_rule(rule: str, path: str, schema: type) -> None:
    doc = geojson_response_doc(f"the {rule} as a GeoJSON Feature")

    @router.get(f"/v1/{path}", response_class=GeoJSONResponse, tags=["rules"], name=f"list_{path}",
                responses=geojson_response_doc(f"FeatureCollection of {path}"))
    def list_rules(principal: Authenticated, session: SessionDep) -> Response:
        features = [service.rule_to_read(rule, o) for o in service.rules_of_type(session, rule)]
        return GeoJSONResponse(to_json({"type": "FeatureCollection", "features": features}))

    def create_rule(body: Any, principal: Coordinator, session: SessionDep, request: Request) -> Response:
        obj = service.create_rule(session, rule, body.model_dump(mode="python"), request.app.state.settings)
        response = _feature(rule, obj, 201)
        response.headers["Location"] = f"/v1/{path}/{obj.id}"
        return response

    create_rule.__annotations__["body"] = schema  # the concrete body model (annotations are strings here)
    create_rule.__doc__ = f"Create a {rule} (coordinators only)."
    router.post(f"/v1/{path}", response_class=GeoJSONResponse, status_code=201, tags=["rules"],
                name=f"create_{rule}", responses={201: doc[200]})(create_rule)

    @router.get(f"/v1/{path}/{{rule_id}}", response_class=GeoJSONResponse, tags=["rules"], name=f"get_{rule}",
                responses=doc)
    def get_rule(rule_id: uuid.UUID, principal: Authenticated, session: SessionDep) -> Response:
        return _feature(rule, service.get_rule(session, rule, rule_id))

    @router.patch(f"/v1/{path}/{{rule_id}}", response_class=GeoJSONResponse, tags=["rules"],
                  name=f"update_{rule}", responses=doc)
    def update_rule(rule_id: uuid.UUID, principal: Authenticated, session: SessionDep, request: Request,
                    patch: Annotated[dict[str, Any], Body(description="any fields of the write body")]) -> Response:
        """Coordinators change any field; the organisation owning a corridor may change `routes` and `stops`."""
        obj = service.update_rule(session, principal, rule, rule_id, patch, request.app.state.settings)
        return _feature(rule, obj)

    @router.delete(f"/v1/{path}/{{rule_id}}", status_code=204, tags=["rules"], name=f"delete_{rule}")
    def delete_rule(rule_id: uuid.UUID, principal: Coordinator, session: SessionDep) -> Response:
        service.delete_rule(session, rule, rule_id)
        return Response(status_code=204)


for _rule, _path, _schema in (("zone", "zones", ZoneWrite), ("corridor", "corridors", CorridorWrite),
                              ("moratorium", "moratoriums", MoratoriumWrite), ("blackout", "blackouts", BlackoutWrite)):
    _install_rule(_rule, _path, _schema)
