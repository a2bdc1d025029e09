"""E-mail through SMTP_URL (aiosmtplib): the status page's e-mail subscribers.

SMTP cannot be asked whether a message already went: a delivery cut short between the
server's "250 OK" and the outbox marking its row done is sent again. Each message's
Message-ID comes from its outbox key, so that second copy is the same message to
every mail client that de-duplicates (RFC 5322 3.6.4), never a new one.
"""

from __future__ import annotations

import hashlib
import logging
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

import aiosmtplib

from bot.incidents.chat import ChatError

log = logging.getLogger(__name__)


class SmtpMailer:
    def __init__(self, url: str, *, sender_host: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.port = parts.port
        self.use_tls = parts.scheme == "smtps"
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender_host = sender_host or "localhost"
        self.timeout = timeout

    async def send(self, to: str, subject: str, body: str, *, sender: str | None, key: str) -> str:
        """Send one message; returns its Message-ID. Raises ChatError: `connection_error`
        or `smtp_4xx` (try again later), `smtp_5xx` / `recipient_refused` (give up)."""
        msg = EmailMessage()
        msg["From"] = sender or f"status@{self.sender_host}"
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = formatdate(usegmt=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        msg["Message-ID"] = f"<{digest}@{self.sender_host}>"
        msg.set_content(body)
        try:
            await aiosmtplib.send(
                msg,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as e:
            raise ChatError("recipient_refused", str(e)) from None
        except aiosmtplib.SMTPResponseException as e:
            raise ChatError(f"smtp_{e.code}", e.message) from None
        except (aiosmtplib.SMTPException, OSError) as e:
            # Not connected, timed out, cut off: the server may come back.
            log.warning("smtp %s:%s unreachable: %s", self.host, self.port, type(e).__name__)
            raise ChatError("connection_error", type(e).__name__) from None
        return str(msg["Message-ID"])
