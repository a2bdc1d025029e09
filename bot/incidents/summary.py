"""The pinned announcement as the incident's live summary, and the channel topic.

One renderer, a pure function of the incident's state (`summary_message`), makes the
announcement when it is first posted and every edit after it: the two cannot drift.
The edits and topic refreshes are outbox rows (`refresh`, in the change's own
transaction) whose content is made when they are delivered, so a burst of changes
coalesces into one edit showing the latest state, and a crash loses none.

Adding a line to the summary (e.g. who acknowledged) is adding a function to `LINES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents.chat import INCIDENT_CONTROLS, Chat, Message, step_key
from bot.incidents.outbox import Outbox, rank
from bot.incidents.policy_book import PolicyBook
from bot.incidents.values import Refs, fmt_time, incident_values, mentions
from bot.policy.model import Policy
from bot.policy.templates import render
from bot.store import jobs
from bot.store.repo import Store
from bot.store.tables import Incident, Page

# The renderers' names in the deliverer (bot/services.py registers them).
SUMMARY = "summary"
TOPIC = "topic"


@dataclass(frozen=True)
class SummaryState:
    """What the summary shows, read at delivery time."""

    policy: Policy
    incident: Incident
    roles: Mapping[str, Sequence[str]]
    pages: Sequence[Page] = ()

    def values(self, refs: Refs) -> dict[str, str]:
        return incident_values(self.policy, self.incident, refs, self.roles)


# -- the lines under the policy's announcement: each a function of the state ---------

Line = Callable[[SummaryState, Refs], str | None]


def _state(st: SummaryState, refs: Refs) -> str | None:
    inc = st.incident
    sev = st.policy.severity(inc.severity)
    label = f" ({sev.label})" if sev else ""
    return (
        f"*Now:* {inc.status.capitalize()} · *{inc.severity}*{label} · "
        f"*Commander:* {refs.user_ref(inc.commander_id)}"
    )


def _roles(st: SummaryState, refs: Refs) -> str | None:
    held = [f"{role}: {mentions(refs, users)}" for role, users in st.roles.items() if users]
    return "*Roles:* " + ", ".join(held) if held else None


def _clock(st: SummaryState, refs: Refs) -> str | None:
    inc = st.incident
    values = st.values(refs)
    if inc.resolved_at is not None:
        return f"*Resolved:* {values['resolved_at']} after {values['duration']}"
    last = fmt_time(inc.last_update_at, st.policy.timezone)
    return f"*Last update:* {last} · *Next update:* {values['next_update_at']}"


def _pages(st: SummaryState, refs: Refs) -> str | None:
    levels = st.policy.escalation.levels
    shown = []
    for page in sorted(st.pages, key=lambda p: p.level):
        name = levels[page.level].name if page.level < len(levels) else f"level {page.level}"
        acked = f", acknowledged by {refs.user_ref(page.acked_by)}" if page.acked_by else ""
        shown.append(f"{name} ({fmt_time(page.first_at, st.policy.timezone)}{acked})")
    return "*Paged:* " + "; ".join(shown) if shown else None


LINES: list[Line] = [_state, _roles, _clock, _pages]


def summary_message(st: SummaryState, refs: Refs) -> Message:
    """The pinned announcement: the policy's template, the severity's immediate actions,
    then the live lines; the controls while the incident is open."""
    pol, inc = st.policy, st.incident
    text = render(pol.templates.announcement, st.values(refs))
    sev = pol.severity(inc.severity)
    if sev and sev.checklist and "{checklist}" not in pol.templates.announcement:
        # The immediate actions ride in the pinned announcement: one post, one pin.
        text += "\n\n*Immediate actions*\n" + "\n".join(f"• {s}" for s in sev.checklist)
    lines = [line for make in LINES if (line := make(st, refs))]
    if lines:
        text += "\n\n" + "\n".join(lines)
    return Message(
        title=f"{inc.number}: {inc.title}",
        text=text,
        incident_id=inc.id,
        controls=INCIDENT_CONTROLS if inc.resolved_at is None else (),
    )


def topic_text(st: SummaryState, refs: Refs) -> str:
    """The channel topic (the outbox keeps it within Slack's 250 characters)."""
    return render(st.policy.channel.topic, st.values(refs))


def announcement_key(incident_id: int, channel: str) -> str:
    """The outbox key of the announcement's post in `channel` (its ts is that row's)."""
    return step_key(f"setup:{incident_id}", channel, "announcement")


def topic_lane(channel: str) -> str:
    """Topic rows go in a lane of their own, beside the channel's posts, in order."""
    return f"{channel}:topic"


class Summaries:
    """Renders the summary and the topic at delivery time; writes their refreshes."""

    def __init__(self, store: Store, chat: Chat, policy: PolicyBook, outbox: Outbox) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.outbox = outbox

    async def state(self, incident_id: int) -> SummaryState | None:
        incident = await self.store.get(incident_id)
        if incident is None:
            return None
        async with self.store.session() as s:
            pages = list(await jobs.pages_of(s, incident_id))
        return SummaryState(
            policy=await self.policy.of(incident),
            incident=incident,
            roles=await self.store.roles(incident_id),
            pages=pages,
        )

    async def render_summary(self, args: dict[str, Any]) -> Message | None:
        st = await self.state(int(args["incident_id"]))
        return summary_message(st, self.chat) if st else None

    async def render_topic(self, args: dict[str, Any]) -> Message | None:
        st = await self.state(int(args["incident_id"]))
        return Message(text=topic_text(st, self.chat), incident_id=st.incident.id) if st else None

    async def refresh(self, s: AsyncSession, pol: Policy, incident: Incident, step: str) -> None:
        """In a change's transaction: edit the pinned summary and refresh the topic. The
        edit waits behind the announcement (same conversation); pending refreshes of one
        message or topic coalesce, so one is in flight at a time and shows the latest."""
        channel = incident.channel_id
        if channel is None:
            return
        args = {"incident_id": incident.id}
        priority = rank(pol, incident)
        ts = incident.announcement_ts
        await self.outbox.edit(
            s,
            channel,
            key=step_key(step, channel, "summary"),
            render=SUMMARY,
            args=args,
            incident_id=incident.id,
            ts=ts,
            ts_from=None if ts else announcement_key(incident.id, channel),
            priority=priority,
        )
        if pol.channel.topic:
            await self.outbox.topic(
                s,
                channel,
                "",
                key=step_key(step, channel, "topic"),
                incident_id=incident.id,
                priority=priority,
                lane=topic_lane(channel),
                render=TOPIC,
                args=args,
            )
