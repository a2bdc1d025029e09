"""Hand-offs, watched at every scheduler pass: the person coming on call gets a DM the
schedule's `notify_before` ahead, and a schedule's user group is kept equal to who is
on call. Both are outbox rows keyed by the hand-off they are about, so every worker
may write them and each goes once; a worker only looks again once something is due
(or a minute later: an override stored by another process may have changed things)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.incidents.chat import Chat, Message
from bot.incidents.oncall import OnCallBook
from bot.incidents.outbox import Outbox
from bot.incidents.policy_book import PolicyBook
from bot.planning.oncall import Rota
from bot.store.repo import Store

log = logging.getLogger(__name__)

LOOK_AGAIN = timedelta(minutes=1)


class Handoffs:
    def __init__(
        self,
        store: Store,
        chat: Chat,
        policy: PolicyBook,
        clock: Clock,
        outbox: Outbox,
        oncall: OnCallBook,
    ) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.clock = clock
        self.outbox = outbox
        self.oncall = oncall
        self._next_look: datetime | None = None

    async def run(self) -> None:
        """One look (cheap when nothing is due: the scheduler calls it every pass)."""
        now = self.clock.now()
        if self._next_look is not None and now < self._next_look:
            return
        pol = self.policy.policy
        if not pol.schedules:
            self._next_look = now + LOOK_AGAIN
            return
        wrote = False
        soonest = now + LOOK_AGAIN
        async with self.store.session() as s:
            for name, schedule in pol.schedules.items():
                rota = await self.oncall.rota(pol, name)
                for layer in schedule.layers:
                    change = rota.next_change(layer, now)
                    if change is None or schedule.notify_before is None:
                        continue
                    at, user = change
                    if user is None:
                        continue
                    notify_at = at - schedule.notify_before
                    if notify_at > now:
                        soonest = min(soonest, notify_at)
                        continue
                    before = rota.on_layer(layer, now)
                    if before is None and rota.rotation_user(layer, now) == user:
                        continue  # only the restricted hours starting again: no hand-off
                    wrote = True
                    await self.outbox.post(
                        s,
                        user,
                        Message(text=self._notice(rota, layer.name, at, before)),
                        key=f"oncall:{name}:{layer.name}:{at.isoformat()}:{user}",
                        priority=50,
                    )
                if schedule.usergroup:
                    found = rota.who(now)  # whom a page to the schedule reaches now
                    users = [found[1]] if found else []
                    since = [rota.last_change(layer, now) for layer in schedule.layers]
                    stamp = max((t for t in since if t is not None), default=None)
                    for layer in schedule.layers:
                        change = rota.next_change(layer, now)
                        if change is not None:
                            soonest = min(soonest, change[0])
                    if users:  # Slack keeps no empty group: the last people stay in it
                        wrote = True
                        # Keyed by the last change and who: written once per hand-off,
                        # again when an override stored since changes who it is.
                        when = stamp.isoformat() if stamp else "start"
                        key = f"oncall-group:{name}:{when}:{','.join(users)}"
                        await self.outbox.usergroup(s, schedule.usergroup, users, key=key)
            await s.commit()
        if wrote:
            self.outbox.wake()
        self._next_look = soonest

    def look_again(self) -> None:
        """Something changed here (an override): look at the next pass."""
        self._next_look = None

    def _notice(self, rota: Rota, layer: str, at: datetime, before: str | None) -> str:
        local = at.astimezone(ZoneInfo(str(rota.tz))).strftime("%a %d %b %H:%M %Z")
        after = f", taking over from {self.chat.user_ref(before)}" if before else ""
        return (
            f":pager: You go on call for *{rota.name}/{layer}* at {local}{after}. "
            "`/incident oncall` shows who is on call now."
        )
