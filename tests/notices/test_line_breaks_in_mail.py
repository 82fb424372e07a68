"""A title stored with line breaks (before titles had to be one line) must not block an inbox: the subject of its
notice is put on one line, and a message that cannot be built or written at all fails for good at once, instead of
being retried for a day while every later notice of its inbox waits behind it."""

from __future__ import annotations

from email.mime.text import MIMEText

import pytest
from sqlalchemy import update

from service.notices import mail, render
from service.notices.models import Notice
from service.requests.models import SiteRequest
from tests.conftest import site_body
from tests.notices.helpers import deliveries, subscribe

EVIL = "Kanalbau Teil 1\r\nBcc: evil"  # ASCII: an address would be scrubbed to "[…]" and the subject B-encoded


def _site(client, db, city, title: str | None = None, **overrides) -> str:  # noqa: ANN001, ANN003
    """A site; ``title`` is then written into the database as an old version of the service could have stored it."""
    r = client.post("/v1/requests", json=site_body(**overrides), headers=city.headers)
    assert r.status_code == 201, r.text
    if title is not None:
        db.execute(update(SiteRequest).where(SiteRequest.id == r.json()["id"]).values(title=title))
        db.flush()
    return r.json()["id"]


def _notice_deliveries(db, request_id: str) -> list:  # noqa: ANN001
    ids = {n.id for n in db.query(Notice).filter(Notice.request_id == request_id)}
    return [d for d in deliveries(db) if d.notice_id in ids]


@pytest.mark.parametrize("breaks", ["\r\n", "\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"],
                         ids=["CRLF", "LF", "CR", "VT", "FF", "NEL", "LS", "PS"])
def test_a_stored_title_with_line_breaks_gives_a_one_line_subject(client, db, city, smtp, run_jobs,
                                                                   breaks: str) -> None:  # noqa: ANN001
    inbox, _ = smtp
    sub = subscribe(client, db)
    evil = _site(client, db, city, title=f"Kanalbau Teil 1 {breaks}{breaks} Bcc: evil")
    # as reported; the address in it is scrubbed as in every published title
    reported = _site(client, db, city, title=f"Gasleitung Teil 2{breaks}Bcc: evil@example.org", kind="gas")
    run_jobs()
    for rid in (evil, reported):
        [d] = _notice_deliveries(db, rid)
        assert (d.status, d.attempts, d.last_error) == ("delivered", 1, None)
    msgs = {m["Subject"]: m for m in inbox.to(sub.email) if m["Subject"].startswith("Neue Baustelle")}
    # the line breaks, with the spaces around them, became one space
    assert set(msgs) == {"Neue Baustelle geplant: Kanalbau Teil 1 Bcc: evil",
                         "Neue Baustelle geplant: Gasleitung Teil 2 Bcc: […]"}
    msg = msgs["Neue Baustelle geplant: Kanalbau Teil 1 Bcc: evil"]
    assert msg["Bcc"] is None
    assert "Wo: Kanalbau Teil 1 Bcc: evil\n" in msg.get_content()
    assert all(r == [sub.email] for r in inbox.recipients)


def test_a_message_that_cannot_be_built_fails_at_once_and_holds_nothing_back(client, db, city, smtp, run_jobs,
                                                                             monkeypatch) -> None:  # noqa: ANN001
    """Whatever a header may one day hold that the email package refuses (here: a line break, with the subject's
    flattening switched off), its message fails permanently on the first attempt, and the inbox's next notice goes
    out in the same round."""
    monkeypatch.setattr(render, "flatten_lines", lambda text: text)
    monkeypatch.setattr(mail, "flatten_lines", lambda text: text)
    inbox, _ = smtp
    sub = subscribe(client, db)
    broken = _site(client, db, city, title=EVIL)
    fine = _site(client, db, city, kind="gas")
    run_jobs()
    [d] = _notice_deliveries(db, broken)
    assert (d.status, d.attempts) == ("failed", 1)
    assert "HeaderParseError" in d.last_error
    [later] = _notice_deliveries(db, fine)
    assert later.status == "delivered"
    subjects = [m["Subject"] for m in inbox.to(sub.email)]
    assert subjects[-1] == "Neue Baustelle geplant: Kanalerneuerung Rüttenscheider Straße"
    assert not any("Bcc" in s for s in subjects)


def test_a_message_that_cannot_be_written_is_a_permanent_error_before_any_connection(settings, listener) -> None:  # noqa: ANN001
    msg = MIMEText("Text", "plain", "utf-8")
    msg["To"] = "info@example.de"
    msg["Subject"] = EVIL  # set directly: no flattening
    mailer = mail.Mailer(settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": listener.port}))
    with pytest.raises(mail.PermanentError, match="HeaderParseError"):
        mailer.send(msg)
    mailer.close()
    assert listener.accepted == 0


@pytest.mark.parametrize(("area", "field"), [
    ({"street": "Rüttenscheider Straße\r\nBcc: evil", "city": "Essen"}, "area.street"),
    ({"street": "Rüttenscheider Straße", "city": "Essen\u2028"}, "area.city"),
])
def test_a_street_area_is_one_line(client, area: dict, field: str) -> None:  # noqa: ANN001
    """The street and city are said in the confirmation and the welcome: one line each, like every name."""
    r = client.post("/v1/subscriptions", json={"email": "info@example.de", "area": area})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
