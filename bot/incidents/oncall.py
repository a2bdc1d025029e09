"""On call now: the policy's schedules with the overrides stored by command. Pages to a
schedule (bot/incidents/escalation.py), `/incident oncall` and the hand-off watcher
(bot/incidents/handoffs.py) all ask here, so they agree on who it is."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.incidents.errors import IncidentError
from bot.planning.oncall import Cover, OnCall, Rota, parse_local
from bot.policy.model import Contact, Policy
from bot.store import oncall as rows
from bot.store.repo import Store
from bot.store.tables import OncallOverride

log = logging.getLogger(__name__)


EXAMPLE = "`/incident oncall override @ana 2026-12-24T18:00 2026-12-26T09:00`"


class BadOverride(IncidentError):
    """An override that cannot be: unknown schedule, end before start, not a person."""


class OnCallBook:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        # Told when an override is stored (the hand-off watcher looks again at once).
        self.changed: list[Callable[[], None]] = []

    async def rota(self, policy: Policy, name: str) -> Rota:
        stored = await rows.overrides(self.store, schedule=name)
        covers = [Cover(o.layer, o.user_id, o.start_at, o.end_at) for o in stored]
        return Rota(policy, name, covers)

    async def paged(self, policy: Policy, contact: Contact, at: datetime) -> str | None:
        """The member a contact naming a schedule (or a layer) pages at `at`; None when
        nobody is on call there then."""
        assert contact.schedule is not None
        found = (await self.rota(policy, contact.schedule)).who(at, contact.layer)
        return found[1] if found else None

    async def now_and_next(self, policy: Policy, name: str | None) -> list[OnCall]:
        """Every layer of the schedule `name` (every schedule when None), at this moment."""
        if name is not None and name not in policy.schedules:
            known = ", ".join(policy.schedules) or "none"
            raise IncidentError(f'There is no schedule "{name}"; schedules: {known}.')
        now = self.clock.now()
        found: list[OnCall] = []
        for key in [name] if name else list(policy.schedules):
            rota = await self.rota(policy, key)
            found += [rota.now_and_next(layer, now) for layer in rota.schedule.layers]
        return found

    async def override(
        self,
        policy: Policy,
        *,
        by: str,
        user: str,
        start: str,
        end: str,
        schedule: str | None = None,
        layer: str | None = None,
    ) -> OncallOverride:
        """Store an override (checked first: a refusal changes nothing) and log it.
        `start` and `end` are read in the schedule's time zone (2026-12-24T18:00)."""
        if not policy.schedules:
            raise BadOverride("This policy has no schedules; add one under `schedules:`.")
        names = ", ".join(policy.schedules)
        if schedule is None:
            if len(policy.schedules) > 1:
                raise BadOverride(f"Say which schedule: {names}.")
            schedule = next(iter(policy.schedules))
        sched = policy.schedules.get(schedule)
        if sched is None:
            raise BadOverride(f'There is no schedule "{schedule}"; schedules: {names}.')
        found = sched.layer(layer)
        if found is None:
            layers = ", ".join(one.name for one in sched.layers)
            raise BadOverride(f'Schedule "{schedule}" has no layer "{layer}"; layers: {layers}.')
        tz = ZoneInfo(sched.timezone or policy.timezone)
        try:
            start_at, end_at = parse_local(start, tz), parse_local(end, tz)
        except ValueError:
            raise BadOverride(
                f"`{start}` / `{end}`: write the times as 2026-12-24T18:00 (the schedule's "
                f"time zone, {tz.key}), e.g. {EXAMPLE}."
            ) from None
        if end_at <= start_at:
            raise BadOverride(
                f"The override ends before it starts; write the start first, e.g. {EXAMPLE}."
            )
        if end_at <= self.clock.now():
            raise BadOverride("That window is already over; give an end in the future.")
        row = OncallOverride(
            schedule=schedule,
            layer=found.name,
            user_id=user,
            start_at=start_at,
            end_at=end_at,
            created_by=by,
            created_at=self.clock.now(),
        )
        row = await rows.add_override(self.store, row)
        for tell in self.changed:
            tell()
        # The audit line: who put whom on call, where and when.
        log.info(
            "on-call override %s: %s on %s/%s from %s until %s, set by %s",
            row.id,
            user,
            schedule,
            found.name,
            start_at.isoformat(),
            end_at.isoformat(),
            by,
        )
        return row

    async def upcoming(self, ending_after: datetime) -> list[OncallOverride]:
        """Overrides not over yet (for the App Home)."""
        return list(await rows.overrides(self.store, ending_after=ending_after))
