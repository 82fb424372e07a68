"""Email: building a notice message and sending it over one reused SMTP connection."""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.charset import BASE64, Charset
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from functools import cache

from email_validator import EmailNotValidError, validate_email

from service.kit.types import flatten_lines
from service.settings import Settings

_CHARSET = Charset("utf-8")
_CHARSET.body_encoding = BASE64
_CHARSET_HEADER = Charset("utf-8")
_CHARSET_HEADER.header_encoding = BASE64  # B encoding, as before: choosing the shorter of Q and B costs twice the time
_WIRE = compat32.clone(linesep="\r\n", max_line_length=998)  # smtplib leaves bare LFs in bytes as they are
# Subject and sender name are folded onto lines of at most 76 characters (RFC 5322 recommends 78), which keeps each
# RFC 2047 encoded word at most 75 (RFC 2047 section 2). The other headers are left on one line (998: RFC 5322's
# limit): a List-Unsubscribe URL cannot be folded, and moved onto a line of its own it would read " <https://…>".
FOLD = 76


class _Folded(Header):
    """An :class:`email.header.Header` folded at :data:`FOLD` whatever line length the writing policy gives it."""

    def encode(self, splitchars: str = ";, \t", maxlinelen: int | None = None, linesep: str = "\n") -> str:
        return super().encode(splitchars, FOLD, linesep)


def message_id(delivery_id: object, settings: Settings) -> str:
    """Stable per delivery, so a retry carries the same Message-ID and the receiver can drop the copy."""
    domain = parseaddr(settings.mail_from)[1].partition("@")[2] or "baustellen.ruhr"
    return f"<{delivery_id}@{domain}>"


def build(
    *, to: str, subject: str, body: str, msg_id: str, unsubscribe_url: str, settings: Settings, date: datetime,
) -> Message:
    """A text/plain UTF-8 message (base64 body). Built with the compat32 email API: several times faster than
    ``EmailMessage``, which matters for 10,000-message batches. The subject is put on one line (``flatten_lines``): a
    line break in a header would begin another header; it is folded, and written as RFC 2047 encoded words when it is
    not ASCII (:func:`encode_words`)."""
    msg = MIMEText(body, "plain", _CHARSET)
    msg["From"] = _from_header(settings.mail_from)
    msg["To"] = ascii_address(to)
    msg["Subject"] = encode_words(flatten_lines(subject), "Subject")
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = msg_id
    # RFC 8058 one-click unsubscribe (plus RFC 2369 List-Unsubscribe).
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg["Content-Language"] = "de, en"
    return msg


def encode_words(text: str, header_name: str) -> Header:
    """``text`` as the value of the header ``header_name``, folded onto lines of at most :data:`FOLD` characters
    by the email package (:class:`email.header.Header`): ASCII at its spaces, anything else as RFC 2047 encoded
    words of UTF-8 (whole characters each, at most 75 characters a word). On one line, a 300-character title of
    umlauts would be longer than the 998 characters RFC 5322 (and SMTP) allow."""
    return _Folded(text, "us-ascii" if text.isascii() else _CHARSET_HEADER, header_name=header_name)


@cache
def _from_header(mail_from: str) -> str | Header:
    name, address = parseaddr(mail_from)
    if name.isascii():
        return formataddr((name, address))
    value = _Folded(name, _CHARSET_HEADER, header_name="From")
    value.append(f"<{address}>", "us-ascii")
    return value


class PermanentError(Exception):
    """The message cannot be delivered, for good: the server refused it (5xx), its address cannot be written in
    an SMTP envelope this service sends, or the message itself cannot be built or written (a header or text the
    email package refuses: it would refuse it on every retry). Retrying will not help; other messages are not
    concerned."""


def ascii_address(address: str) -> str:
    """The address as it goes on the wire (envelope and ``To``): an internationalised domain IDNA-encoded
    ("info@bäckerei.de" → "info@xn--bckerei-5wa.de"), as every mail server understands it. A local part that is
    not ASCII would need SMTPUTF8: subscriptions refuse such addresses (``schemas.ascii_mailbox``); one stored
    before that is a permanent failure of its own messages."""
    if address.isascii():
        return address
    try:
        ascii_email = validate_email(address, check_deliverability=False).ascii_email
    except EmailNotValidError as exc:
        raise PermanentError(f"invalid address {address!r}: {exc}") from exc
    if ascii_email is None:
        raise PermanentError(f"address {address!r} has a non-ASCII local part: it needs SMTPUTF8, not sent")
    return ascii_email


class Mailer:
    """One SMTP connection for a whole batch (STARTTLS and login when configured); reconnects once if the
    server dropped it."""

    def __init__(self, settings: Settings, timeout: float = 30.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None
        self.sender = parseaddr(settings.mail_from)[1]

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self.timeout)
        if s.smtp_starttls:
            conn.starttls(context=ssl.create_default_context())
        if s.smtp_user:
            conn.login(s.smtp_user, s.smtp_password or "")
        return conn

    def send(self, msg: Message) -> None:
        """Send one message. Whatever goes wrong with it leaves the connection fit for the next message, or drops
        it (the next one connects anew): a failure of one message is that message's alone. A 5xx answer to this
        message is permanent (:class:`PermanentError`), except 503 "bad sequence of commands", which says the
        session was out of step, not that the message is bad: then once more on a fresh connection."""
        try:
            to = ascii_address(msg["To"])
            data = msg.as_bytes(policy=_WIRE)
        except PermanentError:
            raise
        except Exception as exc:  # e.g. HeaderParseError, UnicodeError: the same on every retry
            raise PermanentError(f"message cannot be written: {type(exc).__name__}: {exc}") from exc
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._conn.sendmail(self.sender, [to], data)
                return
            except smtplib.SMTPServerDisconnected:
                self._drop()
                if attempt == 2:
                    raise
            except smtplib.SMTPHeloError:  # the greeting failed: the connection's trouble, not the message's
                self._drop()
                raise
            except smtplib.SMTPRecipientsRefused as exc:  # smtplib reset the session (RSET) or closed it (421)
                codes = [code for code, _ in exc.recipients.values()]
                if 421 in codes:
                    self._drop()
                if codes and all(500 <= c < 600 for c in codes):
                    raise PermanentError(str(exc)) from exc
                raise
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code == 503:  # out of sequence: the session's fault, not this message's
                    self._drop()
                    if attempt == 2:
                        raise
                    continue
                if 500 <= exc.smtp_code < 600:  # smtplib reset the session (RSET): it serves the next message
                    raise PermanentError(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
                self.close()
                raise
            except Exception as exc:
                # Anything else (a text that does not encode, a socket error or timeout) may leave the session
                # anywhere between MAIL FROM and the end of DATA: never reuse it for another message.
                self._drop()
                if isinstance(exc, UnicodeError):
                    raise PermanentError(f"{type(exc).__name__}: {exc}") from exc
                raise

    def _drop(self) -> None:
        """Forget the connection without a word to the server (its state is unknown): close the socket."""
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
            self._conn = None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._conn = None
