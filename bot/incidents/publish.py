"""Publishing a customer-facing update: drafted from the policy's template, edited by the
commander, never for a private incident, only by those the policy allows."""

from __future__ import annotations

import re
from datetime import datetime

from bot.clock import Clock
from bot.incidents.chat import Chat
from bot.incidents.checks import Checks
from bot.incidents.errors import MissingText, NotAllowed
from bot.incidents.policy_book import PolicyBook
from bot.incidents.timeline import TimelineKind, new_entry
from bot.incidents.values import fmt_time, incident_values
from bot.policy.durations import format_duration
from bot.policy.templates import render
from bot.store.repo import Store
from bot.store.tables import Incident, Publication

MAX_TEXT = 2500
# Slack's *bold* in the shipped templates would show as literal asterisks on the page.
_BOLD = re.compile(r"(?<![\w*])\*(\S(?:[^*\n]*\S)?)\*(?![\w*])")


NOT_FOR_DRILLS = (
    "This is a drill: nothing is published on the status page. "
    "Post the update with `/incident update <text>` to practise it."
)


class Publisher:
    def __init__(
        self, store: Store, chat: Chat, policy: PolicyBook, clock: Clock, checks: Checks
    ) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.clock = clock
        self.checks = checks

    async def draft(self, incident: Incident, status: str, update: str) -> str:
        """The policy's customer template filled in: the commander edits it before it goes."""
        pol = await self.policy.of(incident)
        values = incident_values(pol, incident, _Plain(), await self.store.roles(incident.id))
        now = self.clock.now()
        final = status == pol.statuses.final
        values |= {
            "status": status.capitalize(),
            "update": update,
            "components": ", ".join(pol.status_page.components) or "our services",
            "status_url": "/status",
            "now": now.strftime("%H:%M UTC"),
        }
        if update and not incident.summary:
            values["summary"] = update
        if final and incident.resolved_at is None:
            # Drafted just before resolving: "resolved at" is now, not "-".
            values["resolved_at"] = fmt_time(now, pol.timezone)
            values["duration"] = format_duration(now - incident.declared_at)
        template = pol.templates.customer_resolution if final else pol.templates.customer_update
        return _BOLD.sub(r"\1", render(template, values))

    async def may(self, incident: Incident, user: str) -> bool:
        return (
            not incident.private
            and not incident.drill
            and await self.checks.may(incident, user, "publish")
        )

    async def publish(
        self,
        incident: Incident,
        user: str,
        text: str,
        status: str,
        *,
        public_title: str | None = None,
    ) -> Publication:
        """Stores the publication and its timeline entry together. The public title is
        `public_title`, else the one published before (so an edited title sticks), else
        the incident's title."""
        if incident.private:
            raise NotAllowed("Private incidents are never published on the status page.")
        if incident.drill:
            raise NotAllowed(NOT_FOR_DRILLS)
        if not await self.checks.may(incident, user, "publish"):
            raise NotAllowed(
                "You may not publish to the status page for this incident: "
                "ask the commander or the communications lead."
            )
        text = text.strip()
        if not text:
            raise MissingText(
                "The public text is empty: write what customers should read.", field="public_text"
            )
        now = self.clock.now()
        async with self.store.session() as s:
            if not (public_title and public_title.strip()):
                last = await self.store.last_public_title(s, incident.id)
                public_title = last or incident.title
            pub = Publication(
                incident_id=incident.id,
                status=status,
                public_title=public_title.strip()[:200],
                text=text[:MAX_TEXT],
                published_by=user,
                published_at=now,
            )
            s.add(pub)
            s.add(
                new_entry(
                    incident.id,
                    TimelineKind.PUBLISH,
                    now,
                    f"Published ({status}): {text}",
                    author=user,
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
    """Incidents with at least one publication, never private ones, newest first, with
    their publications newest first; resolved ones only when resolved after
    `since_resolved`."""
    incidents, pubs = await store.published(since_resolved)
    # Private is filtered again here: the page must never show one, whatever the query.
    return [
        (i, [p for p in pubs if p.incident_id == i.id])
        for i in incidents
        if not i.private and not i.drill
    ]
