"""Who else hears of each publication: the policy's Slack channels (a channel shared
with a customer) and e-mail addresses. Each delivery is an outbox row keyed by the
publication and the subscriber, written with the publication: it goes once, or stays
to be sent after a crash; one not yet sent when the incident is withdrawn (made private)
is not sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents.chat import Chat, Message, step_key
from bot.incidents.outbox import WHILE_PUBLIC, Outbox, rank
from bot.policy.model import Policy
from bot.store.repo import Store
from bot.store.tables import Incident, OutboxRow, Publication

REPORT = "Status page subscribers"


async def notify_subscribers(
    s: AsyncSession,
    outbox: Outbox,
    chat: Chat,
    policy: Policy,
    incident: Incident,
    pub: Publication,
    status_url: str,
) -> None:
    subscribers = policy.status_page.subscribers
    step = f"publication:{pub.id}"
    priority = rank(policy, incident)
    status = pub.status.capitalize()
    if subscribers.channels:
        text = (
            f"*{status}: {chat.literal(pub.public_title)}*\n{chat.literal(pub.text)}\n{status_url}"
        )
        for where in subscribers.channels:
            await outbox.post(
                s,
                where,
                # No controls: a customer's channel gets no incident buttons.
                Message(text=text, incident_id=incident.id),
                key=step_key(step, where),
                priority=priority,
                problem=f"could not post the status update to {where}",
                report=REPORT,
                only_while=WHILE_PUBLIC,
            )
    subject = f"[{policy.status_page.title}] {status}: {pub.public_title}"
    body = f"{pub.text}\n\n{status_url}\n"
    for address in subscribers.emails:
        await outbox.email(
            s,
            address,
            subject,
            body,
            sender=subscribers.email_from,
            key=step_key(step, f"mailto:{address}"),
            incident_id=incident.id,
            priority=priority,
            problem=f"could not e-mail the status update to {address}",
            report=REPORT,
            only_while=WHILE_PUBLIC,
        )


def while_public(store: Store) -> Callable[[OutboxRow], Awaitable[bool]]:
    """Guard (WHILE_PUBLIC): is the row's incident still one the status page shows?"""

    async def guard(row: OutboxRow) -> bool:
        if row.incident_id is None:
            return True
        incident = await store.get(row.incident_id)
        return incident is not None and not incident.private

    return guard
