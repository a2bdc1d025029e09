"""Action items: what the incident teaches, each with an owner and a due date.

Adding one records it with its timeline line, the owner's DM, its reminder (a due
row, `remind_owner_before` the due date) and, when the policy names a tracker, the
filing of its issue as an outbox row, in one transaction: a crash keeps all or none,
and a tracker that fails never loses the item (the row is retried; its state is
shown on the item)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.incidents.chat import Chat, Control, Message, step_key
from bot.incidents.checks import Checks
from bot.incidents.due_dates import parse_due
from bot.incidents.errors import IncidentError, MissingText, NotAllowed, NothingToDo
from bot.incidents.outbox import Outbox, rank
from bot.incidents.policy_book import PolicyBook
from bot.incidents.timeline import TimelineKind, new_entry
from bot.incidents.values import fmt_time
from bot.planning import due_jobs
from bot.policy.follow_through import Tracker
from bot.store import follow_ups
from bot.store.follow_tables import ActionItem, TrackerState
from bot.store.repo import Store
from bot.store.tables import Incident, OutboxRow

EXAMPLE = "`/incident action Add a canary stage to deploys @dana due 2026-06-30`"
# The outbox op that files an item in the policy's tracker (bot/trackers/).
FILE_ISSUE = "file_issue"
# The hook run when the tracker answered: the issue's link goes on the item.
ISSUE_FILED = "issue_filed"
ITEM_CONTROLS = (Control.ACTION_DONE,)
TEXT_MAX = 500


class ActionItems:
    def __init__(
        self, store: Store, chat: Chat, policy: PolicyBook, clock: Clock, outbox: Outbox
    ) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.clock = clock
        self.outbox = outbox
        self.checks = Checks(store, chat, policy)

    def describe(self, item: ActionItem, tz: str) -> str:
        """One line: number, text, owner, due date, state and tracker (mrkdwn)."""
        parts = [f"*{item.number}* {self.chat.literal(item.text)}"]
        parts.append(f"owner {self.chat.user_ref(item.owner_id)}" if item.owner_id else "no owner")
        if item.due_at is not None:
            parts.append(f"due {fmt_time(item.due_at, tz)}")
        parts.append("done" if item.done_at else "open")
        tracked = tracker_words(item)
        if tracked:
            parts.append(tracked)
        return " · ".join(parts)

    async def add(
        self,
        incident: Incident,
        user: str,
        text: str,
        owner: str | None = None,
        due: str | None = None,
    ) -> ActionItem:
        text = " ".join(text.split())
        if not text:
            raise MissingText(f"An action item needs text, e.g. {EXAMPLE}.", field="text")
        if len(text) > TEXT_MAX:
            raise IncidentError(
                f"Keep an action item under {TEXT_MAX} characters (this one has {len(text)}); "
                f"e.g. {EXAMPLE}.",
                field="text",
            )
        now = self.clock.now()
        pol = await self.policy.of(incident)
        due_at = parse_due(due, now, pol.timezone, EXAMPLE) if due else None
        tracker = pol.follow_through.tracker
        async with self.store.session() as s:
            item = ActionItem(
                incident_id=incident.id,
                text=text,
                owner_id=owner,
                due_at=due_at,
                created_by=user,
                created_at=now,
                tracker=tracker.kind if tracker else None,
                tracker_state=TrackerState.FILING if tracker else None,
            )
            s.add(item)
            await s.flush()
            line = self.describe(item, pol.timezone)
            entry = new_entry(
                incident.id,
                TimelineKind.ACTION_ITEM,
                now,
                f"{item.number} added: {text}",
                author=user,
                data={"item": item.id, "owner": owner},
            )
            s.add(entry)
            await s.flush()
            step = f"ai:{item.id}"
            priority = rank(pol, incident)
            if owner is not None:
                dm = (
                    f":clipboard: {self.chat.user_ref(user)} gave you an action item from "
                    f"*{incident.number}* {self.chat.literal(incident.title)}:\n{line}"
                )
                await self.outbox.post(
                    s,
                    owner,
                    Message(
                        dm, incident_id=incident.id, controls=ITEM_CONTROLS, subject=str(item.id)
                    ),
                    key=step_key(step, owner),
                    priority=priority,
                )
            if tracker is not None:
                await self._file(s, tracker, incident, item, priority)
            inc = await s.get(Incident, incident.id)
            assert inc is not None
            inc.action_items += 1  # from now on, planning its clocks reads its items
            await due_jobs.replan(s, inc, pol, now)
            await s.commit()
        self.outbox.wake()
        return item

    async def _file(
        self, s: AsyncSession, tracker: Tracker, incident: Incident, item: ActionItem, priority: int
    ) -> None:
        due = item.due_at.date().isoformat() if item.due_at else None
        issue = {
            "title": f"{item.text[:200]}",
            "body": (
                f"{item.text}\n\nAction item {item.number} of {incident.number}: "
                f"{incident.title} (severity {incident.severity})."
                + (f"\nDue {due}." if due else "")
            ),
            "due": due,
            "owner": item.owner_id,
        }
        payload = {
            "item": item.id,
            "tracker": tracker.model_dump(mode="json"),
            "issue": issue,
            # Found again in the tracker after a crash: the issue is never filed twice.
            "marker": f"incident-bot-{uuid.uuid4().hex[:16]}",
            "then": ISSUE_FILED,
            # Refused for good: said in the incident channel (delivery_problems.py).
            "problem": f"could not file {item.number} in {tracker.kind}",
            "report": "Action item problems",
        }
        await self.outbox.call(
            s,
            FILE_ISSUE,
            f"tracker:{tracker.kind}",
            payload,
            key=f"ai:{item.id}:file",
            incident_id=incident.id,
            priority=priority,
        )

    async def filing_failed(self, row: OutboxRow, code: str) -> None:
        """The tracker refused for good (or too often): the item says so, and keeps."""
        if row.op != FILE_ISSUE:
            return
        async with self.store.session() as s:
            item = await s.get(ActionItem, int(row.payload["item"]))
            if item is not None:
                item.tracker_state, item.tracker_error = TrackerState.FAILED, code[:300]
                s.add(item)
                await s.commit()

    async def items(self, incident: Incident) -> list[ActionItem]:
        async with self.store.session() as s:
            return list(await follow_ups.items_of(s, incident.id))

    async def done(self, item_id: int, user: str, of: Incident | None = None) -> str:
        """Mark an item done (`of`: the incident it must belong to, from a command)."""
        now = self.clock.now()
        async with self.store.session() as s:
            item = await s.get(ActionItem, item_id)
            if item is None or (of is not None and item.incident_id != of.id):
                where = f" in {of.number}" if of is not None else ""
                raise NothingToDo(
                    f"There is no action item AI-{item_id}{where}: `/incident actions` in the "
                    "incident's channel lists its items and their numbers."
                )
            incident = await s.get(Incident, item.incident_id)
            assert incident is not None
            if user not in (item.owner_id, item.created_by) and not await self.checks.may(
                incident, user, "update"
            ):
                raise NotAllowed(
                    f"{item.number} is for its owner "
                    f"({self.chat.user_ref(item.owner_id) if item.owner_id else 'nobody'}), "
                    f"who added it, or the commander of {incident.number}."
                )
            if item.done_at is not None:
                return f"{item.number} was already done."
            item.done_at, item.done_by = now, user
            s.add(item)
            s.add(
                new_entry(
                    incident.id,
                    TimelineKind.ACTION_ITEM,
                    now,
                    f"{item.number} done: {item.text}",
                    author=user,
                    data={"item": item.id, "done": True},
                )
            )
            await due_jobs.replan(s, incident, await self.policy.of(incident), now)
            await s.commit()
        return f":white_check_mark: {item.number} done: {self.chat.literal(item.text)}"

    async def remind_owner(self, incident_id: int, item_id: int, job_id: int) -> None:
        """The due row before an item's due date fired: DM its owner, once."""
        now = self.clock.now()
        async with self.store.session() as s:
            item = await s.get(ActionItem, item_id)
            incident = await s.get(Incident, incident_id)
            if item is None or incident is None or item.owner_id is None:
                await due_jobs.finish(s, job_id, now)
                await s.commit()
                return
            pol = await self.policy.of(incident)
            item.reminded_at = now
            s.add(item)
            text = (
                f":hourglass_flowing_sand: Reminder: your action item from *{incident.number}* "
                f"is due {fmt_time(item.due_at, pol.timezone)}:\n"
                + self.describe(item, pol.timezone)
            )
            await self.outbox.post(
                s,
                item.owner_id,
                Message(
                    text, incident_id=incident_id, controls=ITEM_CONTROLS, subject=str(item.id)
                ),
                key=step_key(f"job:{job_id}", item.owner_id),
                priority=rank(pol, incident),
            )
            await due_jobs.finish(s, job_id, now)
            await due_jobs.replan(s, incident, pol, now)
            await s.commit()
        self.outbox.wake()


async def issue_filed(s: AsyncSession, row: OutboxRow, result: dict[str, Any]) -> None:
    """The tracker answered: the issue's link goes on the item, in the transaction that
    marks the row done."""
    item = await s.get(ActionItem, int(row.payload["item"]))
    if item is not None:
        item.tracker_state, item.tracker_url = TrackerState.FILED, result.get("url")
        item.tracker_error = None
        s.add(item)


def tracker_words(item: ActionItem) -> str:
    """The item's issue as a reader sees it: its link, being filed, or why it failed."""
    if item.tracker is None:
        return ""
    if item.tracker_state == TrackerState.FILED and item.tracker_url:
        return f"{item.tracker}: {item.tracker_url}"
    if item.tracker_state == TrackerState.FAILED:
        return f"{item.tracker}: not filed ({item.tracker_error or 'refused'})"
    return f"{item.tracker}: being filed"
