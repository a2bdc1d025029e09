"""Publishing a customer-facing update: drafted from the policy's template, edited by the
commander, never for a private incident, only by those the policy allows."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from bot.clock import Clock
from bot.controls import Controls
from bot.incidents import IncidentError
from bot.policy.templates import render
from bot.policy_book import PolicyBook
from bot.ports import Chat
from bot.rendering import incident_values
from bot.store.repo import Store
from bot.store.tables import Incident, Publication, TimelineEntry

MAX_TEXT = 2500


class Publisher:
    def __init__(
        self, store: Store, chat: Chat, policy: PolicyBook, clock: Clock, controls: Controls
    ) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.clock = clock
        self.controls = controls

    async def draft(self, incident: Incident, status: str, update: str) -> str:
        """The policy's customer template filled in: the commander edits it before it goes."""
        pol = await self.policy.of(incident)
        values = incident_values(pol, incident, _Plain(), await self.store.roles(incident.id or 0))
        values |= {
            "status": status.capitalize(),
            "update": update,
            "components": ", ".join(pol.status_page.components) or "our services",
            "status_url": "/status",
            "now": self.clock.now().strftime("%H:%M UTC"),
        }
        final = status == pol.statuses.final
        return render(
            pol.templates.customer_resolution if final else pol.templates.customer_update, values
        )

    async def may(self, incident: Incident, user: str) -> bool:
        return not incident.private and await self.controls.may(incident, user, "publish")

    async def publish(self, incident: Incident, user: str, text: str, status: str) -> Publication:
        if incident.private:
            raise IncidentError("Private incidents are never published on the status page.")
        if not await self.controls.may(incident, user, "publish"):
            raise IncidentError(
                "You may not publish to the status page for this incident: "
                "ask the commander or the communications lead."
            )
        text = text.strip()
        if not text:
            raise IncidentError("The public text is empty: write what customers should read.")
        now = self.clock.now()
        async with self.store.session() as s:
            pub = Publication(
                incident_id=incident.id or 0,
                status=status,
                public_title=incident.title,
                text=text[:MAX_TEXT],
                published_by=user,
                published_at=now,
            )
            s.add(pub)
            s.add(
                TimelineEntry(
                    incident_id=incident.id or 0,
                    kind="publish",
                    occurred_at=now,
                    author_id=user,
                    text=f"Published ({status}): {text}",
                    key_event=True,
                )
            )
            await s.commit()
            return pub


class _Plain:
    """Customers read plain text: no Slack mentions or links in public drafts."""

    def user_ref(self, user_id: str) -> str:
        return "our team"

    def channel_ref(self, channel: str) -> str:
        return ""

    def literal(self, text: str) -> str:
        return text


async def public_incidents(
    store: Store, since_resolved: datetime
) -> list[tuple[Incident, list[Publication]]]:
    """Incidents with at least one publication, never private ones, with their
    publications newest first; resolved ones only when resolved after `since_resolved`."""
    async with store.session() as s:
        pubs = (
            await s.exec(
                select(Publication).order_by(
                    col(Publication.published_at).desc(), col(Publication.id).desc()
                )
            )
        ).all()
        ids = {p.incident_id for p in pubs}
        incidents = (await s.exec(select(Incident).where(col(Incident.id).in_(ids)))).all()
    out = []
    for inc in sorted(incidents, key=lambda i: i.declared_at, reverse=True):
        if inc.private:
            continue
        if inc.resolved_at is not None and inc.resolved_at < since_resolved:
            continue
        out.append((inc, [p for p in pubs if p.incident_id == inc.id]))
    return out
