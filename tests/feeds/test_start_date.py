"""WZDx ``start_date`` of works that are set up: the time they were (the request's history), verified; never local
midnight of the first day passed off as a verified start."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from shapely.geometry import LineString
from sqlalchemy import text

from service.feeds import wzdx
from service.feeds.common import FeedMeta, FeedSite, iso_z, start_instant
from service.slots.models import Slot
from tests.conftest import TODAY, site_body
from tests.feeds.validators import wzdx_errors

BERLIN = ZoneInfo("Europe/Berlin")


def _site(status: str, activated_at: datetime | None) -> FeedSite:
    moment = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    return FeedSite(
        id=uuid.uuid4(), title="Wasserrohrbruch Alfredstraße", description="", kind="water", impact="lane_reduction",
        modes=["car"], shift="continuous", urgency="emergency", status=status, owner_id=uuid.uuid4(), owner_name="o",
        geometry=LineString([[7.0, 51.44], [7.001, 51.441]]), has_diversion=False, has_replacement=False,
        start=date(2027, 3, 1), end=date(2027, 3, 10), from_slot=True, version=1, first_published=moment,
        last_changed=moment, activated_at=activated_at)


def test_the_start_is_the_set_up_time_where_it_is_known_else_not_verified() -> None:
    meta = FeedMeta(publisher="P", license="dl-de/by-2-0", license_url="https://www.govdata.de/dl-de/by-2-0",
                    public_url="http://x", timezone="Europe/Berlin", updated=datetime(2027, 3, 1, tzinfo=UTC))
    midnight = start_instant(date(2027, 3, 1), "Europe/Berlin")  # 2027-02-28T23:00:00Z
    set_up = datetime(2027, 3, 1, 16, 19, 7, tzinfo=UTC)
    assert wzdx.start_date(_site("active", set_up), meta) == (set_up, True)
    assert wzdx.start_date(_site("active", None), meta) == (midnight, False)  # active, time not recorded
    assert wzdx.start_date(_site("active", midnight - timedelta(days=3)), meta) == (midnight, False)  # not in period
    assert wzdx.start_date(_site("approved", None), meta) == (midnight, False)  # planned
    props = wzdx.feature(_site("active", set_up), meta)["properties"]
    assert (props["start_date"], props["is_start_date_verified"]) == ("2027-03-01T16:19:07Z", True)


def test_an_emergency_starts_when_it_was_set_up_not_at_midnight(client, db, city) -> None:  # noqa: ANN001
    today = date.fromisoformat(TODAY)
    body = site_body(title="Wasserrohrbruch Rüttenscheider Straße", kind="water", impact="lane_reduction",
                     urgency="emergency", earliest_start=TODAY, latest_end=(today + timedelta(days=59)).isoformat(),
                     duration_days=10, preferred_start=None)
    created = client.post("/v1/requests", json=body, headers=city.headers)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "active"  # the workflow sets an emergency up at once
    request_id = uuid.UUID(created.json()["id"])
    activated = db.scalar(text("select max(at) from request_history where request_id = :id "
                               "and after ->> 'status' = 'active'"), {"id": request_id})
    assert activated is not None

    def feature() -> dict:
        doc = client.get("/feeds/wzdx.geojson").json()
        assert wzdx_errors(doc) == []
        [found] = [f["properties"] for f in doc["features"] if f["id"] == str(request_id)]
        return found

    # never a verified start at midnight (the tests pin the service's day, the history has the real time, so the
    # set-up time may lie outside the slot the workflow gave: then midnight, not verified)
    props = feature()
    slot = db.get(Slot, request_id)
    in_slot = slot.start <= activated.astimezone(BERLIN).date() <= slot.end
    assert (props["start_date"], props["is_start_date_verified"]) == (
        (iso_z(activated), True) if in_slot else (iso_z(start_instant(slot.start, "Europe/Berlin")), False))

    # the slot on the day it was set up (as without a pinned day): the start is the time it was, verified
    set_up_day = activated.astimezone(BERLIN).date()
    slot.start, slot.end = set_up_day, max(set_up_day, today) + timedelta(days=10)
    db.flush()
    props = feature()
    assert props["start_date"] == iso_z(activated) != iso_z(start_instant(set_up_day, "Europe/Berlin"))
    assert props["is_start_date_verified"] is True
