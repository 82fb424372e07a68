"""Bodies and answers of the subscription API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from service.kit.types import WholeNumber
from service.requests.models import Impact, Mode, Shift, Status, Urgency, WorkKind

Delivery = Literal["immediate", "daily", "weekly"]
Language = Literal["de", "en"]


WEBHOOK_URL_MAX = 2000  # the column's length (notice_webhook_endpoints.url)


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=WEBHOOK_URL_MAX, description="HTTPS URL receiving Standard Webhooks")


def _webhook(value: Any, handler: ValidatorFunctionWrapHandler) -> WebhookIn:
    """A webhook given as {"url": "..."} or as the URL alone, validated as a ``WebhookIn`` either way (so the URL's
    limits hold for both); an error names the webhook (``webhooks[i]``), as the URL checks of the service do."""
    if not isinstance(value, str | dict | WebhookIn):
        raise PydanticCustomError("webhook", 'must be a URL or an object {"url": "..."}')
    try:
        return handler({"url": value} if isinstance(value, str) else value)
    except ValidationError as exc:
        err = exc.errors()[0]
        inner = ".".join(str(p) for p in err["loc"])
        detail = f"{inner}: {err['msg']}" if inner and not isinstance(value, str) else err["msg"]
        raise PydanticCustomError("webhook", "{detail}", {"detail": detail}) from None


Webhook = Annotated[WebhookIn, WrapValidator(
    _webhook, json_schema_input_type=WebhookIn | Annotated[str, Field(min_length=8, max_length=WEBHOOK_URL_MAX)])]


def ascii_mailbox(value: str) -> str:
    """An address whose local part (before the @) is ASCII. Its domain may be internationalised ("bäckerei.de"):
    mail goes to its IDNA form (``mail.ascii_address``). A non-ASCII local part could only be sent with SMTPUTF8,
    which the relay may not offer: such an address would never get its confirmation, so it is refused now."""
    if not value.rpartition("@")[0].isascii():
        raise ValueError("the part before the @ must be plain ASCII (no umlauts or other special letters): "
                         "such addresses cannot be reached by every mail server")
    return value


Mailbox = Annotated[EmailStr, AfterValidator(ascii_mailbox)]


class SubscriptionWrite(BaseModel):
    """A business's subscription: an inbox, an area and what it wants to hear about."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "email": "info@baeckerei-example.de",
                "area": {"point": [7.0045, 51.4350], "radius_m": 500},
                "kinds": [],
                "min_impact": "lane_reduction",
                "modes": [],
                "lead_days": 14,
                "delivery": "immediate",
                "language": "de",
                "webhooks": [],
            }
        },
    )

    email: Mailbox
    area: dict[str, Any] = Field(
        description='A GeoJSON Polygon/MultiPolygon, or {"point": [lon, lat], "radius_m": 500}, '
        'or {"street": "Rüttenscheider Straße", "city": "Essen"}'
    )
    kinds: list[WorkKind] = Field(default_factory=list, description="empty = every kind of work")
    min_impact: Impact | None = Field(default=None, description="only sites with at least this impact")
    modes: list[Mode] = Field(default_factory=list, description="empty = every mode; else any of these affected")
    lead_days: WholeNumber = Field(default=14, ge=0, le=365)
    delivery: Delivery = "immediate"
    language: Language = "de"
    webhooks: list[Webhook] = Field(default_factory=list, max_length=5)


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Mailbox | None = None
    area: dict[str, Any] | None = None
    kinds: list[WorkKind] | None = None
    min_impact: Impact | None = None
    modes: list[Mode] | None = None
    lead_days: WholeNumber | None = Field(default=None, ge=0, le=365)
    delivery: Delivery | None = None
    language: Language | None = None
    webhooks: list[Webhook] | None = Field(default=None, max_length=5)


class WebhookRead(BaseModel):
    id: uuid.UUID
    url: str
    secret: str = Field(description="whsec_ secret to verify the webhook-signature header")
    enabled: bool
    failing_since: datetime | None
    disabled_at: datetime | None


class SubscriptionRead(BaseModel):
    id: uuid.UUID
    email: str
    status: Literal["pending", "active"]
    area: dict[str, Any]
    area_geometry: dict[str, Any]
    kinds: list[str]
    min_impact: str | None
    modes: list[str]
    lead_days: int
    delivery: Delivery
    language: Language
    webhooks: list[WebhookRead]
    links: dict[str, str]
    created_at: datetime
    confirmed_at: datetime | None


class SubscriptionAccepted(BaseModel):
    id: uuid.UUID
    status: Literal["pending", "active"]
    detail: str
    subscription: SubscriptionRead | None = Field(
        default=None, description="the full subscription, only when created with a business organisation's key"
    )


# The management page's form (``POST /v1/subscriptions/{token}/settings``), as OpenAPI describes it: the fields
# arrive as text and are validated as a ``SubscriptionPatch`` (``service.patch_from_form``).
SETTINGS_FORM_OPENAPI: dict[str, Any] = {"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "properties": {
        "delivery": {"type": "string", "enum": ["immediate", "daily", "weekly"]},
        "lead_days": {"type": "string", "pattern": "^[0-9]+$", "description": "whole days, 0 to 365"},
        "language": {"type": "string", "enum": ["de", "en"]},
        "min_impact": {"type": "string", "enum": ["", *[i.value for i in Impact]],
                       "description": "empty: any restriction"},
    }}}}}}


# --- the webhook deliveries, as /openapi.json documents them (``webhooks``; ``endpoints.install``) -------------------
# What ``delivery.webhook_body`` sends: the documentation of the payload, not used to build it;
# tests/notices/test_webhook_openapi.py checks a delivered payload against the document. Receivers should ignore
# members they do not know: new ones may be added.

# The notice kinds a webhook can carry (``render.HEADLINES``, ``render.SITE_LEFT``): the welcome, the digests, the
# confirmation and the warning about a disabled endpoint go by email only.
WEBHOOK_NOTICE_KINDS = (
    "request.created", "request.submitted", "request.updated", "request.approved", "request.deemed_approved",
    "slot.displaced", "approval.revoked", "request.started", "change.approved", "request.completed",
    "request.emergency", "request.withdrawn", "request.rejected", "lead_time", "lead_time_today",
    "lead_time_tomorrow", "site.left",
)
WebhookNoticeKind = Literal[WEBHOOK_NOTICE_KINDS]  # type: ignore[valid-type]
SiteDates = Literal["slot", "proposed", "preferred", "window"]
ChangedAspect = Literal["dates", "hours", "area", "impact", "details"]


class Headline(BaseModel):
    de: str = Field(examples=["Neue Baustelle geplant"])
    en: str = Field(examples=["New site planned"])


class AffectedMode(BaseModel):
    """A mode of traffic the site affects, as this subscriber is told it (the modes it chose first)."""

    mode: Mode
    routes: list[str] = Field(description="the transit lines affected (GTFS `route_short_name`), e.g. `[\"142\"]`")
    corridors: list[str] = Field(description="the registered corridors affected, by name")


# An optional member of a payload is left out when it does not apply, never null: documented without the null.
Absent = SkipJsonSchema[None]


def _absent_not_null(schema: dict[str, Any]) -> None:
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]


class WebhookSitePrevious(BaseModel):
    """What the subscriber was told before (the members that can have changed; each only when known)."""

    model_config = ConfigDict(json_schema_extra=_absent_not_null)

    title: str | Absent = None
    kind: WorkKind | Absent = None
    start: date | Absent = None
    end: date | Absent = None
    dates: SiteDates | Absent = None
    duration_days: int | Absent = None
    shift: Shift | Absent = None
    impact: Impact | Absent = None
    modes: list[Mode] | Absent = None
    affected: list[AffectedMode] | Absent = None
    diversion: bool | Absent = None
    replacement: bool | Absent = None


class WebhookSiteChange(BaseModel):
    """The change after approval that gave the site its current slot (approved by the coordination office)."""

    what: str = Field(description="`extended`, `shortened`, `moved`, `area`, `effect` or `window`")
    effect: list[str] = Field(description="the effects on traffic it changed: `impact`, `modes`, `shift`, "
                                          "`diversions`, `replacement_routes`")
    previous: dict[str, date] | None = Field(description="the approved dates before it: `{\"start\", \"end\"}`")
    area: bool = Field(description="whether it gave the works another footprint")


class WebhookSite(BaseModel):
    """The site as the notice tells it: public facts only (never the contact); the title without e-mail addresses,
    telephone numbers and names of persons, as the open data feeds publish it."""

    model_config = ConfigDict(json_schema_extra=_absent_not_null)

    id: uuid.UUID = Field(description="the site request's id")
    title: str
    kind: WorkKind
    impact: Impact
    modes: list[Mode] = Field(description="the modes the request names")
    shift: Shift
    status: Status
    urgency: Urgency
    owner: str = Field(description="the organisation that builds")
    start: date = Field(description="first day (Europe/Berlin), as `dates` says how binding")
    end: date = Field(description="last day (inclusive)")
    dates: SiteDates = Field(description="`slot`: approved dates; `proposed`: provisional; `preferred`: the owner's "
                                         "wish, not fixed yet; `window`: only the window the works must fit in")
    duration_days: int
    diversion: bool = Field(description="whether a diversion is signposted")
    replacement: bool = Field(description="whether replacement buses run")
    lon: float = Field(description="a point on the site (WGS84)")
    lat: float
    version: int = Field(description="the request's version")
    sequence: int = Field(description="rises with every change of the site (the calendar's `SEQUENCE`)")
    updated_at: datetime
    last_notice: str | None = Field(description="the kind of the site's latest noticed event")
    change: WebhookSiteChange | None
    area_key: str = Field(description="a fingerprint of the footprint and diversions: changes when the area does")
    map_url: str = Field(description="the site on the public map")
    affected: list[AffectedMode] | Absent = Field(
        default=None, description="the modes the site affects with their transit lines, the subscriber's first")
    first_dates: bool | Absent = Field(
        default=None, description="`slot.displaced` only: the site got its first dates (it had none), not a move")
    previous: WebhookSitePrevious | Absent = Field(
        default=None, description="change notices: what the subscriber was told before")
    changed: list[ChangedAspect] | Absent = Field(default=None, description="change notices: what changed")
    left: list[Literal["area", "kinds", "impact", "modes", "street"]] | Absent = Field(
        default=None, description="`site.left` only: the parts of the subscription the site no longer matches")
    days_until: int | Absent = Field(default=None, description="`lead_time*` only: days until the works start")


class WebhookNoticeData(BaseModel):
    notice_id: uuid.UUID = Field(description="the notice (the same in its email and Atom entry)")
    subscription_id: uuid.UUID
    kind: WebhookNoticeKind
    headline: Headline = Field(description="the notice's headline, German and English")
    site: WebhookSite


class WebhookNotice(BaseModel):
    """The body of a webhook delivery (Standard Webhooks: `type`, `timestamp`, `data`)."""

    type: str = Field(pattern=r"^notice\.", description="`notice.<kind>`, e.g. `notice.request.approved`",
                      examples=["notice.request.created"])
    timestamp: datetime = Field(description="when this attempt was sent (UTC), as the `webhook-timestamp` header")
    data: WebhookNoticeData
