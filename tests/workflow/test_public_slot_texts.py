"""A request's slot explanation and a rejection's reason are read by every organisation that may read the request;
the words in them (a coordinator's reason, titles of other requests) reach other organisations scrubbed of personal
data, as the request's title and description do. Owner and coordinators read them as written."""

from __future__ import annotations

from tests.workflow.flow import create, d, ok

WORDS = "Rücksprache mit Herrn Klaus Müller, Tel. 0201 1234567"


def _leaks(text: str) -> bool:
    return "Müller" in text or "1234567" in text


def test_a_coordinators_reason_in_the_slot_reaches_others_scrubbed(client, city, utility, coordinator,  # noqa: ANN001
                                                                   make_caller) -> None:
    works = create(client, city)
    got = ok(client, coordinator, works["id"], "propose", {"start": d(3), "reason": WORDS})
    assert WORDS in got["slot"]["explanation"]["summary"]["de"]
    for reader in (city, coordinator):  # as written
        read = client.get(f"/v1/requests/{works['id']}", headers=reader.headers).json()
        assert WORDS in read["slot"]["explanation"]["summary"]["de"], reader
    other = client.get(f"/v1/requests/{works['id']}", headers=utility.headers)
    assert other.status_code == 200
    assert not _leaks(other.text), other.json()["slot"]
    summary = other.json()["slot"]["explanation"]["summary"]
    assert "Rücksprache mit" in summary["de"] and "Rücksprache mit" in summary["en"], summary
    # ids and dates are left alone
    assert other.json()["slot"]["start"] == got["slot"]["start"]
    assert other.json()["slot"]["explanation"].get("overridden_by") == got["slot"]["explanation"].get(
        "overridden_by")


def test_a_rejections_reason_reaches_others_scrubbed(client, city, utility, coordinator) -> None:  # noqa: ANN001
    works = create(client, city)
    ok(client, coordinator, works["id"], "reject", {"reason": WORDS, "reason_code": "other"})
    own = client.get(f"/v1/requests/{works['id']}", headers=city.headers).json()
    assert own["decision"]["reason"] == WORDS
    other = client.get(f"/v1/requests/{works['id']}", headers=utility.headers)
    assert other.status_code == 200 and other.json()["decision"] is not None
    assert not _leaks(other.text)
    assert other.json()["decision"]["reason_code"] == "other"
