"""Durable clocks: the planner's output kept as due_job rows, in the caller's transaction.

Every use case that changes what is due (declare, update, severity, ack, snooze,
escalate, resolve) calls `replan` inside the same transaction as its change, so a
crash can never leave a change without its reminders, nor reminders for a change
that was rolled back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.planning.planner import ClockState, Due, Page, plan
from bot.policy.model import Policy
from bot.store import jobs
from bot.store.tables import DueJob, Incident, JobState
from bot.store.tables import Page as PageRow

# A declaration's channel set-up is a row too, so that a crash half way is finished
# by the scheduler; the planner knows nothing of it.
SETUP = "setup"


def setup_job(incident: Incident, now: datetime, worker: str | None) -> DueJob:
    """The set-up row: claimed by `worker`, which runs it right away, or left for the
    scheduler. Due at the declaration, so that a second one for it breaks uq_due_job_step."""
    return DueJob(
        incident_id=incident.id,
        key=SETUP,
        kind=SETUP,
        reason="declared",
        due_at=incident.declared_at,
        state=JobState.CLAIMED if worker else JobState.PENDING,
        claimed_by=worker,
        claimed_at=now if worker else None,
        attempts=1 if worker else 0,
        token=uuid.uuid4().hex,
        created_at=now,
    )


def clock_state(incident: Incident, pages: Sequence[PageRow]) -> ClockState:
    return ClockState(
        severity=incident.severity,
        declared_at=incident.declared_at,
        severity_since=incident.severity_since or incident.declared_at,
        resolved=incident.resolved_at is not None,
        last_update_at=incident.last_update_at,
        last_nag_at=incident.last_nag_at,
        nags_since_update=incident.nags_since_update,
        nag_escalations=incident.nag_escalations,
        snoozed_until=incident.snoozed_until,
        pages={p.level: Page(p.first_at, p.last_at, p.acked_at) for p in pages},
        monitoring_since=incident.monitoring_since,
    )


async def planned(session: AsyncSession, incident: Incident, policy: Policy) -> list[Due]:
    return plan(clock_state(incident, await jobs.pages_of(session, incident.id)), policy)


async def replan(
    session: AsyncSession, incident: Incident, policy: Policy, now: datetime
) -> list[Due]:
    """Make the incident's pending rows exactly what the planner wants now.

    Rows no longer wanted are cancelled (kept, for the record); wanted ones missing
    are added, or revived when an identical step was cancelled earlier. Flushes, never
    commits: the caller's transaction decides.
    """
    session.add(incident)
    await session.flush()
    wanted = await planned(session, incident, policy)
    want = {(d.key, d.due_at): d for d in wanted}
    # Rows in every state: a step claimed (being fired) or done is never added again.
    existing = {(j.key, j.due_at): j for j in await jobs.jobs_of(session, incident.id)}
    for slot, job in existing.items():
        if job.state == JobState.PENDING and slot not in want and job.kind != SETUP:
            job.state, job.finished_at = JobState.CANCELLED, now
            session.add(job)
    for slot, due in want.items():
        old = existing.get(slot)
        if old is None:
            session.add(
                DueJob(
                    incident_id=incident.id,
                    key=due.key,
                    kind=due.kind.value,
                    level=due.level,
                    reason=due.reason.value,
                    due_at=due.due_at,
                    token=uuid.uuid4().hex,
                    created_at=now,
                )
            )
        elif old.state == JobState.CANCELLED:
            old.state, old.finished_at, old.token = JobState.PENDING, None, uuid.uuid4().hex
            session.add(old)
    await session.flush()
    return wanted


async def setting_up(session: AsyncSession, incident: Incident) -> bool:
    """Is the incident's channel set-up still to be done (running, or to be resumed)?"""
    return await jobs.has_open_job(session, incident.id, SETUP)


async def finish(session: AsyncSession, job_id: int | None, now: datetime) -> None:
    """Mark a fired row done, in the transaction that records what it did."""
    if job_id is None:
        return
    job = await session.get(DueJob, job_id)
    if job is not None:
        job.state, job.finished_at = JobState.DONE, now
        session.add(job)
