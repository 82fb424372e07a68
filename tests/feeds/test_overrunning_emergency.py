"""A site that is set up stays in the street until its owner reports it completed: an active site (an emergency, or
planned works set up) whose planned end has passed stays published, ending today (renewed each day, so its version
moves on), until ``complete`` closes it. A cancelled emergency (reported by mistake) is listed as cancelled in DATEX
II, not as closed."""

from __future__ import annotations

from datetime import date, timedelta

from service.feeds.common import end_instant, iso_z
from tests.conftest import TODAY, site_body
from tests.feeds.validators import DATEX_NS, assert_datex_valid
from tests.workflow.flow import ok

DATEX, WZDX = "/feeds/datex2/situations.xml", "/feeds/wzdx.geojson"


def _emergency(client, owner) -> str:  # noqa: ANN001
    body = site_body(title="Wasserrohrbruch Rüttenscheider Straße", kind="water", urgency="emergency",
                     earliest_start=TODAY, latest_end=(date.fromisoformat(TODAY) + timedelta(days=59)).isoformat(),
                     duration_days=5, preferred_start=None)
    r = client.post("/v1/requests", json=body, headers=owner.headers)
    assert r.status_code == 201 and r.json()["status"] == "active", r.text
    return r.json()["id"]


def _pin(client, settings, day: date) -> None:  # noqa: ANN001
    client.app.state.settings = settings.model_copy(update={"today": day})


def _datex(client) -> tuple[set[str], dict[str, str]]:  # noqa: ANN001
    doc = assert_datex_valid(client.get(DATEX).content)
    situations = set(doc.xpath("//sit:situation/@id", namespaces=DATEX_NS))
    ended = {ref.xpath("inf:versionedReference/@id", namespaces=DATEX_NS)[0]:
             ref.findtext("inf:managementStatus", namespaces=DATEX_NS)
             for ref in doc.xpath("//inf:elementReference", namespaces=DATEX_NS)}
    return situations, ended


def _wzdx_end(client, rid: str) -> str | None:  # noqa: ANN001
    ends = [f["properties"]["end_date"] for f in client.get(WZDX).json()["features"] if f["id"] == rid]
    return ends[0] if ends else None


def test_an_emergency_past_its_planned_end_stays_published_until_it_is_completed(  # noqa: ANN001
        client, utility, settings) -> None:
    rid = _emergency(client, utility)  # 2026-11-21 .. 2026-11-25
    overrun = date.fromisoformat(TODAY) + timedelta(days=9)
    _pin(client, settings, overrun)
    situations, ended = _datex(client)
    assert rid in situations and f"{rid}_works" not in ended  # the closure is still in the street
    assert _wzdx_end(client, rid) == iso_z(end_instant(overrun, "Europe/Berlin"))  # ends today, not days ago
    doc = assert_datex_valid(client.get(DATEX).content)
    [version] = doc.xpath(f"//sit:situation[@id='{rid}']/sit:situationRecord[1]/@version", namespaces=DATEX_NS)

    _pin(client, settings, overrun + timedelta(days=1))  # one more day: a new end, a new version
    doc = assert_datex_valid(client.get(DATEX).content)
    assert doc.xpath(f"//sit:situation[@id='{rid}']/sit:situationRecord[1]/@version", namespaces=DATEX_NS) == [
        str(int(version) + 1)]

    ok(client, utility, rid, "complete")
    situations, ended = _datex(client)
    assert rid not in situations and ended[f"{rid}_works"] == "closed"
    assert _wzdx_end(client, rid) is None


def test_a_cancelled_emergency_is_listed_as_cancelled(client, utility, settings) -> None:  # noqa: ANN001
    rid = _emergency(client, utility)
    assert rid in _datex(client)[0]
    ok(client, utility, rid, "cancel", {"reason": "Falsche Straße gemeldet"})
    situations, ended = _datex(client)
    assert rid not in situations and ended[f"{rid}_works"] == "cancelled"
    assert _wzdx_end(client, rid) is None
