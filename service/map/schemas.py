"""Response shapes of the OGC API Features documents and of the page's configuration (for OpenAPI)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field


class Link(BaseModel):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(BaseModel):
    title: str
    description: str
    links: list[Link]


class Conformance(BaseModel):
    conformsTo: list[str]  # noqa: N815 - OGC field name


class CollectionDoc(BaseModel):
    id: str
    title: str
    description: str
    itemType: str = "feature"  # noqa: N815 - OGC field name
    crs: list[str]
    links: list[Link]
    extent: dict[str, Any] | None = None


class Collections(BaseModel):
    links: list[Link]
    collections: list[CollectionDoc]


class MapConfig(BaseModel):
    style_url: str | None = Field(description="BAUSTELLEN_MAP_STYLE_URL; null = the offline default style")
    today: str
    bbox: list[float]
    interval: list[str | None]
    owners: list[str]
    kinds: list[str]
    impacts: list[str]
    statuses: list[str]
    collections: list[str]
    available: dict[str, bool]


class LinkedSites(BaseModel):
    id: uuid.UUID
    linked: list[uuid.UUID] = Field(description="the sites linked to it by a precedence (`after`, either way) the "
                                                "caller may see")
