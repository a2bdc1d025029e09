"""Publishing a customer-facing update: drafted from the policy's template, edited by the
commander, only for severities the policy puts on the status page, never for a private
incident, only by those the policy allows. A publication and its deliveries to the
subscribers (Slack channels, e-mail) are written in one transaction (the outbox)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from bot.clock import Clock
from bot.incidents.chat import Chat
from bot.incidents.checks import Checks
from bot.incidents.errors import IncidentError, MissingText, NotAllowed
from bot.incidents.outbox import Outbox
from bot.incidents.policy_book import PolicyBook
from bot.incidents.subscribers import notify_subscribers
from bot.incidents.timeline import TimelineKind, new_entry
from bot.incidents.values import fmt_time, incident_values
from bot.planning import due_jobs
from bot.policy.durations import format_duration
from bot.policy.model import Policy
from bot.policy.templates import render
from bot.store.repo import Store
from bot.store.tables import Incident, Publication

MAX_TEXT = 2500
# Slack's *bold* in the shipped templates would show as literal asterisks on the page.
_BOLD = re.compile(r"(?<![\w*])\*(\S(?:[^*\n]*\S)?)\*(?![\w*])")
# The modal's field the components are picked in (slack/ids.py Field.COMPONENTS).
COMPONENTS_FIELD = "components"


def publishable(policy: Policy, incident: Incident) -> bool:
    """Does the policy put this incident's severity on the status page?"""
    sev = policy.severity(incident.severity)
    return sev is not None and sev.status_page and not incident.private


def published_severities(policy: Policy) -> str:
    names = [s.name for s in policy.severities if s.status_page and not s.private]
    return ", ".join(names) or "none"


NOT_FOR_DRILLS = (
    "This is a drill: nothing is published on the status page. "
    "Post the update with `/incident update <text>` to practise it."
)


class Publisher:
    def __init__(
        self,
        store: Store,
        chat: Chat,
        policy: PolicyBook,
        clock: Clock,
        checks: Checks,
        outbox: Outbox,
        base_url: str,
    ) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.clock = clock
        self.checks = checks
        self.outbox = outbox
        self.base = base_url.rstrip("/")

    @property
    def status_url(self) -> str:
        return f"{self.base}/status"

    async def components_of(self, incident: Incident) -> list[str]:
        """The components the incident's last publication marked (picked again next time)."""
        async with self.store.session() as s:
            return list(await self.store.last_components(s, incident.id) or ())

    async def draft(
        self,
        incident: Incident,
        status: str,
        update: str,
        components: Sequence[str] | None = None,
    ) -> str:
        """The policy's customer template filled in from the incident as it is: the status
        chosen, the components picked (None: those published last), PUBLIC_URL. The
        commander edits it before it goes."""
        pol = await self.policy.of(incident)
        values = incident_values(pol, incident, _Plain(), await self.store.roles(incident.id))
        now = self.clock.now()
        final = status == pol.statuses.final
        if components is None:
            components = await self.components_of(incident)
        values |= {
            "status": status.capitalize(),
            "update": update,
            "components": ", ".join(components) or "our services",
            "status_url": self.status_url,
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
        pol = await self.policy.of(incident)
        return (
            publishable(pol, incident)
            and not incident.drill
            and await self.checks.may(incident, user, "publish")
        )

    async def check(
        self, incident: Incident, user: str, components: Sequence[str] = ()
    ) -> list[str]:
        """Refuse what must not be published, saying what would work; returns the
        components as the policy spells them."""
        if incident.private:
            raise NotAllowed("Private incidents are never published on the status page.")
        if incident.drill:
            raise NotAllowed(NOT_FOR_DRILLS)
        pol = await self.policy.of(incident)
        if not publishable(pol, incident):
            raise NotAllowed(
                f"{incident.severity} incidents are not published on the status page: "
                f"the policy publishes {published_severities(pol)} "
                "(change the severity first if customers should hear of it)."
            )
        if not await self.checks.may(incident, user, "publish"):
            raise NotAllowed(
                "You may not publish to the status page for this incident: "
                "ask the commander or the communications lead."
            )
        known = {c.lower(): c for c in pol.status_page.components}
        unknown = [c for c in components if c.lower() not in known]
        if unknown:
            listed = ", ".join(pol.status_page.components) or "none (the policy lists none)"
            raise IncidentError(
                f"Not a component of the status page: {', '.join(unknown)}. Pick from: {listed}.",
                field=COMPONENTS_FIELD,
            )
        return list(dict.fromkeys(known[c.lower()] for c in components))

    async def publish(
        self,
        incident: Incident,
        user: str,
        text: str,
        status: str,
        *,
        public_title: str | None = None,
        components: Sequence[str] | None = None,
    ) -> Publication:
        """Stores the publication, its timeline entry and its deliveries to the
        subscribers together; the reminder to publish stops. The public title is
        `public_title`, else the one published before (so an edited title sticks), else
        the incident's title; the components, those given, else those published last."""
        picked = await self.check(incident, user, components or ())
        text = text.strip()
        if not text:
            raise MissingText(
                "The public text is empty: write what customers should read.", field="public_text"
            )
        pol = await self.policy.of(incident)
        now = self.clock.now()
        async with self.store.session() as s:
            if not (public_title and public_title.strip()):
                last = await self.store.last_public_title(s, incident.id)
                public_title = last or incident.title
            if components is None:
                picked = list(await self.store.last_components(s, incident.id) or ())
            pub = Publication(
                incident_id=incident.id,
                status=status,
                public_title=public_title.strip()[:200],
                text=text[:MAX_TEXT],
                published_by=user,
                published_at=now,
                components=picked,
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
            inc = await s.get(Incident, incident.id)
            assert inc is not None
            if inc.first_published_at is None:
                inc.first_published_at = now
                await due_jobs.replan(s, inc, pol, now)  # no more reminders to publish
            await s.flush()
            await notify_subscribers(s, self.outbox, self.chat, pol, inc, pub, self.status_url)
            await s.commit()
            await s.refresh(pub)
        self.outbox.wake()
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
