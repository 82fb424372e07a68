"""An emergency works is noticed once; "starts in N days" only for dates that are set; one inbox hears of a
site's changes in the order they happened, also across retries; the first digest waits for its time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from lxml import etree
from sqlalchemy.orm import sessionmaker

from service.kit.db import session_scope
from service.notices import jobs, repository, service
from service.notices.schemas import SubscriptionWrite
from service.slots import repository as slot_repository
from tests.conftest import site_body
from tests.notices.helpers import notices_of, sub_body, subscribe
from tests.workflow.flow import approved, body_now, ok

ATOM = "{http://www.w3.org/2005/Atom}"
BERLIN = ZoneInfo("Europe/Berlin")


def _kinds(db, sub) -> list[str]:
    return [n.kind for n in notices_of(db, sub.id) if n.kind != "confirmation"]


def _hooks(receiver) -> list[str]:
    return [receiver.json(i)["type"] for i in range(len(receiver.requests))]


def _subjects(inbox) -> list[str]:
    return [m["Subject"] for m in inbox.messages if not m["Subject"].startswith("Bitte bestätigen")]


def test_an_emergency_works_is_noticed_once(client, db, utility, receiver, smtp, run_jobs) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db, webhooks=[receiver.url])
    # Reported at once (request.created, then request.emergency when it is activated) ...
    r = client.post(
        "/v1/requests",
        json=body_now(urgency="emergency", title="Wasserrohrbruch Rüttenscheider Straße", kind="water"),
        headers=utility.headers,
    )
    assert r.status_code == 201 and r.json()["status"] == "active", r.text
    # ... or sent in from a draft (request.submitted, then request.emergency).
    draft = client.post(
        "/v1/requests",
        json=body_now(urgency="emergency", status="draft", kind="gas", title="Gasleck Rüttenscheider Straße"),
        headers=utility.headers,
    )
    ok(client, utility, draft.json()["id"], "submit")
    run_jobs()
    assert _kinds(db, sub) == ["request.emergency", "request.emergency"]
    assert sorted(_subjects(inbox)) == [
        "Notfallbaustelle in Ihrer Nähe: Gasleck Rüttenscheider Straße",
        "Notfallbaustelle in Ihrer Nähe: Wasserrohrbruch Rüttenscheider Straße",
    ]
    assert _hooks(receiver) == ["notice.request.emergency", "notice.request.emergency"]
    feed = etree.fromstring(client.get(f"/v1/subscriptions/{sub.token}/feed.atom").content)
    assert len(list(feed.iter(f"{ATOM}entry"))) == 2
    run_jobs()  # nothing left, nothing new
    assert len(_subjects(inbox)) == 2 and len(receiver.requests) == 2


def test_lead_time_is_told_only_for_approved_dates(client, db, city, coordinator, run_jobs, mail_settings) -> None:
    sub = subscribe(client, db, lead_days=30)
    on = date(2027, 3, 20)
    # A proposed (provisional) slot from 2027-04-01, the placement of a new request:
    proposed = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    # Two requests without a slot: one with preferred dates, one with only a window.
    wish = client.post(
        "/v1/requests",
        json=site_body(kind="gas", title="Gasleitung Rüttenscheider Straße", preferred_start="2027-04-02"),
        headers=city.headers,
    ).json()["id"]
    window = client.post(
        "/v1/requests",
        json=site_body(
            kind="water", title="Wasserleitung Rüttenscheider Straße", preferred_start=None, earliest_start="2027-03-25"
        ),
        headers=city.headers,
    ).json()["id"]
    for rid in (wish, window):
        slot_repository.put_slot(
            db,
            rid,
            start=None,
            end=None,
            status="unplaced",
            provisional=False,
            explanation={},
            unplaced={"reason": "test", "blocking": []},
            plan_id=None,
        )
    run_jobs()
    assert jobs.queue_lead_notices(db, mail_settings, on=on) == 0
    # A coordinator's lock keeps the planner off the slot, but the site is not approved: still provisional.
    assert client.post(f"/v1/requests/{proposed}/slot/lock", headers=coordinator.headers).status_code == 200
    assert jobs.queue_lead_notices(db, mail_settings, on=on) == 0
    ok(client, coordinator, proposed, "propose", {"start": "2027-04-01"})
    ok(client, city, proposed, "accept")
    ok(client, coordinator, proposed, "approve")
    assert jobs.queue_lead_notices(db, mail_settings, on=on) == 1
    run_jobs()
    [lead] = [n for n in notices_of(db, sub.id) if n.kind.startswith("lead_time")]
    assert (str(lead.request_id), lead.kind, lead.payload["site"]["days_until"]) == (proposed, "lead_time", 12)


def test_an_emergency_gets_no_lead_time_notice(client, db, utility, run_jobs, mail_settings) -> None:
    sub = subscribe(client, db, lead_days=30)
    client.post("/v1/requests", json=body_now(urgency="emergency", kind="water"), headers=utility.headers)
    run_jobs()
    today = datetime.now(BERLIN).date()
    assert jobs.queue_lead_notices(db, mail_settings, on=today) == 0  # it began when it was reported
    assert _kinds(db, sub) == ["request.emergency"]


def test_one_inbox_hears_of_a_site_in_the_order_it_happened(
    client, db, city, coordinator, receiver, smtp, run_jobs
) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db, webhooks=[receiver.url])
    rid = approved(client, city, coordinator)["id"]  # created, proposed, accepted, approved ...
    ok(client, city, rid, "start")  # ... and started, all in one outbox step
    run_jobs()
    assert _hooks(receiver) == ["notice.request.created", "notice.request.approved", "notice.request.started"]
    assert [s.split(":")[0] for s in _subjects(inbox)] == [
        "Neue Baustelle geplant",
        "Baustelle genehmigt",
        "Baustelle hat begonnen",
    ]
    feed = etree.fromstring(client.get(f"/v1/subscriptions/{sub.token}/feed.atom").content)
    assert [e.findtext(f"{ATOM}title").split(":")[0] for e in feed.iter(f"{ATOM}entry")] == [
        "Baustelle hat begonnen",
        "Baustelle genehmigt",
        "Neue Baustelle geplant",
    ]  # newest first


def test_a_notice_waiting_for_its_retry_is_not_overtaken(
    client, db, city, coordinator, receiver, factory, mail_settings
) -> None:
    subscribe(client, db, webhooks=[receiver.url])
    approved(client, city, coordinator)
    receiver.statuses = [500]  # the first notice fails once
    jobs.process_events(db, mail_settings)
    t0 = datetime.now(UTC) + timedelta(seconds=1)
    jobs.deliver_batch(factory, mail_settings, now=t0)
    assert _hooks(receiver) == ["notice.request.created"]  # "approved" waits behind the failed "created"
    assert jobs.deliver_batch(factory, mail_settings, now=t0 + timedelta(seconds=5)).claimed == 0
    retry = jobs.deliver_batch(factory, mail_settings, now=t0 + timedelta(seconds=31))
    assert retry.delivered == 2
    assert _hooks(receiver) == ["notice.request.created", "notice.request.created", "notice.request.approved"]


def test_the_first_digest_goes_out_at_the_regular_digest_time(client, db, city, smtp, run_jobs, mail_settings) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db, delivery="daily")
    confirmed = datetime(2027, 3, 2, 10, 0, tzinfo=BERLIN)
    sub.confirmed_at = confirmed
    db.flush()
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    run_jobs()
    assert jobs.queue_digests(db, mail_settings, now=confirmed + timedelta(minutes=5)) == 0  # not at once
    assert jobs.queue_digests(db, mail_settings, now=datetime(2027, 3, 3, 6, 59, tzinfo=BERLIN)) == 0
    assert jobs.queue_digests(db, mail_settings, now=datetime(2027, 3, 3, 7, 0, tzinfo=BERLIN)) == 1
    run_jobs()
    [digest] = [m for m in inbox.messages if "Übersicht" in m["Subject"]]
    assert "Tägliche Übersicht: 1 Hinweis\n" in digest.get_content()
    assert "Daily digest: 1 notice\n" in digest.get_content()


def test_switching_to_digests_counts_from_the_switch(client, db, city, smtp, run_jobs, mail_settings) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db)
    assert client.patch(f"/v1/subscriptions/{sub.token}", json={"delivery": "weekly"}).status_code == 200
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    run_jobs()
    monday = service.digest_boundary("weekly", datetime.now(UTC), mail_settings) + timedelta(days=7)
    assert jobs.queue_digests(db, mail_settings, now=monday - timedelta(seconds=1)) == 0  # not at once
    assert jobs.queue_digests(db, mail_settings, now=monday) == 1  # the next Monday, 07:00
    run_jobs()
    [digest] = [m for m in inbox.messages if "Übersicht" in m["Subject"]]
    assert "Wöchentliche Übersicht: 1 Hinweis\n" in digest.get_content()


def test_a_second_worker_does_not_overtake_the_first(clean_database, settings) -> None:
    """Two workers share the queue with SKIP LOCKED: while one holds an inbox's earliest delivery, the other
    leaves that inbox's later deliveries alone. Real commits, two connections."""
    factory = sessionmaker(clean_database, expire_on_commit=False)
    with session_scope(factory) as session:
        sub = service.create(session, SubscriptionWrite.model_validate(sub_body()), settings)
        service.confirm(session, sub.confirm_token, settings)
        for i in (1, 2):  # two notices after the (still queued) confirmation email
            service.queue_notice(
                session, sub.id, sub.email, "immediate", [], kind="request.created", dedupe_key=f"test:{i}", payload={}
            )
    now = datetime.now(UTC) + timedelta(seconds=1)
    first, second = factory(), factory()
    try:
        [(held, _, _)] = repository.claim_due(first, now, 1)  # worker 1 holds the confirmation email
        assert held.dedupe_key.startswith("confirm:")
        assert repository.claim_due(second, now, 10) == []  # worker 2 does not send past it
        second.rollback()
        held.status = "delivered"
        first.commit()
        assert [d.dedupe_key for d, _, _ in repository.claim_due(second, now, 10)] == ["test:1", "test:2"]
    finally:
        first.close()
        second.close()
