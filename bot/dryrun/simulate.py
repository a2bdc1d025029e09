"""`simulate`: a declared incident on a virtual clock, through the same use cases,
planner and scheduler as `serve`, with Slack replaced by a recorder."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import VirtualClock
from bot.deliverer import Pace, Sender
from bot.dryrun.recording_chat import Event, RecordingChat
from bot.dryrun.script import COMMANDER_KEY, ON_CALL, Script, Step
from bot.dryrun.summary import render_text, summarize
from bot.incidents.errors import IncidentError
from bot.incidents.outbox import Op
from bot.policy.durations import parse_duration
from bot.policy.loader import LoadedPolicy
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.jobs import next_due
from bot.store.tables import OutboxRow

COMMANDER = "U0COMMANDER"
START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)  # fixed: the same policy, the same output


@dataclass
class Simulation:
    policy: LoadedPolicy
    severity: str
    start: datetime
    events: list[Event]
    end: datetime
    summary: list[str] = field(default_factory=list)
    resolved: bool = False

    def as_json(self) -> str:
        return json.dumps(
            {
                "policy": str(self.policy.path),
                "severity": self.severity,
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "events": [e.as_dict(self.start) for e in self.events],
                "summary": self.summary,
            },
            indent=2,
        )

    def as_text(self) -> str:
        return render_text(self)


async def simulate(
    policy: LoadedPolicy,
    *,
    severity: str | None = None,
    title: str = "Simulated incident",
    silent_for: timedelta = timedelta(hours=2),
    updates_every: timedelta | None = None,
    script: Script | None = None,
    start: datetime | None = None,
) -> Simulation:
    """Declare at `start` (who is on call then is paged), then play the clock (and the
    script's events, if any) until `silent_for` (a script's run_for, or one hour after
    its last event) has passed."""
    start = start or START
    pol = policy.policy
    if script is not None:
        severity = script.severity or severity
        title = script.title or title
        last = script.steps[-1].at if script.steps else timedelta(0)
        silent_for = script.run_for or last + timedelta(hours=1)
    sev = pol.severity(severity) if severity else pol.severities[0]
    if sev is None:
        names = ", ".join(pol.severity_names())
        raise ValueError(f"unknown severity {severity!r}; the policy has {names}")
    clock = VirtualClock(start)
    chat = RecordingChat(clock, pol, {COMMANDER: "commander"})
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'sim.db'}")
        # Slack's pace is real time; a dry run on a virtual clock is not paced.
        services = await build_services(
            settings, chat, clock=clock, policy=policy, pace=Pace(per_second=1e6, burst=10**6)
        )
        for op in (Op.PAGERDUTY, Op.OPSGENIE):  # a dry run calls no paging service either
            services.deliverer.senders[op] = recorded_alert(chat)
        try:
            play = Play(services, clock, chat, start + silent_for, script)
            incident_id = await play.run(sev.name, title, updates_every)
            summary = await summarize(services, chat, pol, incident_id, start)
            incident = await services.store.get(incident_id)
        finally:
            await services.close()
    resolved = incident is not None and incident.resolved_at is not None
    return Simulation(policy, sev.name, start, chat.events, start + silent_for, summary, resolved)


def recorded_alert(chat: RecordingChat) -> Sender:
    async def send(row: OutboxRow) -> dict[str, Any]:
        p = row.payload
        chat.record(str(p.get("action")), f"{row.op} `{p.get('contact')}`", str(p.get("summary")))
        return {}

    return send


class Play:
    """Moves the virtual clock from one due row or script event to the next; a script
    event is done by the person it names, through the same use cases as `serve`."""

    def __init__(
        self,
        services: Services,
        clock: VirtualClock,
        chat: RecordingChat,
        horizon: datetime,
        script: Script | None,
    ) -> None:
        self.services, self.clock, self.chat = services, clock, chat
        self.horizon = horizon
        self.start = clock.now()  # the declaration: script offsets count from it
        self.steps = list(script.steps) if script else []

    async def run(self, severity: str, title: str, updates_every: timedelta | None) -> int:
        outcome = await self.services.incidents.declare(
            severity=severity, title=title, user_id=COMMANDER
        )
        incident_id = outcome.incident.id
        next_update = self.start + updates_every if updates_every else None
        n = 0
        while True:
            async with self.services.store.session() as s:
                due = await next_due(s)
            step_at = self.start + self.steps[0].at if self.steps else None
            moments = [
                t for t in (due, next_update, step_at) if t is not None and t <= self.horizon
            ]
            if not moments:
                return incident_id
            when = max(min(moments), self.clock.now())
            self.clock.set(when)
            # What people do at an instant comes before what falls due then: an ack at
            # the deadline is in time.
            while self.steps and self.start + self.steps[0].at <= when:
                await self.do(incident_id, self.steps.pop(0))
            if next_update is not None and updates_every is not None and when >= next_update:
                n += 1
                incident = await self.services.store.get(incident_id)
                assert incident is not None
                await self.services.controls.update(incident, COMMANDER, f"Simulated update {n}")
                next_update = when + updates_every
            await self.services.scheduler.run_due()

    async def _user(self, who: str) -> str:
        if who.startswith(ON_CALL):  # a schedule: whoever is on call there now
            pol = self.services.policy.policy
            contact = pol.contacts[who.removeprefix(ON_CALL)]
            found = await self.services.escalations.oncall.paged(pol, contact, self.clock.now())
            return found or who
        return COMMANDER if who == COMMANDER_KEY else who

    async def do(self, incident_id: int, step: Step) -> None:
        incident = await self.services.store.get(incident_id)
        assert incident is not None
        c = self.services.controls
        by = await self._user(step.by)
        said = " ".join(
            w
            for w in (f"/incident {step.action}", step.status, step.value, step.user, step.reason)
            if w
        )
        self.chat.note("does", self.chat.user_ref(by), said)
        try:
            match step.action:
                case "ack":
                    await c.ack(incident, by)
                case "update":
                    await c.update(incident, by, step.value or "", step.status)
                case "status":
                    await c.set_status(incident, by, step.value or "")
                case "severity":
                    await c.set_severity(incident, by, step.value or "")
                case "role":
                    user = await self._user(step.user or "")
                    await c.assign_role(incident, by, step.value or "", user)
                case "escalate":
                    await c.escalate(incident, by, step.reason, step.value)
                case "snooze":
                    await c.snooze(incident, by, parse_duration(step.value or ""))
                case "resolve":
                    await c.resolve(incident, by, step.value or "")
        except IncidentError as e:  # shown, as the person would see it
            self.chat.note("refused", self.chat.user_ref(by), str(e))
        await self.services.deliverer.run_once()  # what it posts, in its place
