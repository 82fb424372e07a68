"""Bodies and answers of the subscription API."""

from __future__ import annotations

import uuid
from datetime import datetime
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
from pydantic_core import PydanticCustomError

from service.kit.types import WholeNumber
from service.requests.models import Impact, Mode, WorkKind

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
