"""The "Abonnement verwalten" link in a browser: a plain HTML page with the subscription and a form (no
JavaScript) that saves through the same logic as the PATCH; JSON clients keep getting JSON; a form posted from
another site is refused."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import func, select

from service.notices.models import Subscription
from tests.conftest import site_body
from tests.notices.helpers import subscribe
from tests.notices.test_subscriptions import BROWSER_ACCEPT

BROWSER = {"Accept": BROWSER_ACCEPT}


def _own_origin(settings) -> str:  # noqa: ANN001
    parts = urlsplit(settings.public_url)
    return f"{parts.scheme}://{parts.netloc}"


def _varies_by_accept(response) -> bool:  # noqa: ANN001
    return "accept" in [v.strip().lower() for v in response.headers.get("vary", "").split(",")]


def _form(page: str, action_end: str) -> tuple[str, str]:
    """The action and the inside of the page's form that posts to ``…/<action_end>``."""
    match = re.search(r"<form method=post action='([^']*/" + action_end + r")'>(.*?)</form>", page, re.S)
    assert match, page
    return match.group(1), match.group(2)


def _path(url: str) -> str:
    return urlsplit(url).path


def test_the_manage_link_shows_a_page_in_the_browser_and_json_to_api_clients(client, db, settings) -> None:  # noqa: ANN001
    sub = subscribe(client, db, kinds=["sewer", "gas"], min_impact="lane_reduction", lead_days=14)
    r = client.get(f"/v1/subscriptions/{sub.token}", headers=BROWSER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), r.text
    page = r.text
    assert "<script" not in page
    for expected in ("Ihr Abonnement für Baustellenhinweise", "info@baeckerei-example.de",
                     "Umkreis von 300 m um 51,43900° N, 7,00060° O", "within 300 m of 51.43900° N, 7.00060° E",
                     "Gasleitung, Kanalbau", "gas main, sewer works", "Fahrstreifen eingeengt",
                     "14 Tage vor Baubeginn", "sofort, jeder Hinweis einzeln", "Deutsch zuerst"):
        assert expected in page, expected
    assert page.index("Ihr Abonnement") < page.index("Your construction site notices")  # German first
    assert f"/v1/subscriptions/{sub.token}/calendar.ics" in page and f"/v1/subscriptions/{sub.token}/feed.atom" in page
    # A form per action, labelled fields, the current values chosen.
    action, form = _form(page, "settings")
    assert action == f"{settings.public_url}/v1/subscriptions/{sub.token}/settings"  # the emails' address
    assert "<input type=radio id=delivery-immediate name=delivery value=immediate checked>" in form
    assert "<label for=lead_days>" in form and "name=lead_days type=number min=0 max=365" in form
    assert "value=14>" in form and "<option value='lane_reduction' selected>" in form
    unsubscribe, _ = _form(page, "unsubscribe")
    assert unsubscribe == f"{settings.public_url}/v1/subscriptions/{sub.token}/unsubscribe"
    # The token is the secret: the page is neither cached, framed nor passed on as a referrer.
    assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"] and _varies_by_accept(r)

    for accept in (None, "*/*", "application/json", "text/html;q=0.5, application/json"):
        r = client.get(f"/v1/subscriptions/{sub.token}", headers={"Accept": accept} if accept else {})
        assert r.status_code == 200 and r.headers["content-type"] == "application/json", accept
        assert r.json()["lead_days"] == 14 and _varies_by_accept(r)

    unknown = client.get("/v1/subscriptions/sub_unknown", headers=BROWSER)
    assert unknown.status_code == 404 and "Abonnement nicht gefunden" in unknown.text
    assert client.get("/v1/subscriptions/sub_unknown").headers["content-type"] == "application/problem+json"


def test_the_form_saves_like_the_patch_and_shows_the_page_again(client, db, city, settings, smtp, run_jobs
                                                                ) -> None:  # noqa: ANN001
    """The bakery switches from the daily digest to immediate notices and shortens the lead time: the page
    says it is saved, and what waited for the digest goes out at once (the PATCH's logic)."""
    inbox, _ = smtp
    sub = subscribe(client, db, delivery="daily")
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    run_jobs()
    assert [m["Subject"] for m in inbox.messages][1:] == []  # waits for the digest
    action = _path(_form(client.get(f"/v1/subscriptions/{sub.token}", headers=BROWSER).text, "settings")[0])

    r = client.post(action, data={"delivery": "immediate", "lead_days": "3", "language": "de", "min_impact": ""},
                    headers={**BROWSER, "Origin": _own_origin(settings)})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), r.text
    assert "<p role=status><strong>Gespeichert. Ihre Einstellungen gelten ab sofort." in r.text
    assert "Saved. Your settings apply from now on." in r.text
    assert "<input type=radio id=delivery-immediate name=delivery value=immediate checked>" in r.text
    assert "3 Tage vor Baubeginn" in r.text
    db.refresh(sub)
    assert (sub.delivery, sub.lead_days) == ("immediate", 3)
    run_jobs()
    [catch_up] = inbox.messages[1:]
    assert catch_up.get_content().startswith("Übersicht bis zur Umstellung: 1 Hinweis\n")

    # Only the fields sent change; an empty least restriction means any.
    r = client.post(action, data={"min_impact": "full_closure"}, headers=BROWSER)  # no Origin: an older browser
    assert r.status_code == 200 and "<option value='full_closure' selected>" in r.text
    db.refresh(sub)
    assert (sub.delivery, sub.lead_days, sub.min_impact_rank) == ("immediate", 3, 4)
    client.post(action, data={"min_impact": ""}, headers=BROWSER)
    db.refresh(sub)
    assert sub.min_impact_rank == 0
    # A client that asks for JSON gets the subscription, as from the PATCH.
    r = client.post(action, data={"language": "en"})
    assert r.status_code == 200 and r.json()["language"] == "en" and r.json()["lead_days"] == 3


def test_a_wrong_value_is_named_on_the_page_and_nothing_is_saved(client, db) -> None:  # noqa: ANN001
    sub = subscribe(client, db, lead_days=14)
    action = f"/v1/subscriptions/{sub.token}/settings"
    for data in ({"lead_days": "400"}, {"lead_days": "drei"}, {"lead_days": ""}, {"lead_days": "-1"},
                 {"delivery": "hourly", "lead_days": "3"}, {"min_impact": "everything"}):
        r = client.post(action, data=data, headers=BROWSER)
        assert r.status_code == 422 and r.headers["content-type"].startswith("text/html"), (data, r.text)
        assert "<div role=alert><p><strong>Nicht gespeichert" in r.text, data
        db.refresh(sub)
        assert (sub.lead_days, sub.delivery, sub.min_impact_rank) == (14, "immediate", 0), data
    r = client.post(action, data={"lead_days": "400"}, headers=BROWSER)
    assert "Vorlauf: bitte eine ganze Zahl von 0 bis 365 Tagen angeben" in r.text
    assert "Lead time: please give a whole number of days from 0 to 365" in r.text
    # Each field is named by the page's own word for it, not by the label of its form control.
    r = client.post(action, data={"min_impact": "everything", "delivery": "hourly"}, headers=BROWSER)
    assert "Einschränkung: bitte eine der angebotenen Einschränkungen wählen" in r.text
    assert "Restriction: please choose one of the restrictions offered" in r.text
    assert "Zustellung: bitte sofort, täglich oder wöchentlich wählen" in r.text
    assert "Mindestens diese Einschränkung: bitte" not in r.text
    r = client.post(action, data={"lead_days": "400"}, headers={"Accept": "application/json"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "lead_days"
    assert client.post("/v1/subscriptions/sub_unknown/settings", data={"lead_days": "3"},
                       headers=BROWSER).status_code == 404


def test_a_form_posted_from_another_site_is_refused(client, db, settings) -> None:  # noqa: ANN001
    sub = subscribe(client, db, lead_days=14)
    action = f"/v1/subscriptions/{sub.token}/settings"
    own = urlsplit(settings.public_url)
    for origin in ("https://evil.example", "null", f"{own.scheme}://{own.hostname}:1",
                   f"{'https' if own.scheme == 'http' else 'http'}://{own.netloc}"):
        r = client.post(action, data={"lead_days": "0", "delivery": "weekly"}, headers={**BROWSER, "Origin": origin})
        assert r.status_code == 403 and "Nicht gespeichert" in r.text, origin
        r = client.post(action, data={"lead_days": "0"}, headers={"Origin": origin, "Accept": "application/json"})
        assert r.status_code == 403 and r.json()["status"] == 403, origin
    db.refresh(sub)
    assert (sub.lead_days, sub.delivery) == (14, "immediate")
    r = client.post(action, data={"lead_days": "0"}, headers={**BROWSER, "Origin": _own_origin(settings).upper()})
    assert r.status_code == 200  # scheme and host compare without case


def test_the_page_of_an_unconfirmed_subscription_and_its_unsubscribe_button(client, db, receiver) -> None:  # noqa: ANN001
    sub = subscribe(client, db, confirm=False, webhooks=[receiver.url + "?a=<b>"])
    page = client.get(f"/v1/subscriptions/{sub.token}", headers=BROWSER).text
    assert "noch nicht bestätigt" in page and "not confirmed yet" in page
    assert "calendar.ics" not in page  # the feeds answer 409 until it is confirmed
    assert "?a=&lt;b&gt;" in page and "<b>" not in page  # what the subscriber typed is escaped
    assert "whsec_" not in page
    action, form = _form(page, "unsubscribe")
    fields = dict(re.findall(r"<input type=hidden name=([^ ]+) value=([^>]+)>", form))
    r = client.post(_path(action), data=fields, headers=BROWSER)
    assert r.status_code == 200 and "Sie sind abgemeldet" in r.text
    db.expunge_all()
    assert db.scalar(select(func.count()).select_from(Subscription)) == 0
