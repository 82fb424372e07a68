"""A site's title, and every name (a contact's, a rule's), is one line: it heads lists and becomes the subject of
notice emails, where a line break would begin a header of its own ("Kanalbau Teil 1\\r\\nBcc: ..."). A line break
of any kind (CR, LF, VT, FF, NEL, U+2028, U+2029, ...) is refused with 422 naming the field, and nothing is
stored; a title on one line with its spaces and tabs is fine."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.kit.types import LINE_BREAKS
from service.requests.models import SiteRequest
from tests.conftest import site_body
from tests.requests.test_bad_input import refused

BREAKS = ["\r\n", *LINE_BREAKS]
IDS = [f"U+{ord(b[-1]):04X}" if len(b) == 1 else "CRLF" for b in BREAKS]
ZONE = {"type": "Polygon", "coordinates": [[[7.005, 51.452], [7.020, 51.452], [7.020, 51.462], [7.005, 51.462],
                                            [7.005, 51.452]]]}


def _count(db) -> int:  # noqa: ANN001
    return db.scalar(select(func.count()).select_from(SiteRequest))


@pytest.mark.parametrize("brk", BREAKS, ids=IDS)
def test_a_title_with_a_line_break_is_refused(client, city, db, brk: str) -> None:  # noqa: ANN001
    r = client.post("/v1/requests", json=site_body(title=f"Kanalbau Teil 1{brk}Bcc: evil@example.org"),
                    headers=city.headers)
    refused(r, "title")
    assert _count(db) == 0


def test_the_reported_title_is_refused_as_posted_and_as_patched(client, city, db) -> None:  # noqa: ANN001
    title = "Kanalbau Teil 1\r\nBcc: evil@example.org"
    refused(client.post("/v1/requests", json=site_body(title=title), headers=city.headers), "title",
            contains="one line")
    created = client.post("/v1/requests", json=site_body(), headers=city.headers)
    assert created.status_code == 201, created.text
    url = f"/v1/requests/{created.json()['id']}"
    for brk in ("\n", "\u2028"):
        refused(client.patch(url, json={"title": f"Kanalbau{brk}Teil 2"},
                             headers={**city.headers, "If-Match": created.headers["etag"]}), "title")
    assert client.get(url, headers=city.headers).json()["title"] == site_body()["title"]


def test_a_title_on_one_line_keeps_its_spaces_and_tabs(client, city) -> None:  # noqa: ANN001
    r = client.post("/v1/requests", json=site_body(title="Kanalbau\tTeil 1  (Rüttenscheider Straße)"),
                    headers=city.headers)
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "Kanalbau\tTeil 1  (Rüttenscheider Straße)"


def test_names_are_one_line_too(client, city, coordinator, db) -> None:  # noqa: ANN001
    contact = {"name": "Bauleitung\nTiefbau", "phone": "+49 201 000000"}
    refused(client.post("/v1/requests", json=site_body(contact=contact), headers=city.headers), "contact.name")
    assert _count(db) == 0
    zone = {"name": "Innenstadt\u2029Essen", "capacity": 3, "geometry": ZONE}
    refused(client.post("/v1/zones", json=zone, headers=coordinator.headers), "name")
    assert client.post("/v1/zones", json={**zone, "name": "Innenstadt Essen"},
                       headers=coordinator.headers).status_code == 201
