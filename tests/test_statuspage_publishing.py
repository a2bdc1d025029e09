"""The status page as the policy says (issue 16), over signed HTTP and HTTP to /status*:
which severities are published and the reminder to publish within their window; the
draft from the incident as it is (the status and components picked, PUBLIC_URL); the
Resolve modal's "Resolved" update; links from PUBLIC_URL whatever the Host header; the
subscribers (a Slack channel, e-mail) each getting every publication once; a withdrawn
incident leaving the page, the feed and the JSON at once."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import col, select

from bot.clock import VirtualClock
from bot.incidents.errors import IncidentError
from bot.policy import PolicyInvalid, load_policy
from bot.settings import Settings, SettingsError
from bot.slack.ids import Action, View
from bot.store.tables import Incident, Publication
from tests.harness import ROOT, Bot, eventually, start_bot
from tests.helpers import add_test_team
from tests.slack_server import FakeSlack
from tests.smtp_server import SmtpServer

POLICY = ROOT / "tests/policies/statuspage.yaml"
PUBLIC = "https://status.testco.example"
T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
M = timedelta(minutes=1)
CUSTOMERS = ("ops@acme.example", "cto@acme.example")


@dataclass
class World:
    slack: FakeSlack
    bot: Bot
    smtp: SmtpServer
    clock: VirtualClock
    alice: str
    general: str
    customer: str  # #customer-acme, the subscriber channel

    async def declare(self, text: str, slug: str) -> str:
        before = len(self.slack.responses)
        await self.bot.send.command(text, user=self.alice, channel=self.general)
        ch = await eventually(lambda: self.slack.channel_by_name(f"incident-20260314-{slug}"))
        await eventually(lambda: len(self.slack.responses) > before)
        await self.bot.settled()
        return str(ch.id)

    async def incident(self, channel: str) -> Incident:
        inc = await self.bot.services.store.by_channel(channel)
        assert inc is not None
        return inc

    async def at(self, delta: timedelta) -> None:
        self.clock.set(T0 + delta)
        await self.bot.services.scheduler.run_due()
        await self.bot.settled()

    def reminders(self, where: str) -> list[Any]:
        return [m for m in self.slack.messages(where) if "on the status page yet" in m.text]

    async def open_modal(self, action: Action, channel: str, callback: View) -> dict[str, Any]:
        before = len([v for v in self.slack.views if v.view.get("callback_id") == callback])
        inc = await self.incident(channel)
        await self.bot.send.block_action(
            action,
            user=self.alice,
            channel=channel,
            value=str(inc.id),
            message_ts=self.slack.channels[channel].messages[0].ts,
        )
        await eventually(
            lambda: (
                len([v for v in self.slack.views if v.view.get("callback_id") == callback]) > before
            )
        )
        return [v for v in self.slack.views if v.view.get("callback_id") == callback][-1].view

    async def publications(self) -> list[Publication]:
        async with self.bot.services.store.session() as s:
            rows = await s.exec(select(Publication).order_by(col(Publication.id)))
            return list(rows.all())


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    slack = FakeSlack.from_manifest(ROOT / "manifest.yml")
    await slack.start()
    smtp = SmtpServer()
    await smtp.start()
    alice, general = add_test_team(slack)
    customer = slack.add_channel("customer-acme", members=[slack.bot_user_id])
    clock = VirtualClock(T0)
    bot = await start_bot(
        slack,
        f"sqlite+aiosqlite:///{tmp_path}/b.db",
        policy=POLICY,
        clock=clock,
        public_url=PUBLIC,
        smtp_url=smtp.url,
    )
    yield World(slack, bot, smtp, clock, alice, general, customer)
    await bot.stop()
    await smtp.stop()
    await slack.stop()


def blocks_of(view: dict[str, Any]) -> dict[str, Any]:
    return {b.get("block_id"): b for b in view["blocks"]}


def submission(
    status: str | None,
    text_field: str,
    text: str,
    public: str | None,
    components: list[str] = [],  # noqa: B006 - read only
) -> dict[str, Any]:
    values: dict[str, Any] = {
        text_field: {text_field: {"type": "plain_text_input", "value": text}},
    }
    if status is not None:
        values["status"] = {
            "status": {"type": "static_select", "selected_option": {"value": status}}
        }
    if public is not None:
        values["publish"] = {
            "publish": {"type": "checkboxes", "selected_options": [{"value": "yes"}]}
        }
        values["public_text"] = {"public_text": {"type": "plain_text_input", "value": public}}
        values["components"] = {
            "components": {
                "type": "multi_static_select",
                "selected_options": [{"value": c} for c in components],
            }
        }
    return values


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers or {}) as r:
        return r.status, await r.text(), {k.lower(): v for k, v in r.headers.items()}


# -- 1. which severities, and the reminder to publish ---------------------------------


async def test_the_reminder_to_publish_fires_once_per_window_until_something_is_published(
    world: World,
) -> None:
    ch = await world.declare("SEV1 Checkout down", "checkout-down")
    await world.at(14 * M)
    assert world.reminders(ch) == []
    await world.at(15 * M)
    [reminder] = world.reminders(ch)
    assert f"<@{world.alice}>" in reminder.text and "Checkout down" in reminder.text
    assert "within 15m" in reminder.text
    buttons = [
        e["action_id"]
        for b in reminder.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert buttons == [Action.DRAFT_PUBLICATION]
    assert len(world.reminders(world.alice)) == 1  # and by DM
    await world.at(29 * M)
    assert len(world.reminders(ch)) == 1, "once per window"
    await world.at(30 * M)
    assert len(world.reminders(ch)) == 2

    # "Draft it": the update form, publishing ticked, the draft in it; published as is.
    view = await world.open_modal(Action.DRAFT_PUBLICATION, ch, View.PUBLISH)
    blocks = blocks_of(view)
    assert blocks["publish"]["element"]["initial_options"]
    draft = blocks["public_text"]["element"]["initial_value"]
    assert "Checkout down" in draft
    assert blocks["text"]["optional"], "publishing alone is enough here"
    r = await world.bot.send.view_submission(
        View.PUBLISH, submission("identified", "text", "", draft), user=world.alice
    )
    assert r.status == 200 and not r.body, r.body
    await eventually(world.publications)
    await world.bot.settled()
    [pub] = await world.publications()
    assert pub.status == "identified" and "Identified" in pub.text
    timeline = await world.bot.services.store.timeline((await world.incident(ch)).id)
    assert not [e for e in timeline if e.kind == "update"], "no update was asked for"
    for minutes in (45, 60, 120, 240):
        await world.at(minutes * M)
    assert len(world.reminders(ch)) == 2, "nothing more once published"


async def test_no_reminder_and_no_publishing_for_a_severity_the_page_does_not_carry(
    world: World,
) -> None:
    ch = await world.declare("SEV3 Slow reports", "slow-reports")
    for minutes in (15, 30, 60, 240):
        await world.at(minutes * M)
    assert world.reminders(ch) == [] and world.reminders(world.alice) == []
    inc = await world.incident(ch)
    with pytest.raises(IncidentError, match=r"SEV3 incidents are not published.*SEV1, SEV2"):
        await world.bot.services.publisher.publish(inc, world.alice, "hello", "investigating")
    # The command says so too, ephemerally; the update form offers no publishing.
    before = len(world.slack.responses)
    await world.bot.send.command("update --publish all fine", user=world.alice, channel=ch)
    await eventually(lambda: len(world.slack.responses) > before)
    assert "SEV3 incidents are not published" in world.slack.responses[-1]["text"]
    view = await world.open_modal(Action.POST_UPDATE, ch, View.UPDATE)
    assert "public_text" not in blocks_of(view)
    assert await world.publications() == []


async def test_a_severity_change_to_one_not_published_stops_the_reminder(world: World) -> None:
    ch = await world.declare("SEV2 Search slow", "search-slow")
    await world.at(10 * M)
    inc = await world.incident(ch)
    await world.bot.services.controls.set_severity(inc, world.alice, "SEV3")
    await world.bot.settled()
    for minutes in (30, 60, 120):
        await world.at(minutes * M)
    assert world.reminders(ch) == []


# -- 2. the draft, from the incident as it is ------------------------------------------


async def test_the_draft_has_the_picked_status_components_and_public_url(world: World) -> None:
    ch = await world.declare("SEV1 Checkout down", "checkout-down")
    view = await world.open_modal(Action.POST_UPDATE, ch, View.UPDATE)
    blocks = blocks_of(view)
    options = [o["value"] for o in blocks["components"]["element"]["options"]]
    assert options == ["Website", "API", "Checkout"]
    draft = blocks["public_text"]["element"]["initial_value"]
    assert f"{PUBLIC}/status" in draft

    # Published unedited: drafted again with what was picked in the form.
    values = submission("identified", "text", "Bad index", draft, ["API", "Checkout"])
    r = await world.bot.send.view_submission(View.UPDATE, values, user=world.alice)
    assert r.status == 200 and not r.body, r.body
    await eventually(world.publications)
    [pub] = await world.publications()
    assert pub.status == "identified" and pub.components == ["API", "Checkout"]
    assert "Identified" in pub.text and "API, Checkout" in pub.text
    assert f"{PUBLIC}/status" in pub.text and "Bad index" in pub.text

    _, body, _ = await get(world.bot.url + "/status.json")
    data = json.loads(body)
    assert {c["name"]: c["status"] for c in data["components"]} == {
        "Website": "operational",
        "API": "degraded",
        "Checkout": "degraded",
    }
    assert data["incidents"][0]["components"] == ["API", "Checkout"]

    # The next form starts from the components picked last; an edited text goes as typed.
    view = await world.open_modal(Action.POST_UPDATE, ch, View.UPDATE)
    picked = blocks_of(view)["components"]["element"]["initial_options"]
    assert [o["value"] for o in picked] == ["API", "Checkout"]
    values = submission("monitoring", "text", "Rebuilt", "A fix is live.", ["Checkout"])
    r = await world.bot.send.view_submission(View.UPDATE, values, user=world.alice)
    assert r.status == 200 and not r.body, r.body

    async def two() -> bool:
        return len(await world.publications()) == 2

    await eventually(two)
    last = (await world.publications())[-1]
    assert last.text == "A fix is live." and last.components == ["Checkout"]


async def test_bad_publications_are_field_errors_and_publish_nothing(world: World) -> None:
    ch = await world.declare("SEV1 Checkout down", "checkout-down")
    await world.open_modal(Action.POST_UPDATE, ch, View.UPDATE)
    await world.open_modal(Action.DRAFT_PUBLICATION, ch, View.PUBLISH)
    cases = [
        (
            View.UPDATE,
            submission("identified", "text", "x", "Text", ["Billing"]),
            "components",
            "Website",
        ),
        (
            View.UPDATE,
            submission("identified", "text", "x", "", ["API"]),
            "public_text",
            "public text",
        ),
        # "Draft it" with nothing to publish and nothing to post.
        (View.PUBLISH, submission("identified", "text", "", None), "publish", "Tick Publish"),
    ]
    for view, values, field, says in cases:
        r = await world.bot.send.view_submission(view, values, user=world.alice)
        body = r.json()
        assert body is not None and body["response_action"] == "errors", r.body
        assert says in body["errors"][field], body
    assert await world.publications() == []
    timeline = await world.bot.services.store.timeline((await world.incident(ch)).id)
    assert not [e for e in timeline if e.kind == "update"], "the update is not posted either"


# -- 2b. publishing when resolving ---------------------------------------------------


async def test_the_resolve_modal_offers_a_resolved_update(world: World) -> None:
    ch = await world.declare("SEV2 Search slow", "search-slow")
    inc = await world.incident(ch)
    await world.bot.services.publisher.publish(
        inc, world.alice, "Search is slow.", "investigating", components=["Website"]
    )
    view = await world.open_modal(Action.RESOLVE, ch, View.RESOLVE)
    blocks = blocks_of(view)
    draft = blocks["public_text"]["element"]["initial_value"]
    assert "publish" in blocks and not blocks["publish"]["element"].get("initial_options")
    assert draft.startswith("Resolved - Search slow")
    values = submission(None, "summary", "Cache warmed", draft, ["Website"])
    r = await world.bot.send.view_submission(View.RESOLVE, values, user=world.alice)
    assert r.status == 200 and not r.body, r.body

    async def two() -> bool:
        return len(await world.publications()) == 2

    await eventually(two)
    last = (await world.publications())[-1]
    assert last.status == "resolved" and "Cache warmed" in last.text
    assert (await world.incident(ch)).resolved_at is not None
    _, page, _ = await get(world.bot.url + "/status")
    assert "All systems operational" in page and "Resolved in the last 7 days" in page
    # Resolving without ticking it publishes nothing.
    ch2 = await world.declare("SEV2 Login slow", "login-slow")
    await world.open_modal(Action.RESOLVE, ch2, View.RESOLVE)
    values = submission(None, "summary", "Fixed", None)
    r = await world.bot.send.view_submission(View.RESOLVE, values, user=world.alice)
    assert r.status == 200 and not r.body, r.body

    async def resolved() -> bool:
        return (await world.incident(ch2)).resolved_at is not None

    await eventually(resolved)
    await world.bot.settled()
    assert len(await world.publications()) == 2


# -- 3. links from PUBLIC_URL ----------------------------------------------------------

HREF = re.compile(r'href="([^"]+)"')


async def test_links_come_from_public_url_whatever_the_host_header(world: World) -> None:
    ch = await world.declare("SEV1 Checkout down", "checkout-down")
    inc = await world.incident(ch)
    await world.bot.services.publisher.publish(inc, world.alice, "Looking.", "investigating")
    for host in (None, "127.0.0.1:3000", "evil.example", "status.testco.example:8443"):
        headers = {"Host": host} if host else {}
        _, page, _ = await get(world.bot.url + "/status", headers)
        _, feed, _ = await get(world.bot.url + "/status/feed.atom", headers)
        _, body, _ = await get(world.bot.url + "/status.json", headers)
        links = HREF.findall(page) + HREF.findall(feed)
        assert links and all(link.startswith(f"{PUBLIC}/status") for link in links), links
        data = json.loads(body)
        urls = [data["url"], data["feed_url"], *(i["url"] for i in data["incidents"])]
        assert all(u.startswith(f"{PUBLIC}/status") for u in urls), urls
        for text in (page, feed, body):
            assert "127.0.0.1" not in text and "evil" not in text


# -- 4. subscribers ---------------------------------------------------------------------


async def test_a_subscriber_channel_and_each_address_get_every_publication_once(
    world: World,
) -> None:
    ch = await world.declare("SEV1 Checkout down", "checkout-down")
    inc = await world.incident(ch)
    pub = world.bot.services.publisher
    world.smtp.busy = 1  # the SMTP server asks for a retry once: tried again, sent once
    await pub.publish(inc, world.alice, "We are looking into slow checkouts.", "investigating")
    await pub.publish(inc, world.alice, "A fix is live.", "monitoring")
    await world.bot.settled()
    world.clock.advance(timedelta(seconds=10))  # past the retry's wait
    await world.bot.settled()
    for _ in range(3):  # delivering again sends nothing more
        await world.bot.services.deliverer.run_once()
    posts = [m.text for m in world.slack.messages(world.customer)]
    assert len(posts) == 2, posts
    assert "We are looking into slow checkouts." in posts[0] and "A fix is live." in posts[1]
    assert all(f"{PUBLIC}/status" in p for p in posts)
    for address in CUSTOMERS:
        mails = world.smtp.to(address)
        assert [m.body.splitlines()[0] for m in mails] == [
            "We are looking into slow checkouts.",
            "A fix is live.",
        ], address
        assert len({m.message_id for m in mails}) == 2
        assert mails[0].sender == "status@testco.example"
        assert mails[0].subject == "[Testco Status] Investigating: Checkout down"
    assert ch not in json.dumps([m.body for m in world.smtp.mails])


# -- 5. withdrawal --------------------------------------------------------------------


async def test_a_withdrawn_incident_leaves_the_page_feed_and_json_at_once(
    world: World,
) -> None:
    ch = await world.declare("SEV1 Checkout down", "checkout-down")
    inc = await world.incident(ch)
    await world.bot.services.publisher.publish(inc, world.alice, "Slow checkouts.", "identified")
    before: dict[str, str] = {}
    for path in ("/status", "/status.json", "/status/feed.atom"):
        status, body, headers = await get(world.bot.url + path)
        assert status == 200 and "Slow checkouts." in body
        assert "no-cache" in headers["cache-control"] and headers["etag"]
        before[path] = headers["etag"]
        # The same copy is revalidated cheaply while nothing changed.
        again, _, _ = await get(world.bot.url + path, {"If-None-Match": headers["etag"]})
        assert again == 304
    world.smtp.busy = len(CUSTOMERS)  # these e-mails wait for a retry...
    await world.bot.services.publisher.publish(inc, world.alice, "Still slow.", "identified")
    await world.bot.settled()
    async with world.bot.services.store.session() as s:
        row = await s.get(Incident, inc.id)
        assert row is not None
        row.private = True  # what a change to a private severity does (issue 13)
        s.add(row)
        await s.commit()
    world.clock.advance(timedelta(seconds=10))  # ...which comes after the withdrawal
    await world.bot.settled()
    assert world.smtp.busy == 0 and not [m for m in world.smtp.mails if "Still" in m.body]
    for path, tag in before.items():
        status, body, headers = await get(world.bot.url + path, {"If-None-Match": tag})
        assert status == 200 and headers["etag"] != tag, path
        assert "Slow checkouts." not in body and "Checkout down" not in body, path
    _, page, _ = await get(world.bot.url + "/status")
    assert "All systems operational" in page


# -- bad configuration ----------------------------------------------------------------


def test_public_url_and_smtp_url_are_checked_at_start() -> None:
    s = Settings.from_env({"PUBLIC_URL": "https://status.example.com/", "PORT": "8080"})
    assert s.public_url == "https://status.example.com" and s.status_base == s.public_url
    assert Settings.from_env({"PORT": "8080"}).status_base == "http://localhost:8080"
    with pytest.raises(SettingsError, match=r"PUBLIC_URL must be .*https://status.example.com"):
        Settings.from_env({"PUBLIC_URL": "status.example.com"})
    with pytest.raises(SettingsError, match="SMTP_URL must be smtp://") as caught:
        Settings.from_env({"SMTP_URL": "mail.example.com:25?password=s3cret"})
    assert "s3cret" not in str(caught.value)
    s = Settings.from_env({"SMTP_URL": "smtp://bot:s3cret@mail.example.com:587"})
    assert s.smtp_url and "s3cret" not in repr(s)


def test_policy_mistakes_on_the_status_page_name_the_line_and_field(tmp_path: Path) -> None:
    text = POLICY.read_text()
    cases = [
        (
            text.replace(
                "    status_page: false\n", "    status_page: false\n    publish_within: 1h\n"
            ),
            "publish_within: 1h",
            "needs status_page: true",
        ),
        (
            text.replace("emails: [ops@acme.example", "emails: [ops-at-acme"),
            "ops-at-acme",
            "is not an e-mail address",
        ),
        (
            text.replace("components: [Website, API, Checkout]", "components: [API, api]"),
            "components: [API, api]",
            'component "api" is listed twice',
        ),
    ]
    for broken, needle, says in cases:
        path = tmp_path / "policy.yaml"
        path.write_text(broken)
        with pytest.raises(PolicyInvalid) as caught:
            load_policy(path)
        [err] = caught.value.errors
        line = next(i for i, t in enumerate(broken.splitlines(), 1) if needle in t)
        assert says in err.message and err.line == line, (str(err), line)
