"""The self-check: every minute, is the bot doing its work? `/healthz` answers 503 with
the reasons while one check fails; HEARTBEAT_URL is pinged only while all pass, so a
monitor that stops hearing it pages a person (a dead man's switch): a bot that is down,
wedged or locked out of Slack cannot ping, whatever it would say about itself.

Checks: the database answers; no due row is overdue past the threshold (the scheduler
is stuck or every worker is gone), nor any outbox row (nobody delivers); no claim is
long past its lease (a process died mid-fire and nobody took its work back); Slack
answers auth.test (reachable, token accepted).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiohttp

from bot.clock import Clock
from bot.ops import metrics
from bot.settings import Settings
from bot.store.backlog import ping
from bot.store.repo import Store

log = logging.getLogger(__name__)

HEARTBEAT_TIMEOUT = 10.0
RECHECK_FAILING = 5.0  # seconds


@dataclass
class Verdict:
    reasons: list[str] = field(default_factory=list)
    checked_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.reasons


class SelfCheck:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Clock,
        probe: Callable[[], Awaitable[str | None]] | None = None,
    ) -> None:
        # `probe`: asks the chat platform whether it answers and accepts our token; the
        # reason if not (bot/slack/probe.py), None if all is well.
        self.probe = probe
        self.settings = settings
        self.store = store
        self.clock = clock
        self.overdue_after = timedelta(seconds=settings.overdue_after)
        self.lease = timedelta(seconds=settings.claim_lease)
        # A claim past its lease is normal for a few seconds (the scheduler takes it back
        # at its next recovery); one still there a threshold later means nobody will.
        self.stale_after = self.lease + self.overdue_after
        self.verdict = Verdict()
        # More checks, each giving its reasons (a paging service refusing our alerts).
        self.more: list[Callable[[], Awaitable[list[str]]]] = []

    async def run(self) -> Verdict:
        """One round of checks; logs a line when the verdict changes."""
        reasons = await self._store_reasons()
        slack = await self.probe() if self.probe is not None else None
        if slack:
            reasons.append(slack)
        for check in self.more:
            try:
                reasons += await check()
            except Exception as e:
                reasons.append(f"a check failed ({type(e).__name__})")
        before = self.verdict
        self.verdict = Verdict(reasons, self.clock.now())
        metrics.SELF_CHECK_FAILING.set(0 if self.verdict.ok else 1)
        if reasons and reasons != before.reasons:
            log.error("self-check failing: %s", "; ".join(reasons))
        elif not reasons and before.reasons:
            log.info("self-check passing again")
        if self.verdict.ok and self.settings.heartbeat_url:
            await self._heartbeat(self.settings.heartbeat_url)
        return self.verdict

    async def run_forever(self) -> None:
        # The first look after the scheduler's first pass, which fires what fell due
        # while the bot was down and takes back the claims of a process that died.
        await asyncio.sleep(min(self.settings.self_check_every, RECHECK_FAILING))
        while True:
            try:
                await self.run()
            except Exception:  # never let the checker die: it is the alarm
                log.exception("self-check crashed")
            # Failing, look again soon: most failures clear by themselves (claims of a
            # dead process are taken back within seconds of a restart), and /healthz
            # and the heartbeat should say so without waiting a minute.
            every = self.settings.self_check_every
            await asyncio.sleep(every if self.verdict.ok else min(every, RECHECK_FAILING))

    async def _store_reasons(self) -> list[str]:
        try:
            b = await metrics.read_backlog(
                self.store,
                self.clock,
                overdue_after=self.overdue_after,
                stale_after=self.stale_after,
            )
        except Exception as e:
            return [f"database unreachable ({type(e).__name__})"]
        reasons = []
        if b.overdue:
            late = self.clock.now() - b.oldest_due if b.oldest_due else self.overdue_after
            reasons.append(
                f"{b.overdue} due row(s) overdue by more than {_seconds(self.overdue_after)}"
                f" (the oldest by {_seconds(late)}): no worker is firing them"
            )
        if b.outbox_overdue:
            reasons.append(
                f"{b.outbox_overdue} post(s), DM(s) or invite(s) written more than"
                f" {_seconds(self.overdue_after)} ago and not sent: no worker is delivering,"
                " or Slack keeps refusing"
            )
        if b.stale_claims or b.outbox_stale_claims:
            reasons.append(
                f"{b.stale_claims + b.outbox_stale_claims} claim(s) past their lease of"
                f" {_seconds(self.lease)} by more"
                f" than {_seconds(self.overdue_after)}: a process died mid-fire and no worker"
                " took its work back"
            )
        return reasons

    async def _heartbeat(self, url: str) -> None:
        try:
            timeout = aiohttp.ClientTimeout(total=HEARTBEAT_TIMEOUT)
            async with aiohttp.ClientSession(timeout=timeout) as s, s.get(url) as r:
                if r.status >= 400:
                    log.warning("heartbeat answered HTTP %d", r.status)
        except (aiohttp.ClientError, TimeoutError) as e:
            # Not a reason to fail: the monitor not hearing us is its own alarm.
            log.warning("heartbeat failed: %s", type(e).__name__)


def _seconds(d: timedelta) -> str:
    return f"{d.total_seconds():.0f}s"


async def healthz_body(check: SelfCheck | None, store: Store) -> tuple[int, dict[str, object]]:
    """/healthz: the database now (cheap), and the last self-check's reasons."""
    try:
        await ping(store.engine)
    except Exception as e:  # the probe must answer, not crash
        return 503, {"ok": False, "reasons": [f"database unreachable ({type(e).__name__})"]}
    if check is None or check.verdict.ok:
        return 200, {"ok": True}
    checked = check.verdict.checked_at
    return 503, {
        "ok": False,
        "reasons": check.verdict.reasons,
        "checked_at": checked.isoformat() if checked else None,
    }
