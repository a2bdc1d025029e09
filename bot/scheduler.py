"""Claims due rows and fires them; catches up on start. The rows are the truth:
APScheduler only wakes the process up.

Each row fires once across restarts and replicas: it is claimed with a conditional
UPDATE (plus FOR UPDATE SKIP LOCKED on PostgreSQL) before anything is sent, and
marked done in the transaction that records what was sent. A claim whose process
died is taken back after a lease. Before firing, the row is checked against a fresh
plan (resolved? updated or snoozed meanwhile?) and cancelled if no longer wanted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.deliverer import Deliverer
from bot.incidents.chat import CLOCK_SKEW, step_key
from bot.incidents.declare import ACCEPT_GRACE, Incidents
from bot.incidents.escalation import Escalations
from bot.incidents.policy_book import PolicyBook
from bot.incidents.reminders import Nags
from bot.incidents.timeline import TimelineKind, new_entry
from bot.ops import metrics
from bot.planning import due_jobs
from bot.planning.planner import Kind, Reason
from bot.store import jobs
from bot.store.repo import Store
from bot.store.tables import DueJob, Incident, JobState

log = logging.getLogger(__name__)

Fire = Callable[[int, int, int], Awaitable[None]]

MAX_ATTEMPTS = 5
MAX_PASSES = 20
CONCURRENCY = 50  # incidents fired at once by one process
# Idle passes are one indexed query: cheap enough to wake often, so that a reminder is
# sent within a quarter of a second of its due time. Dead claims are looked for less often.
TICK_SECONDS = 0.25
RECOVER_EVERY = timedelta(seconds=5)


class Step(Protocol):
    """Fires a due row of a kind of its own (the channel's archiving, ...)."""

    async def __call__(
        self, incident_id: int, *, job_id: int | None, retry_since: datetime | None
    ) -> None: ...


class Scheduler:
    def __init__(
        self,
        store: Store,
        policy: PolicyBook,
        clock: Clock,
        escalations: Escalations,
        nags: Nags,
        incidents: Incidents,
        *,
        lease: timedelta = timedelta(minutes=2),
        batch: int = 100,
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self.escalations = escalations
        self.nags = nags
        self.incidents = incidents
        self.lease = lease
        self.batch = batch
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        # Rows this process is firing right now: never "dead", however long they take.
        self.in_flight: set[int] = set()
        self._lock = asyncio.Lock()
        self._aps: Any = None
        self._stopping = False
        self._recovered_at: datetime | None = None
        # Delivers what the fired rows wrote to the outbox (set by the composition root).
        self.deliverer: Deliverer | None = None
        # Other kinds of rows, fired by (incident id, level, job id): the follow-through
        # steps and action items after the incident (set by the composition root). Each
        # writes what it sends, its row done and its next row in one transaction.
        self.firers: dict[str, Fire] = {}
        # Due rows of other kinds, fired by kind (set by the composition root).
        self.steps: dict[str, Step] = {}
        # Run at every pass, after the due rows: looks that are not an incident's (the
        # on-call hand-offs, bot/incidents/handoffs.py). A failure is logged, not raised.
        self.every_pass: list[Callable[[], Awaitable[None]]] = []

    # -- one pass ------------------------------------------------------------------

    async def run_due(self) -> int:
        """Fire every row due by now (late ones once, not once per missed tick)."""
        async with self._lock:  # one pass at a time in this process
            fired = 0
            now = self.clock.now()
            if self._recovered_at is None or now - self._recovered_at >= RECOVER_EVERY:
                await self.recover()
                self._recovered_at = now
            # A firing can make another step due at once (ignored nags -> escalate): loop,
            # bounded so that a bug can never spin here.
            for _ in range(MAX_PASSES):
                if self._stopping:  # stopping: finish what is claimed, claim nothing new
                    break
                claimed = await self._claim()
                if not claimed:
                    break
                fired += await self._fire_all(claimed)
            for look in self.every_pass:
                try:
                    await look()
                except Exception:
                    log.exception("a scheduler look failed; the next pass tries again")
        if self.deliverer is not None:
            if self.deliverer.running:
                # Its own loop delivers: a slow Slack must not hold up the next firing.
                self.deliverer.wake()
            else:
                # No loop (tests, `simulate`, driving the clock): what the pass wrote, and
                # any retry due, goes out before it returns.
                await self.deliverer.run_once()
        return fired

    async def _fire_all(self, claimed: list[tuple[int, int]]) -> int:
        """Incidents side by side, each incident's steps in due order: a paced channel
        (a busy on-call person's DMs) must not hold up every other incident's reminders."""
        by_incident: dict[int, list[int]] = {}
        for job_id, incident_id in claimed:
            by_incident.setdefault(incident_id, []).append(job_id)
        # SQLite has one writer, and concurrent transactions that upgrade to writing fail
        # with "database is locked" instead of waiting: fire one at a time there. (Serialising
        # only the transactions, so that Slack calls overlap, was measured: 10% faster
        # catch-up, not worth a process-wide lock that a session opened in a child task
        # would deadlock on.)
        sqlite = self.store.engine.dialect.name == "sqlite"
        gate = asyncio.Semaphore(1 if sqlite else CONCURRENCY)

        async def one_incident(job_ids: list[int]) -> int:
            async with gate:
                return sum([await self._fire(j) for j in job_ids])

        results = await asyncio.gather(*(one_incident(ids) for ids in by_incident.values()))
        return sum(results)

    async def recover(self) -> int:
        """Take back claims older than the lease (their process died mid-fire), and accept
        declarations whose process died before it could."""
        n = await jobs.take_back(
            self.store,
            self.clock.now() - self.lease,
            worker=self.worker,
            in_flight=self.in_flight,
        )
        if n:
            log.warning("took back %d reminder(s) claimed by a process that died", n)
        return n + await self.incidents.accept_unaccepted(self.clock.now() - ACCEPT_GRACE)

    async def _claim(self) -> list[tuple[int, int]]:
        """(job id, incident id) of the rows this process claimed, in due order."""
        # A set-up to finish comes before its incident's reminders, which need the
        # channel; otherwise in due order.
        return await jobs.claim_due(
            self.store,
            self.clock.now(),
            worker=self.worker,
            limit=self.batch,
            first_kind=due_jobs.SETUP,
        )

    async def _fire(self, job_id: int) -> bool:
        self.in_flight.add(job_id)
        try:
            return await self._fire_one(job_id)
        finally:
            self.in_flight.discard(job_id)

    async def _fire_one(self, job_id: int) -> bool:
        now = self.clock.now()
        async with self.store.session() as s:
            job = await s.get(DueJob, job_id)
            assert job is not None
            incident = await s.get(Incident, job.incident_id)
            if job.kind == due_jobs.SETUP:  # a declaration cut short by a crash: finish it
                still = incident is not None
            elif incident is not None and incident.channel_id is None:
                if await due_jobs.setting_up(s, incident):
                    # Its channel is on its way: put the row back for a later pass.
                    job.state, job.claimed_by = JobState.PENDING, None
                    job.attempts -= 1
                    s.add(job)
                    await s.commit()
                    return False
                still = True  # no channel, ever: the step itself reports what it can
            else:
                wanted = (
                    await due_jobs.planned(s, incident, await self.policy.of(incident))
                    if incident
                    else []
                )
                still = any(d.key == job.key and d.due_at == job.due_at for d in wanted)
            channel = incident.channel_id if incident else None
            settles = job.kind in (Kind.NAG, Kind.ESCALATE)
            if not still and job.attempts > 1 and settles and channel:
                # No longer wanted (resolved, updated meanwhile), but a process died on it:
                # it may have gone out. If so it is recorded, not forgotten.
                since = job.due_at
            else:
                since = None
            if since is None and (not still or job.attempts > MAX_ATTEMPTS):
                if job.attempts > MAX_ATTEMPTS:
                    log.error(
                        "giving up on %s for INC-%s after %d attempts",
                        job.key,
                        job.incident_id,
                        job.attempts - 1,
                    )
                job.state, job.finished_at = JobState.CANCELLED, now
                s.add(job)
                if incident is not None and job.kind != due_jobs.SETUP:
                    # Whatever changed the plan should have replanned; if a race left the
                    # step it wants now without a row, this writes it.
                    await due_jobs.replan(s, incident, await self.policy.of(incident), now)
                await s.commit()
                return False
            kind, level, reason, incident_id = job.kind, job.level, job.reason, job.incident_id
            # Claimed before: a process died on it, maybe after sending part of it.
            retry_since = job.due_at if job.attempts > 1 else None
            if since is None:  # fired now, not settled: how late (for /metrics)
                metrics.observe_lateness(kind, now - job.due_at)
        if since is not None:
            assert channel is not None
            return await self._settle(job_id, channel, since)
        try:
            if kind == due_jobs.SETUP:
                await self.incidents.resume_setup(incident_id, job_id, retry_since)
            elif kind == Kind.NAG:
                await self.nags.nag(incident_id, job_id=job_id, retry_since=retry_since)
            elif kind == Kind.MONITORED:
                await self.nags.monitoring_over(incident_id, job_id=job_id)
            elif kind == Kind.PUBLISH:
                await self.nags.remind_to_publish(incident_id, job_id=job_id)
            elif kind in self.firers:
                assert level is not None
                await self.firers[kind](incident_id, level, job_id)
            elif kind in self.steps:
                await self.steps[kind](incident_id, job_id=job_id, retry_since=retry_since)
            else:
                assert level is not None
                await self.escalations.page(
                    incident_id, level, Reason(reason), job_id=job_id, retry_since=retry_since
                )
        except Exception:
            # Left claimed: recover() hands it back after the lease, up to MAX_ATTEMPTS.
            log.exception("firing %s for INC-%s failed", kind, incident_id)
            return False
        return True

    async def _settle(self, job_id: int, channel: str, since: datetime) -> bool:
        """A row no longer wanted whose earlier attempt died: done (with its timeline
        line) if its channel message went out, else cancelled."""
        step = step_key(f"job:{job_id}", channel)
        sent = await self.nags.chat.find_posted(channel, step, (since - CLOCK_SKEW).timestamp())
        now = self.clock.now()
        async with self.store.session() as s:
            job = await s.get(DueJob, job_id)
            assert job is not None
            if sent is None:
                job.state, job.finished_at = JobState.CANCELLED, now
            else:
                job.state, job.finished_at = JobState.DONE, now
                what = {Kind.NAG: "Update reminder", Kind.PUBLISH: "Reminder to publish"}.get(
                    Kind(job.kind), f"Escalation {job.level}"
                )
                reminder = job.kind in (Kind.NAG, Kind.PUBLISH)
                kind = TimelineKind.NAG if reminder else TimelineKind.ESCALATION
                s.add(
                    new_entry(
                        job.incident_id,
                        kind,
                        now,
                        f"{what} sent just before a restart",
                        data={"job": job_id, "settled": True},
                    )
                )
            s.add(job)
            incident = await s.get(Incident, job.incident_id)
            if incident is not None:  # as when cancelling: the plan's current step has a row
                await due_jobs.replan(s, incident, await self.policy.of(incident), now)
            await s.commit()
        return sent is not None

    # -- the wake-up ---------------------------------------------------------------

    def start(self, every: float = TICK_SECONDS) -> None:
        """Wake every `every` seconds; each pass is a cheap indexed query when idle."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self._aps = AsyncIOScheduler()
        self._aps.add_job(
            self._tick,
            "interval",
            seconds=every,
            max_instances=1,
            coalesce=True,
            id="due-rows",
            next_run_time=None,
        )
        self._aps.start()
        self._aps.modify_job("due-rows", next_run_time=self._aps_now())
        if self.deliverer is not None:
            self.deliverer.start()

    def _aps_now(self) -> Any:
        from datetime import UTC, datetime

        return datetime.now(UTC)

    async def _tick(self) -> None:
        try:
            await self.run_due()
        except Exception:  # keep waking: the next pass retries
            log.exception("scheduler pass failed")

    async def drain(self, within: float = 20.0) -> None:
        """Let the pass under way finish (its rows are claimed): a graceful stop leaves
        nothing for the lease to take back."""
        self._stopping = True  # claim nothing new
        try:
            async with asyncio.timeout(within):
                await self._lock.acquire()
                self._lock.release()
                # Set-ups of declarations run beside the passes, claimed by this process;
                # `in_flight` is a plain set both share, so polled (once, at stop).
                while self.in_flight:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        except TimeoutError:
            log.warning("stopping with a pass still under way; its rows come back after the lease")
        # Only now: APScheduler's asyncio executor cancels a job still running at shutdown.
        started = self._aps is not None
        self.stop()
        if self.deliverer is not None and started:  # what the last pass wrote still goes out
            await self.deliverer.run_once()
            await self.deliverer.drain()

    def stop(self) -> None:
        self._stopping = True
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
