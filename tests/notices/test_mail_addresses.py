"""Addresses with umlauts, and one message's failure never being another's (a real SMTP server, aiosmtpd).

An internationalised domain ("info@bäckerei.de", common for German shops) gets its mail at the domain's IDNA form
("info@xn--bckerei-5wa.de"). An address whose local part is not ASCII would need SMTPUTF8: it is refused at
subscription time, and one stored before that fails for good on its own. Whatever goes wrong while one message
is sent, the next message on the same connection goes out."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime

import pytest

from service.notices import mail
from tests.conftest import site_body
from tests.notices.helpers import deliveries, sub_body, subscribe

IDN = "info@bäckerei.de"
IDN_WIRE = "info@xn--bckerei-5wa.de"


def _message(to: str, settings, n: int) -> object:  # noqa: ANN001
    return mail.build(to=to, subject=f"Hinweis {n}", body=f"Text {n}", msg_id=f"<m{n}@baustellen.example>",
                      unsubscribe_url="https://baustellen.example/u", settings=settings, date=datetime.now(UTC))


def test_an_idn_domain_gets_its_mail_at_its_punycode_form(client, db, city, smtp, run_jobs) -> None:  # noqa: ANN001
    inbox, _ = smtp
    sub = subscribe(client, db, email=IDN)
    assert sub.email == IDN  # stored as given (Unicode): the subscriber reads their own address
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    stats = run_jobs()
    assert stats.failed == 0 and stats.delivered == 2  # the confirmation and the notice
    assert inbox.recipients == [[IDN_WIRE], [IDN_WIRE]]
    assert [m["To"] for m in inbox.messages] == [IDN_WIRE, IDN_WIRE]
    assert {d.status for d in deliveries(db)} == {"delivered"}


@pytest.mark.parametrize("address", ["jürgen@example.de", "jürgen@bäckerei.de"])
def test_an_address_with_a_non_ascii_local_part_is_refused(client, db, address: str) -> None:  # noqa: ANN001
    """It could be reached only with SMTPUTF8, which the relay may not offer: its confirmation would never
    arrive, so the subscriber hears of it now (422 naming ``email``), on creation and on a change of address."""
    r = client.post("/v1/subscriptions", json=sub_body(email=address))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "email" and "ASCII" in r.json()["errors"][0]["detail"]
    sub = subscribe(client, db)
    r = client.patch(f"/v1/subscriptions/{sub.token}", json={"email": address})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "email", r.text


def test_a_message_that_cannot_be_encoded_does_not_fail_the_next(client, db, smtp, factory, mail_settings,
                                                                 run_jobs) -> None:  # noqa: ANN001
    """Three confirmations in one batch over one SMTP connection. The first goes to an address with an umlaut in
    its local part (stored before such addresses were refused): it fails for good, alone. The umlaut domain after
    it and a plain address get their mail; before, the first was retried for ever while the second got "503
    nested MAIL command" and was marked failed, never retried."""
    inbox, _ = smtp
    legacy = subscribe(client, db, confirm=False, email="juergen@example.de")
    [first] = deliveries(db)
    first.inbox = "jürgen@example.de"  # as a subscription of the previous version queued it
    db.flush()
    subscribe(client, db, confirm=False, email=IDN)
    subscribe(client, db, confirm=False, email="info@baeckerei-example.de")
    stats = run_jobs()
    assert (stats.delivered, stats.failed, stats.retried) == (2, 1, 0)
    by_inbox = {d.inbox: d for d in deliveries(db)}
    assert by_inbox["jürgen@example.de"].status == "failed" and by_inbox["jürgen@example.de"].attempts == 1
    assert "SMTPUTF8" in by_inbox["jürgen@example.de"].last_error
    assert by_inbox[IDN].status == by_inbox["info@baeckerei-example.de"].status == "delivered"
    assert inbox.recipients == [[IDN_WIRE], ["info@baeckerei-example.de"]]
    assert legacy.status == "pending"


def test_any_failure_inside_the_smtp_session_leaves_the_next_message_unharmed(smtp, mail_settings,
                                                                              monkeypatch) -> None:  # noqa: ANN001
    """An exception raised by smtplib half way through a message (here: an address that does not encode, after
    MAIL FROM was sent) is that message's failure alone: the session is not reused in an unknown state, the next
    message is delivered on the same Mailer."""
    inbox, _ = smtp
    mailer = mail.Mailer(mail_settings)
    try:
        mailer.send(_message("a@example.de", mail_settings, 1))  # the connection is open now
        monkeypatch.setattr(mail, "ascii_address", lambda address: address)  # let the address reach smtplib
        with pytest.raises(mail.PermanentError, match="UnicodeEncodeError"):
            mailer.send(_message("jürgen@example.de", mail_settings, 2))
        mailer.send(_message("b@example.de", mail_settings, 3))
        mailer.send(_message(IDN_WIRE, mail_settings, 4))
    finally:
        mailer.close()
    assert [m["Subject"] for m in inbox.messages] == ["Hinweis 1", "Hinweis 3", "Hinweis 4"]
    assert inbox.recipients == [["a@example.de"], ["b@example.de"], [IDN_WIRE]]


def test_a_connection_out_of_step_is_not_the_next_message_s_permanent_failure(smtp, mail_settings) -> None:  # noqa: ANN001
    """A session left in the middle of a transaction (MAIL FROM sent, nothing after it): the server answers the
    next MAIL FROM with "503 nested MAIL command". That says nothing about the message: it goes out on a fresh
    connection instead of being marked failed for good."""
    inbox, _ = smtp
    mailer = mail.Mailer(mail_settings)
    try:
        mailer.send(_message("a@example.de", mail_settings, 1))
        conn = mailer._conn
        assert isinstance(conn, smtplib.SMTP)
        assert conn.mail("x@example.de")[0] == 250  # a transaction left open behind the Mailer's back
        mailer.send(_message("b@example.de", mail_settings, 2))
    finally:
        mailer.close()
    assert [m["Subject"] for m in inbox.messages] == ["Hinweis 1", "Hinweis 2"]

