"""E-mail: the document as a PDF attachment of a multipart text + HTML message in the
customer's language, over real SMTP (aiosmtplib), TLS / STARTTLS and authentication
from settings.

The worker keeps ``smtp_connections`` connections open and sends one message at a
time on each (a new connection per message would cost a TCP + TLS handshake and an
EHLO each time). A connection the server has closed is opened again once; a server
that cannot be reached, refuses our sender or our login, or answers 421 makes the
channel unavailable (the partition waits, see ``domain/outcomes.py``). A MAIL FROM
refused for the message's declared SIZE (552) fails that one document
(``message-too-large``): the SIZE is declared on every mail, the first of a
connection included.

Rendering (the PDF and the message around it, about 3 ms a document, far more than
its SMTP exchange) is done once per document and stored (:mod:`services.dispatch.prerender`):
ahead of the send while the document waits, else by the first attempt; the sending
path reads the stored message and adds only its Date header.

Reply codes decide the rest (RFC 5321): 5xx for the recipient or the message is
permanent (the address is refused: the clerk fixes the card), 4xx is transient for this
document (retried later from the retry table).

The envelope (MAIL FROM, RCPT TO) carries the addresses in their ASCII form, the domain
IDNA-encoded as in the headers (``matti@yhtiö.fi`` -> ``matti@xn--yhti-8qa.fi``; the
attempt row keeps the address as the customer card has it). A recipient that has no
ASCII form (a non-ASCII local part would need SMTPUTF8 end to end) fails its one
document for good (``address-invalid``), never the channel; the sender is checked when
the channel starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Mapping
from email.utils import parseaddr
from typing import Any

import aiosmtplib
from aiosmtplib.protocol import normalize_message_line_endings

from services.dispatch import formats
from services.dispatch.channels.base import Refused, Rendered, clean_reason
from services.dispatch.channels.render_code import renderer_code
from services.dispatch.config import Settings
from services.dispatch.domain.documents import Document
from services.dispatch.domain.outcomes import ChannelUnavailable, Delivered, Failed, Outcome
from services.dispatch.domain.requirements import NO_EMAIL, channel_problem
from services.dispatch.prerender import Prepared
from services.dispatch.render.mail import with_date
from services.dispatch.repositories import Claim
from shared.events.customers import Channel

log = logging.getLogger(__name__)


_UNREACHABLE = (
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPConnectTimeoutError,
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPTimeoutError,
    aiosmtplib.SMTPNotSupported,
    OSError,
    TimeoutError,
)


def classify(exc: Exception) -> Failed | ChannelUnavailable:
    """What an SMTP error means for the document (see the module docstring). The
    server's text is not kept: it may quote the address."""
    if isinstance(exc, ValueError):
        # the recipient has no ASCII envelope form (formats.BadAddress, or what
        # aiosmtplib's rcpt() raises: UnicodeEncodeError, a control character): this
        # document's address, never the channel (the sender is checked at start)
        return Failed(
            "address-invalid",
            "the customer's e-mail address cannot be used in the SMTP envelope",
            True,
            type(exc).__name__,
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients] or [550]
        code = min(codes)
        if code >= 500:
            return Failed(
                "address-refused", f"the mail server refused the recipient (SMTP {code})", True, f"SMTP {code}"
            )
        return Failed(
            "recipient-deferred", f"the mail server deferred the recipient (SMTP {code})", False, f"SMTP {code}"
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        if exc.code >= 500:
            return Failed(
                "address-refused", f"the mail server refused the recipient (SMTP {exc.code})", True, f"SMTP {exc.code}"
            )
        return Failed(
            "recipient-deferred", f"the mail server deferred the recipient (SMTP {exc.code})", False, f"SMTP {exc.code}"
        )
    if isinstance(exc, aiosmtplib.SMTPSenderRefused) and _too_large(exc):
        # the MAIL FROM refused for the SIZE declared: this message, not us
        return Failed(
            "message-too-large", f"the mail server refused the message as too large (SMTP {exc.code})", True,
            f"SMTP {exc.code}",
        )  # fmt: skip
    if isinstance(exc, aiosmtplib.SMTPSenderRefused | aiosmtplib.SMTPAuthenticationError | aiosmtplib.SMTPHeloError):
        return ChannelUnavailable(
            "smtp-refuses-us", f"{type(exc).__name__} (SMTP {exc.code})", f"{type(exc).__name__}, SMTP {exc.code}"
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if exc.code == 421:
            return ChannelUnavailable("smtp-unavailable", "the mail server is not available (SMTP 421)", "SMTP 421")
        if exc.code >= 500:
            return Failed(
                "message-refused", f"the mail server refused the message (SMTP {exc.code})", True, f"SMTP {exc.code}"
            )
        return Failed(
            "message-deferred", f"the mail server deferred the message (SMTP {exc.code})", False, f"SMTP {exc.code}"
        )
    if isinstance(exc, _UNREACHABLE):
        return ChannelUnavailable(
            "smtp-unreachable", f"cannot reach the mail server ({type(exc).__name__})", type(exc).__name__
        )
    return ChannelUnavailable("smtp-error", type(exc).__name__, type(exc).__name__)


def _too_large(exc: aiosmtplib.SMTPResponseException) -> bool:
    """552 (RFC 1870: the declared SIZE exceeds the limit) or a 5xx with the enhanced
    status 5.3.4 (message too big for the system)."""
    return exc.code == 552 or (exc.code >= 500 and exc.message.lstrip().startswith("5.3.4"))


async def _transfer(client: aiosmtplib.SMTP, message: bytes, sender: str, recipient: str) -> None:
    """One mail transaction for one recipient (MAIL, RCPT, DATA): what
    ``SMTP.sendmail`` does, without its per-mail costs that buy nothing here: a
    rendered message already has CRLF lines, so its SIZE is its length (sendmail runs
    a regex over the whole message for it, and once more to send it). Both addresses
    go in their ASCII form (:func:`formats.envelope_address`); a recipient without one
    raises :class:`formats.BadAddress` (a ``ValueError``) before anything is sent.
    Returns only when the server accepted the message (250 to the data); raises what
    ``sendmail`` raises otherwise (a refused recipient:
    :class:`aiosmtplib.SMTPRecipientRefused`), after an RSET."""
    sender = formats.envelope_address(sender, "the sender")
    recipient = formats.envelope_address(recipient, "the customer's e-mail")
    options: list[str] = []
    # the greeting first: its extensions decide SIZE (a connection without STARTTLS or
    # login has not said EHLO yet; mail() would, only after the options were chosen)
    await client._ehlo_or_helo_if_needed()
    if client.supports_extension("size"):
        crlf = message.count(b"\r\n")
        exact = message.count(b"\n") == crlf and message.count(b"\r") == crlf and message.endswith(b"\r\n")
        size = len(message) if exact else len(normalize_message_line_endings(message))
        options.append(f"SIZE={size}")
    try:
        await client.mail(sender, options=options)
        await client.rcpt(recipient)
        await client.data(message)
    except (aiosmtplib.SMTPResponseException, ValueError):
        # reset the envelope for the connection's next mail (as sendmail does)
        with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
            await client.rset()
        raise


class SmtpPool:
    """``size`` SMTP connections, opened when first needed, one message at a time each."""

    def __init__(self, settings: Settings) -> None:
        self._s = settings
        self._size = max(1, settings.smtp_connections)
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        for _ in range(self._size):
            self._idle.put_nowait(self._client())

    def _client(self) -> aiosmtplib.SMTP:
        s = self._s
        # with a username, connect() also logs in (after STARTTLS when it is used)
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_use_tls,
            start_tls=s.smtp_start_tls,
            validate_certs=s.smtp_validate_certs,
            cert_bundle=s.smtp_ca_file,
            timeout=s.smtp_timeout_s,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
        )

    async def send(self, message: bytes, sender: str, recipient: str) -> None:
        client = await self._idle.get()
        try:
            for attempt in (1, 2):
                if not client.is_connected:
                    await client.connect()
                try:
                    await _transfer(client, message, sender, recipient)
                except aiosmtplib.SMTPServerDisconnected:
                    # an idle connection the server closed: open it again, once
                    with contextlib.suppress(Exception):
                        client.close()
                    if attempt == 2:
                        raise
                    continue
                return
        except BaseException:
            # a connection in an unknown state is not reused as it is
            with contextlib.suppress(Exception):
                client.close()
            raise
        finally:
            self._idle.put_nowait(client)

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.quit(), timeout=2)
            with contextlib.suppress(Exception):
                client.close()


class EmailChannel:
    name: Channel = "email"

    def __init__(self, settings: Settings) -> None:
        self._s = settings
        self._pool: SmtpPool | None = None
        self._sender = ""

    async def start(self) -> None:
        # the envelope sender: its ASCII form, or the worker does not start (a setting)
        self._sender = formats.envelope_address(parseaddr(self._s.mail_from)[1], "DISPATCH_MAIL_FROM")
        self._pool = SmtpPool(self._s)

    async def stop(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def render_key(self, recipient: Mapping[str, Any] | None) -> str:
        """What a stored render must have been made for to be sent as it is: the
        recipient data of the attempt (None: the snapshot taken at issue), the sender
        settings and what renders it (:mod:`services.dispatch.channels.render_code`; the
        document itself never changes)."""
        s = self._s
        parts = [renderer_code(), s.mail_from, s.mail_sender_name, s.mail_reply_to, s.message_id_domain, recipient]
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]

    def prepare(self, document_id: str, doc: Document, recipient: Mapping[str, Any] | None = None) -> Prepared:
        """The e-mail as it is stored ahead of sending: flattened, without its Date."""
        problem = channel_problem("email", doc.customer.data)
        if problem is not None:
            raise Refused.of(problem)
        pdf = formats.pdf(doc)
        try:
            message = formats.email(
                doc,
                pdf,
                document_id=document_id,
                sender=self._s.mail_from,
                sender_name=self._s.mail_sender_name,
                reply_to=self._s.mail_reply_to,
                message_id_domain=self._s.message_id_domain,
                dated=False,
            )
        except formats.NoAddress:
            raise Refused.of(NO_EMAIL) from None
        return Prepared(
            key=self.render_key(recipient),
            content=formats.email_bytes(message),
            receipt=str(message["Message-ID"]),
            address=(doc.customer.data.email or "").strip(),
        )

    def render(self, document_id: str, doc: Document) -> Rendered:
        prepared = self.prepare(document_id, doc)
        return Rendered(
            file_name=f"{document_id}.eml",
            content_type="message/rfc822",
            content=with_date(prepared.content),
            receipt=prepared.receipt,
            recipient=prepared.address,
        )

    async def send_prepared(self, claim: Claim, prepared: Prepared) -> Outcome:
        """Send a stored render, dated now."""
        return await self.deliver(
            claim,
            Rendered(
                file_name=f"{claim.id}.eml",
                content_type="message/rfc822",
                content=with_date(prepared.content),
                receipt=prepared.receipt,
                recipient=prepared.address,
            ),
        )

    async def deliver(self, claim: Claim, rendered: Rendered) -> Outcome:
        assert self._pool is not None, "the channel is not started"
        assert rendered.recipient is not None
        try:
            await self._pool.send(rendered.content, self._sender, rendered.recipient)
        except Exception as exc:
            verdict = classify(exc)
            if isinstance(verdict, ChannelUnavailable):
                raise verdict from None
            return Failed(verdict.code, clean_reason(verdict.reason), verdict.permanent, verdict.detail)
        return Delivered(rendered.receipt)
