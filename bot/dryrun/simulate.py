"""`simulate`: a declared incident on a virtual clock, through the same use cases,
planner and scheduler as `serve`, with Slack replaced by a recorder."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import VirtualClock
from bot.deliverer import Pace, Sender
from bot.dryrun.recording_chat import Event, RecordingChat
from bot.incidents.outbox import Op
from bot.policy.durations import format_duration
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

    def as_json(self) -> str:
        return json.dumps(
            {
                "policy": str(self.policy.path),
                "severity": self.severity,
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "events": [e.as_dict(self.start) for e in self.events],
            },
            indent=2,
        )

    def as_text(self) -> str:
        lines = [
            f"Simulating a {self.severity} incident with {self.policy.path} "
            f"(virtual clock; nothing is sent)",
        ]
        for e in self.events:
            offset = "+" + (format_duration(e.at - self.start) if e.at > self.start else "0m")
            head = f"{offset:>8}  {e.action:<6} {e.target}"
            body = e.text.strip().splitlines() or [""]
            first = body[0][:100]
            lines.append(f"{head}: {first}" if first else head)
            lines += [f"{'':>16}{line[:100]}" for line in body[1:6]]
            if len(body) > 6:
                lines.append(f"{'':>16}… ({len(body) - 6} more lines)")
            if e.buttons:
                lines.append(f"{'':>16}[buttons: {', '.join(e.buttons)}]")
        span = format_duration(self.end - self.start)
        lines.append(f"{'+' + span:>8}  end of simulation (the incident is still open)")
        return "\n".join(lines)


async def simulate(
    policy: LoadedPolicy,
    *,
    severity: str | None = None,
    title: str = "Simulated incident",
    silent_for: timedelta = timedelta(hours=2),
    updates_every: timedelta | None = None,
    start: datetime | None = None,
) -> Simulation:
    """`start`: when the incident is declared (who is on call then is paged)."""
    start = start or START
    pol = policy.policy
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
            await _run(services, clock, sev.name, title, silent_for, updates_every, start)
        finally:
            await services.close()
    return Simulation(policy, sev.name, start, chat.events, start + silent_for)


def recorded_alert(chat: RecordingChat) -> Sender:
    async def send(row: OutboxRow) -> dict[str, Any]:
        p = row.payload
        chat.record(str(p.get("action")), f"{row.op} `{p.get('contact')}`", str(p.get("summary")))
        return {}

    return send


async def _run(
    services: Services,
    clock: VirtualClock,
    severity: str,
    title: str,
    silent_for: timedelta,
    updates_every: timedelta | None,
    start: datetime,
) -> None:
    outcome = await services.incidents.declare(severity=severity, title=title, user_id=COMMANDER)
    incident_id = outcome.incident.id
    horizon = start + silent_for
    next_update = start + updates_every if updates_every else None
    n = 0
    while True:
        async with services.store.session() as s:
            due = await next_due(s)
        moments = [t for t in (due, next_update) if t is not None and t <= horizon]
        if not moments:
            return
        when = max(min(moments), clock.now())
        clock.set(when)
        if next_update is not None and updates_every is not None and when >= next_update:
            n += 1
            incident = await services.store.get(incident_id)
            assert incident is not None
            await _post_update(services, incident, n)
            next_update = when + updates_every
        await services.scheduler.run_due()


async def _post_update(services: Services, incident: Any, n: int) -> None:
    controls = getattr(services, "controls", None)
    if controls is None:
        raise RuntimeError("this build cannot post updates in a simulation")
    await controls.update(incident, COMMANDER, f"Simulated update {n}")
