"""A local SMTP server for the tests (aiosmtpd, in the test's own event loop): it keeps
every message it accepted, so a test can count what each subscriber received."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Mail:
    sender: str
    to: tuple[str, ...]
    message: Message

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def body(self) -> str:
        payload = self.message.get_payload(decode=True)
        return payload.decode() if isinstance(payload, bytes) else str(payload)


class SmtpServer:
    def __init__(self) -> None:
        self.mails: list[Mail] = []
        # Told of each accepted message before the client hears "250" (a crash test
        # kills the sender there: accepted, but not known to the sender to be).
        self.on_accepted: Callable[[Mail], None] | None = None
        # Told of each recipient named (RCPT TO), before the message is sent.
        self.on_rcpt: Callable[[str], None] | None = None
        # Answer "451 try again later" to this many messages first.
        self.busy = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.on_rcpt is not None:
            self.on_rcpt(address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.busy > 0:
            self.busy -= 1
            return "451 4.3.0 try again later"
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        mail = Mail(
            str(envelope.mail_from),
            tuple(str(r) for r in envelope.rcpt_tos),
            message_from_bytes(raw),
        )
        self.mails.append(mail)
        if self.on_accepted is not None:
            self.on_accepted(mail)
        return "250 OK"

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.to]

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        def protocol() -> Any:
            return SMTP(self, hostname="smtp.test", loop=loop)

        self._server = await loop.create_server(protocol, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
