"""A long subject of umlauts is folded: RFC 2047 encoded words of at most 75 characters (section 2), header lines of
at most 78 (RFC 5322 2.1.1; never the 998 that a 300-character title of umlauts on one line would pass), and the
receiver decodes exactly the subject that was meant. Checked on the bytes as written for SMTP and on a message
received by a real SMTP server."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email import policy

import pytest
from sqlalchemy import update

from service.notices import mail
from service.requests.models import SiteRequest
from tests.conftest import site_body
from tests.notices.helpers import subscribe

ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
# 300 characters, the most a title may have, nearly all of them outside ASCII (up to four UTF-8 bytes each)
TITLES = {
    "umlauts": ("Kanalerneuerung Rüttenscheider Straße zwischen Müllerstraße und Äußerem Ring – Übergänge "
                * 4)[:300].strip(),
    "no spaces": ("ÄÖÜßäöü€–„“" * 30)[:300],
    "emoji and CJK": ("Baustelle 🚧 道路工事 Straße " * 20)[:300].strip(),
    "ascii": ("Kanalerneuerung Ruettenscheider Strasse, Abschnitt 3; Sperrung der Fahrbahn " * 4)[:300].strip(),
}


def _subject_lines(data: bytes) -> list[bytes]:
    """The lines of the Subject field as written: its first line and the continuation lines after it."""
    lines, found = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"), []
    for line in lines:
        if line.lower().startswith(b"subject:") or (found and line[:1] in (b" ", b"\t")):
            found.append(line)
        elif found:
            break
    return found


def _check(data: bytes, subject: str) -> None:
    lines = _subject_lines(data)
    assert len(lines) > 1 and max(len(line) for line in lines) <= 78, lines  # folded, as RFC 5322 recommends
    words = ENCODED_WORD.findall(b"".join(lines))
    assert all(len(word) <= 75 for word in words), [w for w in words if len(w) > 75]
    assert max(len(line) for line in data.split(b"\r\n")) <= 998  # RFC 5322's limit for every line
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert parsed["Subject"] == subject


@pytest.mark.parametrize("name", list(TITLES))
def test_a_long_subject_is_folded_into_encoded_words_that_decode_to_it(settings, name: str) -> None:  # noqa: ANN001
    subject = f"Neue Baustelle geplant: {TITLES[name]}"
    msg = mail.build(to="info@baeckerei-example.de", subject=subject, body="Wo: …\n", msg_id="<1@baustellen.ruhr>",
                     unsubscribe_url="https://example.org/u", settings=settings,
                     date=datetime(2026, 11, 21, tzinfo=UTC))
    _check(msg.as_bytes(policy=mail._WIRE), subject)  # what Mailer.send writes on the wire


def test_a_notice_of_a_long_title_arrives_folded_and_decodes_to_the_title(client, db, city, smtp, run_jobs,
                                                                          monkeypatch) -> None:  # noqa: ANN001
    inbox, _ = smtp
    raw: list[bytes] = []
    handle = inbox.handle_DATA

    async def keep_bytes(server, session, envelope):  # noqa: ANN001, ANN202
        raw.append(envelope.content)  # the bytes as they came over SMTP
        return await handle(server, session, envelope)

    monkeypatch.setattr(inbox, "handle_DATA", keep_bytes)
    sub = subscribe(client, db)
    r = client.post("/v1/requests", json=site_body(), headers=city.headers)
    assert r.status_code == 201, r.text
    title = TITLES["umlauts"]
    db.execute(update(SiteRequest).where(SiteRequest.id == r.json()["id"]).values(title=title))
    db.flush()
    run_jobs()
    [data] = [d for d in raw
              if email.message_from_bytes(d, policy=policy.default)["Subject"].startswith("Neue Baustelle")]
    _check(data, f"Neue Baustelle geplant: {title}")
    assert [m["Subject"] for m in inbox.to(sub.email)][-1] == f"Neue Baustelle geplant: {title}"
