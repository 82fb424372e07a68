"""One settings object for the whole service, read from ``BAUSTELLEN_*`` environment variables."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BAUSTELLEN_", env_file=".env", extra="ignore")

    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/baustellen"
    db_pool_size: int = 10
    public_url: str = "http://127.0.0.1:8000"
    timezone: str = "Europe/Berlin"
    # The calendar day the service works on. Unset (production) it is the real day in ``timezone``; set, the
    # service's clock runs from that day at the real time of day: for tests, training and replaying a past
    # situation. Timestamps the database sets itself (``created_at``) and notice delivery keep the real time.
    today: date | None = None

    # Input limits for geometries and bodies.
    service_area: tuple[float, float, float, float] = (5.86, 47.27, 15.05, 55.06)  # Germany
    max_vertices: int = 10_000
    max_area_km2: float = 25.0
    # The total length of a works line (a trench, a pipeline, a track renewal), measured in EPSG:25832. Real
    # linear works run a few km (the Karlsruhe and Autobahn A1 records reach 9 km); a longer one is built and
    # permitted in sections, and a line over 50 km is almost always a mistake (swapped coordinates, a route sent
    # as the footprint). Diversions and replacement routes are not capped: they go where traffic can go.
    max_line_km: float = 50.0
    max_body_bytes: int = 5_000_000
    max_years_ahead: int = 10

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
    diversion_tolerance_m: float = 5.0
    dig_once_distance_m: float = 50.0
    dig_once_months: int = 6

    # Slot allocation.
    solver_time_limit_s: float = 30.0
    solver_workers: int = 2
    solver_seed: int = 0

    # Workflow deadlines.
    coordinator_answer_working_days: int = 10
    owner_answer_days: int = 14

    # Mail and notices.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "Baustellenmanagement Ruhr <noreply@baustellen.example>"
    webhook_allow_http_loopback: bool = False
    webhook_disable_after_s: float = 3 * 24 * 3600

    # Open data.
    feed_publisher: str = "Regionale Koordinierungsstelle Baustellen Ruhr"
    feed_license: str = "dl-de/by-2-0"
    datex_push_url: str | None = None

    # Map.
    map_style_url: str | None = None

    # Paths.
    shared_data_dir: Path = REPO_ROOT.parent / "shared" / "data"
    examples_dir: Path = REPO_ROOT / "examples"

    # Worker.
    worker_poll_seconds: float = 5.0
