"""One settings object for the whole service, read from ``BAUSTELLEN_*`` environment variables."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

# The directory this package was imported from: the project directory for a checkout or an editable install,
# site-packages for a plain ``pip install .`` (the Docker image), which holds no alembic.ini, migrations/ or
# examples/. Use ``Settings().project_dir`` for those.
REPO_ROOT = Path(__file__).resolve().parents[1]

# Settings whose value is never echoed in an error message.
SECRETS = {"database_url", "smtp_password"}


def project_root() -> Path:
    """Where alembic.ini, migrations/ and examples/ are: the source tree the package was imported from, else the
    working directory (an installed package run from the project directory, as the Docker image does). Neither
    holding alembic.ini, the source tree; commands that need the files then say so (:func:`project_file`)."""
    for candidate in (REPO_ROOT, Path.cwd()):
        if (candidate / "alembic.ini").is_file():
            return candidate.resolve()
    return REPO_ROOT


class SetupError(RuntimeError):
    """The installation cannot do what was asked (a file it needs is missing); the CLI prints it as one line."""


def project_file(settings: Settings, name: str) -> Path:
    """``name`` (``alembic.ini``, ``migrations``) in the project directory, or :class:`SetupError` saying where
    it was looked for."""
    path = settings.project_dir / name
    if not path.exists():
        raise SetupError(f"{path} does not exist: run baustellen from the project directory (the one with "
                         f"alembic.ini, migrations/ and examples/) or set BAUSTELLEN_PROJECT_DIR to it")
    return path


def describe_settings_error(error: ValidationError | SettingsError) -> str:
    """One line naming each environment variable that is wrong and why (never a secret's value)."""
    if isinstance(error, SettingsError):  # a value pydantic-settings could not even decode (bad JSON)
        found = re.search(r'field "(\w+)"', str(error))
        return f"BAUSTELLEN_{found.group(1).upper()}: not valid JSON" if found else str(error)
    parts, seen = [], set()
    for err in error.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        if err["type"] == "default_factory_not_called" or field in seen:  # follows from an error named already
            continue
        seen.add(field)
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        if err["type"] != "value_error" and field not in SECRETS and isinstance(value, str | int | float):
            msg += f" (got {value!r})"
        parts.append(f"BAUSTELLEN_{field.upper()}: {msg}" if field else msg)
    return "; ".join(parts)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BAUSTELLEN_", env_file=".env", extra="ignore")

    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/baustellen"
    db_pool_size: int = Field(10, ge=1, le=1000)
    # How long an API call waits for a row (or advisory) lock before it gives up with 503 `busy` (PostgreSQL's
    # ``lock_timeout`` on the API's connections; 0: wait for ever). A plan run or another long job holds the rows it
    # writes for minutes: waiting for them would hold a pooled connection and a server thread all that time, and a
    # few such calls use up the pool. The worker and CLI commands wait as long as it takes.
    api_lock_timeout_ms: int = Field(5000, ge=0, le=3_600_000)
    # How long an API call waits for a connection of the pool when every one is in use before it gives up with 503
    # `busy` (SQLAlchemy's ``pool_timeout``, 30 s by default: each waiting call held a server thread that long). The
    # worker and the CLI keep SQLAlchemy's default.
    db_pool_timeout_s: float = Field(5.0, gt=0, le=300)
    # Origins whose browser scripts may call the API (CORS), e.g. ``https://planung.example.org``; comma-separated
    # or a JSON list, ``*`` for any. Empty (the default): no CORS headers. The open data feeds (/feeds/…) answer
    # every origin regardless (``service.feeds.endpoints``).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # How long the answer to a POST with an ``Idempotency-Key`` is kept (hours): a retry with the key within that
    # time gets the first answer, a later one is a new call (the worker's ``requests.purge_idempotency_keys`` deletes
    # older ones). The IETF httpapi Idempotency-Key draft (section 2.3) leaves the expiry to the server and asks it to
    # publish it; 24 h is what common APIs keep.
    idempotency_keep_hours: int = Field(24, ge=1, le=24 * 366)
    public_url: str = "http://127.0.0.1:8000"
    timezone: str = "Europe/Berlin"
    # The calendar day the service works on. Unset (production) it is the real day in ``timezone``; set, the
    # service's clock runs from that day at the real time of day: for tests, training and replaying a past
    # situation. Timestamps the database sets itself (``created_at``) and notice delivery keep the real time.
    today: date | None = None

    # Input limits for geometries and bodies.
    # minlon,minlat,maxlon,maxlat in WGS84; in the environment as ``6.4,51.2,7.9,51.8`` or a JSON list
    service_area: Annotated[tuple[float, float, float, float], NoDecode] = (5.86, 47.27, 15.05, 55.06)  # Germany
    max_vertices: int = Field(10_000, ge=4)  # a polygon's ring has at least 4
    max_area_km2: float = Field(25.0, gt=0)
    # The total length of a works line (a trench, a pipeline, a track renewal), measured in EPSG:25832. Real
    # linear works run a few km (the Karlsruhe and Autobahn A1 records reach 9 km); a longer one is built and
    # permitted in sections, and a line over 50 km is almost always a mistake (swapped coordinates, a route sent
    # as the footprint). Diversions and replacement routes are not capped: they go where traffic can go.
    max_line_km: float = Field(50.0, gt=0)
    # The diagonal of a works geometry's bounding box (EPSG:25832): the parts of a Multi* geometry belong to one site,
    # so they may not lie far apart (two small parts in Aachen and Görlitz pass the area and length caps). Diversions
    # and replacement routes are not capped, as for their length.
    max_extent_km: float = Field(60.0, gt=0)
    max_body_bytes: int = Field(5_000_000, ge=1024)
    max_years_ahead: int = Field(10, ge=1, le=100)

    # Conflict detection (metres, months).
    conflict_distance_m: dict[str, float] = Field(
        default_factory=lambda: {
            "none": 0.0,
            "footway": 10.0,
            "lane_reduction": 50.0,
            "one_way": 100.0,
            "full_closure": 200.0,
        }
    )
    diversion_tolerance_m: float = Field(5.0, ge=0)
    dig_once_distance_m: float = Field(50.0, ge=0)
    dig_once_months: int = Field(6, ge=0, le=120)

    # Slot allocation.
    solver_time_limit_s: float = Field(30.0, gt=0, le=24 * 3600)
    solver_workers: int = Field(2, ge=2, le=256)  # CP-SAT's portfolio needs at least 2 (scheduler.Options)
    solver_seed: int = Field(0, ge=0, le=2**31 - 1)  # CP-SAT's random_seed is an int32

    # Workflow deadlines.
    coordinator_answer_working_days: int = Field(10, ge=1, le=365)
    owner_answer_days: int = Field(14, ge=1, le=365)

    # Mail and notices.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "Baustellenmanagement Ruhr <noreply@baustellen.example>"
    webhook_allow_http_loopback: bool = False
    webhook_disable_after_s: float = Field(3 * 24 * 3600, gt=0)

    # Open data.
    feed_publisher: str = "Regionale Koordinierungsstelle Baustellen Ruhr"
    feed_license: str = "dl-de/by-2-0"
    datex_push_url: str | None = None

    # Map.
    map_style_url: str | None = None

    # Paths. ``project_dir`` holds alembic.ini, migrations/ and examples/ (see :func:`project_root`).
    project_dir: Path = Field(default_factory=project_root)
    shared_data_dir: Path = Field(default_factory=lambda data: data["project_dir"].parent / "shared" / "data")
    examples_dir: Path = Field(default_factory=lambda data: data["project_dir"] / "examples")

    # Worker: seconds between the notice delivery rounds (and the other short-interval jobs).
    worker_poll_seconds: float = Field(5.0, gt=0, le=3600)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        example = "postgresql+psycopg://user:password@host:5432/baustellen"
        try:
            url = make_url(value)
            url.get_dialect()
        except (ArgumentError, NoSuchModuleError, ValueError):  # the URL itself is not echoed: it may hold a password
            raise ValueError(f"not a database URL like {example}") from None
        if url.get_backend_name() != "postgresql":
            raise ValueError(f"the service needs PostgreSQL with PostGIS ({example}), not {url.get_backend_name()}")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL like https://baustellen.example.org")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name like Europe/Berlin)") from None
        return value

    @field_validator("service_area", mode="before")
    @classmethod
    def _service_area_text(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            try:
                value = json.loads(text) if text.startswith("[") else [v.strip() for v in text.split(",")]
            except json.JSONDecodeError:
                value = None
            if not isinstance(value, list) or len(value) != 4:
                raise ValueError(f"{text!r} is not 4 numbers minlon,minlat,maxlon,maxlat like 6.4,51.2,7.9,51.8")
        return value

    @field_validator("service_area")
    @classmethod
    def _service_area(cls, value: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        minlon, minlat, maxlon, maxlat = value
        if not (-180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90):
            raise ValueError(f"{list(value)} is not minlon,minlat,maxlon,maxlat in WGS84 with minlon < maxlon "
                             f"and minlat < maxlat (longitudes -180..180, latitudes -90..90)")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _cors_origins_text(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            try:
                value = json.loads(text) if text.startswith("[") else text.split(",")
            except json.JSONDecodeError:
                raise ValueError(f"{text!r} is not origins like https://a.example,https://b.example") from None
        return value

    @field_validator("cors_origins")
    @classmethod
    def _cors_origins(cls, value: list[str]) -> list[str]:
        origins = []
        for raw in value:
            origin = raw.strip().removesuffix("/")  # a browser's Origin header never ends with a slash
            if not origin:
                continue
            parts = urlsplit(origin)
            if origin != "*" and (parts.scheme not in ("http", "https") or not parts.netloc or parts.path
                                  or parts.query or parts.fragment):
                raise ValueError(f"{raw!r} is not an origin like https://planung.example.org (scheme and host, "
                                 f"no path) or *")
            origins.append(origin)
        return origins

    @field_validator("conflict_distance_m")
    @classmethod
    def _distances(cls, value: dict[str, float]) -> dict[str, float]:
        negative = sorted(k for k, v in value.items() if not v >= 0)  # also NaN
        if negative:
            raise ValueError(f"distances must be 0 or more metres: {', '.join(negative)}")
        return value
