"""Builds the parts once and hands them to whoever needs them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from bot.clock import Clock, SystemClock
from bot.deliverer import Deliverer, Pace
from bot.incidents.access import Access
from bot.incidents.action_items import FILE_ISSUE, ISSUE_FILED, ActionItems, issue_filed
from bot.incidents.archive import Archives
from bot.incidents.chat import Chat
from bot.incidents.controls import Controls
from bot.incidents.declare import Incidents
from bot.incidents.delivery_problems import DeliveryProblems
from bot.incidents.escalation import Escalations
from bot.incidents.follow_through import FollowThrough
from bot.incidents.handoffs import Handoffs
from bot.incidents.oncall import OnCallBook
from bot.incidents.outbox import (
    ANNOUNCED,
    REPORT_INVITES,
    WHILE_OPEN,
    WHILE_PUBLIC,
    WHILE_RESOLVED,
    Op,
    Outbox,
)
from bot.incidents.people import People
from bot.incidents.policy_book import PolicyBook
from bot.incidents.publish import Publisher
from bot.incidents.reminders import Nags
from bot.incidents.report import Reports, deliver
from bot.incidents.setup import record_announcement
from bot.incidents.subscribers import while_public
from bot.incidents.summary import SUMMARY, TOPIC, Summaries
from bot.incidents.timeline import Timeline
from bot.mail import SmtpMailer
from bot.ops.health import SelfCheck
from bot.paging.senders import PagingSenders, paging_reasons
from bot.planning.planner import Kind
from bot.policy.loader import LoadedPolicy, load_policy
from bot.scheduler import Scheduler
from bot.settings import Role, Settings
from bot.slack.probe import slack_probe
from bot.statuspage.page import StatusPage
from bot.store.engine import make_engine, migrate
from bot.store.outbox import OutboxStore
from bot.store.repo import Store
from bot.store.tables import Incident
from bot.trackers.trackers import Trackers


@dataclass
class Services:
    settings: Settings
    policy: PolicyBook
    store: Store
    chat: Chat
    clock: Clock
    incidents: Incidents
    access: Access
    escalations: Escalations
    scheduler: Scheduler
    outbox: Outbox
    deliverer: Deliverer
    timeline: Timeline
    controls: Controls
    reports: Reports
    publisher: Publisher
    status_page: StatusPage
    health: SelfCheck
    # After the incident (bot/incidents/follow_through.py, action_items.py).
    follow_through: FollowThrough
    action_items: ActionItems
    trackers: Trackers
    oncall: OnCallBook

    async def reports_text(self, incident: Incident, what: str) -> str:
        return await deliver(
            self.reports,
            self.chat,
            incident,
            await self.policy.of(incident),
            what,
            self.clock.now(),
        )

    async def close(self) -> None:
        self.scheduler.stop()
        await self.deliverer.drain()
        await self.trackers.close()
        await self.store.close()
        close = getattr(self.chat, "close", None)  # the Slack gateway's HTTP session
        if close is not None:
            await close()


async def build_services(
    settings: Settings,
    chat: Chat,
    *,
    clock: Clock | None = None,
    policy: LoadedPolicy | None = None,
    pace: Pace | None = None,
    people: People | None = None,
) -> Services:
    """Load and check the policy first (a broken one stops here), then migrate the store.
    `people`: names for the postmortem and the export (the chat's IDs without it)."""
    loaded = policy or load_policy(settings.policy_path)
    engine = make_engine(settings.database_url)
    await migrate(engine)
    store = Store(engine)
    clock = clock or SystemClock()
    policy_book = PolicyBook(store, loaded, clock)
    await policy_book.register()
    outbox = Outbox(clock.now, refs=chat)
    escalations = Escalations(store, chat, policy_book, clock, outbox)
    timeline = Timeline(store)
    controls = Controls(store, chat, policy_book, clock, escalations, outbox)
    incidents = Incidents(store, chat, policy_book, clock, outbox)
    scheduler = Scheduler(
        store,
        policy_book,
        clock,
        escalations,
        Nags(store, chat, policy_book, clock, outbox),
        incidents,
        lease=timedelta(seconds=settings.claim_lease),
    )
    deliverer = Deliverer(
        OutboxStore(store),
        chat,
        clock,
        worker=scheduler.worker,
        lease=timedelta(seconds=settings.claim_lease),
        pace=pace,
    )
    problems = DeliveryProblems(store, chat, outbox)
    deliverer.on_done[REPORT_INVITES] = problems.invites_done
    deliverer.on_done[ANNOUNCED] = record_announcement
    # The pinned summary and the topic are made when delivered: the state of then.
    summaries = Summaries(store, chat, policy_book, outbox)
    deliverer.renderers[SUMMARY] = summaries.render_summary
    deliverer.renderers[TOPIC] = summaries.render_topic
    deliverer.on_failed.append(problems.failed)
    deliverer.guards[WHILE_OPEN] = problems.while_open
    deliverer.guards[WHILE_PUBLIC] = while_public(store)
    archives = Archives(store, policy_book, clock, outbox)
    scheduler.steps[Kind.ARCHIVE] = archives.archive
    deliverer.guards[WHILE_RESOLVED] = archives.while_resolved
    paging = PagingSenders(settings.pagerduty_api_url, settings.opsgenie_api_url)
    deliverer.senders[Op.PAGERDUTY] = paging.pagerduty
    deliverer.senders[Op.OPSGENIE] = paging.opsgenie
    if settings.role is not Role.WEB:
        # What this process commits, it delivers at once; a web process leaves its rows
        # (and its declarations' set-ups) to the workers, which poll for them.
        outbox.on_commit(deliverer.wake)
    incidents.sets_up = settings.role is not Role.WEB
    scheduler.deliverer = deliverer
    if settings.smtp_url:
        host = urlsplit(settings.status_base).hostname or "localhost"
        deliverer.mailer = SmtpMailer(settings.smtp_url, sender_host=host)
    handoffs = Handoffs(store, chat, policy_book, clock, outbox, escalations.oncall)
    scheduler.every_pass.append(handoffs.run)
    escalations.oncall.changed.append(handoffs.look_again)
    incidents.setup.oncall = escalations.oncall
    access = Access(store, chat)
    follow_through = FollowThrough(store, chat, policy_book, clock, outbox)
    action_items = ActionItems(store, chat, policy_book, clock, outbox)
    trackers = Trackers(github_api_url=settings.github_api_url, jira_url=settings.jira_url)
    scheduler.firers[Kind.FOLLOW] = follow_through.remind
    scheduler.firers[Kind.ACTION] = action_items.remind_owner
    deliverer.senders[FILE_ISSUE] = trackers.file
    deliverer.on_done[ISSUE_FILED] = issue_filed
    deliverer.on_failed.append(action_items.filing_failed)
    # A declaration's set-up is claimed by this process's worker: a crash hands it back.
    incidents.worker, incidents.in_flight = scheduler.worker, scheduler.in_flight
    health = SelfCheck(settings, store, clock, probe=slack_probe(settings))
    health.more.append(lambda: paging_reasons(store))
    return Services(
        settings=settings,
        policy=policy_book,
        store=store,
        chat=chat,
        clock=clock,
        incidents=incidents,
        access=access,
        escalations=escalations,
        scheduler=scheduler,
        outbox=outbox,
        deliverer=deliverer,
        timeline=timeline,
        controls=controls,
        publisher=Publisher(
            store, chat, policy_book, clock, controls.checks, outbox, settings.status_base
        ),
        status_page=StatusPage(store, policy_book, clock, settings.status_base),
        reports=Reports(store, timeline, chat, access, people),
        health=health,
        follow_through=follow_through,
        action_items=action_items,
        trackers=trackers,
        oncall=escalations.oncall,
    )
