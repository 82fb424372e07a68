"""Subscriptions: double opt-in, validation, management by link or business key, one-click unsubscribe."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from service.notices import render
from service.notices.models import Delivery, Notice, Subscription
from tests.conftest import site_body
from tests.notices.helpers import FAR_AWAY, NEAR_SITE, deliveries, notices_of, sub_body, subscribe


def test_double_opt_in_sends_only_the_confirmation_until_confirmed(client, db, city, smtp, run_jobs) -> None:
    inbox, _ = smtp
    r = client.post("/v1/subscriptions", json=sub_body())
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending"
    assert "subscription" not in r.json()  # no management link for an anonymous caller

    # A matching site appears before the confirmation: nothing but the confirmation email is sent.
    assert client.post("/v1/requests", json=site_body(), headers=city.headers).status_code == 201
    stats = run_jobs()
    assert stats.delivered == 1
    [msg] = inbox.messages
    assert msg["To"] == "info@baeckerei-example.de"
    assert msg["Subject"].startswith("Bitte bestätigen")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Unsubscribe"].startswith("<https://baustellen.example/v1/subscriptions/sub_")
    body = msg.get_content()
    assert body.index("Bitte bestätigen") < body.index("Please confirm")  # German first
    link = next(w for w in body.split() if "/v1/subscriptions/confirm?token=" in w)
    assert link.startswith("https://baustellen.example/v1/subscriptions/confirm?token=")
    sub_id = r.json()["id"]
    assert [n.kind for n in notices_of(db, sub_id)] == ["confirmation"]

    token = parse_qs(urlsplit(link).query)["token"][0]
    confirmed = client.get("/v1/subscriptions/confirm", params={"token": token})
    assert confirmed.status_code == 200
    assert "bestätigt" in confirmed.text
    assert client.get("/v1/subscriptions/confirm", params={"token": token}).status_code == 404  # used up
    # The site that appeared meanwhile is in the welcome, sent once confirmed.
    inbox.clear()
    assert run_jobs().delivered == 1
    [welcome] = inbox.messages
    assert welcome["Subject"] == "Baustellen in Ihrem Gebiet: 1"

    # Now a change of the site is noticed.
    site_id = client.get("/v1/requests", headers=city.headers).json()["features"][0]["id"]
    etag = client.get(f"/v1/requests/{site_id}", headers=city.headers).headers["etag"]
    assert client.patch(f"/v1/requests/{site_id}", json={"impact": "one_way"},
                        headers={**city.headers, "If-Match": etag}).status_code == 200
    inbox.clear()
    assert run_jobs().delivered == 1
    [notice] = inbox.messages
    assert notice["Subject"] == "Verkehrseinschränkung geändert: Kanalerneuerung Rüttenscheider Straße"


def test_invalid_bodies_name_the_field_and_store_nothing(client, db) -> None:
    cases = [
        ({"area": {"point": NEAR_SITE, "radius_m": 5}}, "area.radius_m"),
        ({"area": {"point": [200, 51]}}, "area.point"),
        ({"area": {"street": "Rüttenscheider Straße", "city": "Atlantis"}}, "area.city"),
        ({"area": {"street": "Rüttenscheider Straße"}}, "area.city"),
        ({"area": {"type": "Polygon", "coordinates": [[[7, 51], [7.1, 51], [7, 51]]]}}, "area"),
        ({"area": {"foo": 1}}, "area"),
        ({"email": "not-an-address"}, "email"),
        ({"webhooks": ["http://example.org/hook"]}, "webhooks[0]"),
        ({"webhooks": ["https://10.1.2.3/hook"]}, "webhooks[0]"),
        ({"lead_days": -1}, "lead_days"),
        ({"delivery": "hourly"}, "delivery"),
    ]
    for override, field in cases:
        r = client.post("/v1/subscriptions", json=sub_body(**override))
        assert r.status_code == 422, (override, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"][0]["field"] == field, (override, r.json())
    assert db.scalar(select(func.count()).select_from(Subscription)) == 0


def test_manage_by_secret_link(client, db) -> None:
    sub = subscribe(client, db)
    r = client.get(f"/v1/subscriptions/{sub.token}")
    assert r.status_code == 200
    got = r.json()
    assert got["email"] == "info@baeckerei-example.de"
    assert got["area"] == {"kind": "circle", "point": NEAR_SITE, "radius_m": 300}
    assert got["area_geometry"]["type"] == "MultiPolygon"
    assert got["links"]["calendar"].endswith(f"/v1/subscriptions/{sub.token}/calendar.ics")

    r = client.patch(f"/v1/subscriptions/{sub.token}",
                     json={"min_impact": "one_way", "kinds": ["sewer"], "delivery": "daily"})
    assert r.status_code == 200, r.text
    assert (r.json()["min_impact"], r.json()["kinds"], r.json()["delivery"]) == ("one_way", ["sewer"], "daily")
    assert client.patch(f"/v1/subscriptions/{sub.token}", json={"area": {"point": [7, 51], "radius_m": 1}}
                        ).json()["errors"][0]["field"] == "area.radius_m"

    assert client.get("/v1/subscriptions/sub_wrong").status_code == 404
    assert client.get(f"/v1/subscriptions/{sub.id}").status_code == 404  # the id alone is not enough

    assert client.delete(f"/v1/subscriptions/{sub.token}").status_code == 204
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Subscription)) == 0
    assert db.scalar(select(func.count()).select_from(Notice)) == 0  # the confirmation email went with it
    assert db.scalar(select(func.count()).select_from(Delivery)) == 0


def test_business_key_sees_and_changes_only_its_own(client, db, make_caller, city) -> None:
    shop = make_caller("business", "submitter", "Bäckerei Beispiel")
    other = make_caller("business", "submitter", "Spedition Hafen")
    r = client.post("/v1/subscriptions", json=sub_body(webhooks=[]), headers=shop.headers)
    assert r.status_code == 202
    created = r.json()["subscription"]
    assert created["status"] == "pending"
    sub_id = created["id"]

    assert [s["id"] for s in client.get("/v1/subscriptions", headers=shop.headers).json()] == [sub_id]
    assert client.get("/v1/subscriptions", headers=other.headers).json() == []
    assert client.get(f"/v1/subscriptions/{sub_id}", headers=shop.headers).status_code == 200
    assert client.get(f"/v1/subscriptions/{sub_id}", headers=other.headers).status_code == 404
    assert client.delete(f"/v1/subscriptions/{sub_id}", headers=other.headers).status_code == 404
    assert client.patch(f"/v1/subscriptions/{sub_id}", json={"lead_days": 3}, headers=shop.headers
                        ).json()["lead_days"] == 3
    # Another kind of organisation neither sees nor changes the business's subscription.
    assert client.get("/v1/subscriptions", headers=city.headers).json() == []
    assert client.get(f"/v1/subscriptions/{sub_id}", headers=city.headers).status_code == 404
    assert client.patch(f"/v1/subscriptions/{sub_id}", json={"lead_days": 1}, headers=city.headers
                        ).status_code == 404
    assert client.delete(f"/v1/subscriptions/{sub_id}", headers=shop.headers).status_code == 204


def test_any_organisations_key_owns_the_subscriptions_it_creates(client, db, make_caller, city, coordinator
                                                                  ) -> None:  # noqa: ANN001
    """A transit operator's dispatch (or a city, a utility, ...) subscribes with its key to the streets of its
    lines and manages its subscriptions by id; no other organisation sees them, whatever its kind or role."""
    ruhrbahn = make_caller("transit_operator", "submitter", "Ruhrbahn Leitstelle")
    shop = make_caller("business", "submitter", "Bäckerei Beispiel")
    r = client.post("/v1/subscriptions", json=sub_body(email="leitstelle@ruhrbahn.example", modes=["tram", "bus"]),
                    headers=ruhrbahn.headers)
    assert r.status_code == 202, r.text
    created = r.json()["subscription"]
    sub_id = created["id"]
    assert created["links"]["manage"].split("/")[-1].startswith("sub_")
    assert [s["id"] for s in client.get("/v1/subscriptions", headers=ruhrbahn.headers).json()] == [sub_id]
    assert client.patch(f"/v1/subscriptions/{sub_id}", json={"lead_days": 30}, headers=ruhrbahn.headers
                        ).json()["lead_days"] == 30
    # Its subscription is not found by anyone else: a business, a city, the coordination office, nobody.
    for other in (shop, city, coordinator):
        assert client.get("/v1/subscriptions", headers=other.headers).json() == []
        for method in ("GET", "PATCH", "DELETE"):
            r = client.request(method, f"/v1/subscriptions/{sub_id}", headers=other.headers,
                               **({"json": {"lead_days": 1}} if method == "PATCH" else {}))
            assert r.status_code == 404, (other.name, method)
    assert client.get(f"/v1/subscriptions/{sub_id}").status_code == 404
    # The email address still confirms (double opt-in) before anything but the confirmation is sent.
    sub = db.get(Subscription, sub_id)
    assert sub is not None and sub.status == "pending" and sub.organisation_id == ruhrbahn.org_id
    # Every kind of organisation may own one.
    for kind in ("city", "utility", "road_authority", "rail", "coordinator"):
        caller = make_caller(kind, "coordinator" if kind == "coordinator" else "submitter")
        r = client.post("/v1/subscriptions", json=sub_body(email=f"{kind}@example.de"), headers=caller.headers)
        assert r.status_code == 202, (kind, r.text)
        assert [s["email"] for s in client.get("/v1/subscriptions", headers=caller.headers).json()] == [
            f"{kind}@example.de"]
    assert client.delete(f"/v1/subscriptions/{sub_id}", headers=ruhrbahn.headers).status_code == 204


def test_one_click_unsubscribe(client, db) -> None:
    sub = subscribe(client, db)
    sub_id, token = sub.id, sub.token
    page = client.get(f"/v1/subscriptions/{token}/unsubscribe")
    assert page.status_code == 200 and "<form method=post" in page.text
    db.expire_all()
    assert db.get(Subscription, sub_id) is not None  # GET never unsubscribes

    r = client.post(f"/v1/subscriptions/{token}/unsubscribe", data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200
    db.expunge_all()
    assert db.get(Subscription, sub_id) is None
    assert db.scalar(select(func.count()).select_from(Subscription).where(
        Subscription.email == "info@baeckerei-example.de")) == 0
    # Idempotent: a second click answers 200 too.
    assert client.post(f"/v1/subscriptions/{token}/unsubscribe").status_code == 200
    # Following the link again (from an older email) says so instead of offering the button once more.
    for again in (client.get(f"/v1/subscriptions/{token}/unsubscribe"),
                  client.post(f"/v1/subscriptions/{token}/unsubscribe")):
        assert again.status_code == 200 and again.headers["content-type"].startswith("text/html")
        assert "Sie sind bereits abgemeldet" in again.text and "You are already unsubscribed" in again.text
        assert again.text.index("bereits abgemeldet") < again.text.index("already unsubscribed")  # German first
        assert "<form" not in again.text and "<button" not in again.text


def test_the_confirmation_names_the_area_in_each_language(client, db, smtp, run_jobs) -> None:
    """Each language part of the confirmation is in its own language, also where it names the area."""
    inbox, _ = smtp
    polygon = {"type": "Polygon", "coordinates": [[[7.0025, 51.4380], [7.0050, 51.4380], [7.0050, 51.4395],
                                                   [7.0025, 51.4395], [7.0025, 51.4380]]]}
    areas = {
        "kreis@example.de": ({"point": [7.0045, 51.435], "radius_m": 500},
                             "Umkreis von 500 m um 51,43500° N, 7,00450° O",
                             "within 500 m of 51.43500° N, 7.00450° E"),
        "halb@example.de": ({"point": [7.0045, 51.435], "radius_m": 12.5},
                            "Umkreis von 12,5 m um", "within 12.5 m of"),
        "strasse@example.de": ({"street": "Rüttenscheider Straße", "city": "Essen"},
                               "Rüttenscheider Straße in Essen", "Rüttenscheider Straße in Essen"),
        "flaeche@example.de": (polygon, "eigenes Gebiet (Polygon)", "your own area (polygon)"),
    }
    for address, (area, _, _) in areas.items():
        subscribe(client, db, confirm=False, email=address, area=area)
    subscribe(client, db, confirm=False, email="english@example.de", area=areas["kreis@example.de"][0],
              language="en")
    run_jobs()
    for address, (_, german, english) in areas.items():
        [msg] = inbox.to(address)
        body, _footer = msg.get_content().split("\n\n--\n")  # the links, in both languages
        de, en = body.split("\n\n---\n\n")
        assert f"für folgendes Gebiet bestellt: {german}" in de, de
        assert f"for this area: {english}" in en, en
        for word in ("around", "own area", "polygon)", " E.", "Please"):
            assert word not in de, (address, word)
        for word in (" um ", "Umkreis", "eigenes", "Gebiet", " O.", "Bitte"):
            assert word not in en, (address, word)
    [msg] = inbox.to("english@example.de")
    first, second = msg.get_content().split("\n\n---\n\n")
    assert "within 500 m of 51.43500° N, 7.00450° E." in first and "Umkreis von 500 m um" in second
    # A confirmation queued by the previous version carries its ready-made label: it still goes out.
    links = {"manage": "https://m", "unsubscribe": "https://u"}
    assert "bestellt: 500 m um / around 51.43500 N, 7.00450 E." in render.confirmation_text(
        "https://c", links, "500 m um / around 51.43500 N, 7.00450 E", "de")


def test_change_of_email_needs_a_new_confirmation(client, db, smtp, run_jobs) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db)
    r = client.patch(f"/v1/subscriptions/{sub.token}", json={"email": "neu@example.de"})
    assert r.json()["status"] == "pending"
    run_jobs()
    # The first confirmation was still queued: it is cancelled, only the new address is asked.
    assert [m["To"] for m in inbox.messages] == ["neu@example.de"]
    assert sorted(d.status for d in deliveries(db)) == ["cancelled", "delivered"]


def test_far_away_subscription_is_not_noticed(client, db, city, smtp, run_jobs) -> None:
    near = subscribe(client, db)
    far = subscribe(client, db, email="far@example.de", area={"point": FAR_AWAY, "radius_m": 2000})
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    run_jobs()
    assert [n.kind for n in notices_of(db, near.id)] == ["confirmation", "request.created"]
    assert [n.kind for n in notices_of(db, far.id)] == ["confirmation"]


def test_a_webhook_url_that_cannot_be_parsed_names_the_field(client, db) -> None:
    for hooks in (["https://[zz/x"], [{"url": "https://[zz/x"}], ["https://hooks.example.org/a", "http://[::1"]):
        r = client.post("/v1/subscriptions", json=sub_body(webhooks=hooks))
        field = f"webhooks[{len(hooks) - 1}]"
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    assert db.scalar(select(func.count()).select_from(Subscription)) == 0
    sub = subscribe(client, db)
    r = client.patch(f"/v1/subscriptions/{sub.token}", json={"webhooks": ["https://[zz/x"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "webhooks[0]", r.text


def test_lead_days_are_a_number(client, db) -> None:
    for value in (True, "7"):
        r = client.post("/v1/subscriptions", json=sub_body(lead_days=value))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lead_days", r.text
    sub = subscribe(client, db)
    r = client.patch(f"/v1/subscriptions/{sub.token}", json={"lead_days": True})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lead_days", r.text


def test_tokens_with_control_characters_are_unknown(client, db) -> None:
    sub = subscribe(client, db)
    for method, path in (("POST", "/v1/subscriptions/confirm?token=%00a"),
                         ("GET", "/v1/subscriptions/confirm?token=a%00"),
                         ("GET", "/v1/subscriptions/sub_%00x"), ("DELETE", "/v1/subscriptions/sub_%00x"),
                         ("GET", "/v1/subscriptions/sub_%00x/calendar.ics"),
                         ("GET", "/v1/subscriptions/sub_%00x/feed.atom"),
                         ("GET", f"/v1/subscriptions/{sub.token}%00/calendar.ics")):
        r = client.request(method, path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json"), (
            method, path, r.text)
    r = client.patch("/v1/subscriptions/sub_%00x", json={"lead_days": 3})
    assert r.status_code == 404, r.text
    # one-click unsubscribe answers an unknown token as it answers a used one
    assert client.post("/v1/subscriptions/sub_%00x/unsubscribe").status_code == 200
    db.expire_all()
    assert db.get(Subscription, sub.id) is not None


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def test_a_used_or_unknown_confirmation_link_answers_a_page_in_the_browser(client, db) -> None:  # noqa: ANN001
    sub = subscribe(client, db, confirm=False)
    link = "/v1/subscriptions/confirm"
    first = client.get(link, params={"token": sub.confirm_token}, headers={"Accept": BROWSER_ACCEPT})
    assert first.status_code == 200 and "Abonnement bestätigt" in first.text
    for method, token in (("GET", sub.confirm_token), ("POST", sub.confirm_token), ("GET", "unknown")):
        page = client.request(method, link, params={"token": token}, headers={"Accept": BROWSER_ACCEPT})
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html"), page.text
        assert "Link schon benutzt oder ungültig" in page.text and "Link already used or invalid" in page.text
        assert page.text.index("schon benutzt") < page.text.index("already used")  # German first
    # API clients that ask for JSON (or say nothing) keep the problem details.
    for accept in ("application/json", "application/problem+json", "*/*", "text/html;q=0.5, application/json"):
        r = client.get(link, params={"token": sub.confirm_token}, headers={"Accept": accept})
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json"), accept
        assert r.json()["status"] == 404
