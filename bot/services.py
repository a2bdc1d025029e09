"""Builds the parts once and hands them to whoever needs them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock, SystemClock
from bot.deliverer import Deliverer, Pace
from bot.incidents.access import Access
from bot.incidents.chat import Chat
from bot.incidents.controls import Controls
from bot.incidents.declare import Incidents
from bot.incidents.delivery_problems import DeliveryProblems
from bot.incidents.escalation import Escalations
from bot.incidents.handoffs import Handoffs
from bot.incidents.oncall import OnCallBook
from bot.incidents.outbox import ANNOUNCED, REPORT_INVITES, WHILE_OPEN, Op, Outbox
from bot.incidents.policy_book import PolicyBook
from bot.incidents.publish import Publisher
from bot.incidents.reminders import Nags
from bot.incidents.report import Reports, deliver
from bot.incidents.setup import record_announcement
from bot.incidents.summary import SUMMARY, TOPIC, Summaries
from bot.incidents.timeline import Timeline
from bot.ops.health import SelfCheck
from bot.paging.senders import PagingSenders, paging_reasons
from bot.policy.loader import LoadedPolicy, load_policy
from bot.scheduler import Scheduler
from bot.settings import Role, Settings
from bot.slack.probe import slack_probe
from bot.statuspage.page import StatusPage
from bot.store.engine import make_engine, migrate
from bot.store.outbox import OutboxStore
from bot.store.repo import Store
from bot.store.tables import Incident


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
) -> Services:
    """Load and check the policy first (a broken one stops here), then migrate the store."""
    loaded = policy or load_policy(settings.policy_path)
    engine = make_engine(settings.database_url)
    await migrate(engine)
    store = Store(engine)
    clock = clock or SystemClock()
    policy_book = PolicyBook(store, loaded, clock)
    await policy_book.register()
    outbox = Outbox(clock.now)
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
    paging = PagingSenders(settings.pagerduty_api_url, settings.opsgenie_api_url)
    deliverer.senders[Op.PAGERDUTY] = paging.pagerduty
    deliverer.senders[Op.OPSGENIE] = paging.opsgenie
    if settings.role is not Role.WEB:
        # What this process commits, it delivers at once; a web process leaves its rows
        # (and its declarations' set-ups) to the workers, which poll for them.
        outbox.on_commit(deliverer.wake)
    incidents.sets_up = settings.role is not Role.WEB
    scheduler.deliverer = deliverer
    handoffs = Handoffs(store, chat, policy_book, clock, outbox, escalations.oncall)
    scheduler.every_pass.append(handoffs.run)
    escalations.oncall.changed.append(handoffs.look_again)
    incidents.setup.oncall = escalations.oncall
    access = Access(store, chat)
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
        publisher=Publisher(store, chat, policy_book, clock, controls.checks),
        status_page=StatusPage(store, policy_book, clock),
        reports=Reports(store, timeline, chat, access),
        health=health,
        oncall=escalations.oncall,
    )
