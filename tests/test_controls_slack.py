"""The commander's controls through every door Slack offers: each control by command and
by button/modal, refusals that change nothing, and the clocks each change re-plans.

Modal answers are filled into the blocks of the modal the bot actually opened (see
`submit`), so a builder and its submission handler cannot drift apart unnoticed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.clock import VirtualClock
from bot.slack.ids import Action, View
from bot.store.tables import Incident, Page, Participant, TimelineEntry
from tests.harness import ROOT, TEST_POLICY, Bot, eventually, start_bot
from tests.helpers import (
    DeclaredIncident,
    add_test_team,
    declare_checkout_errors,
    pending_jobs,
    posts,
    say,
    virtual_clock,
)
from tests.modal_forms import modal_values
from tests.modal_forms import modals as modal_list
from tests.slack_requests import Response
from tests.slack_server import FakeSlack

MANIFEST = ROOT / "manifest.yml"
T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)  # the `incident` fixture declares SEV2 then


# --- helpers -------------------------------------------------------------------------


async def click(bot: Bot, action: Action, user: str, channel: str, ts: str) -> int:
    """Click a button on a message; returns how many response_url answers came before."""
    before = len(bot.slack.responses)
    r = await bot.send.block_action(action, user=user, channel=channel, value="1", message_ts=ts)
    assert r.status == 200 and not r.body
    return before


async def answer_after(bot: Bot, before: int) -> str:
    await eventually(lambda: len(bot.slack.responses) > before)
    await bot.settled()
    answer = bot.slack.responses[before]
    assert answer.get("response_type") == "ephemeral" and answer.get("replace_original") is False
    return str(answer["text"])


def modals(slack: FakeSlack, view: View) -> list[dict[str, Any]]:
    return modal_list(slack, view.value)


async def opened(slack: FakeSlack, view: View) -> dict[str, Any]:
    await eventually(lambda: modals(slack, view))
    return modals(slack, view)[-1]


async def submit(bot: Bot, view: View, user: str, **answers: str) -> Response:
    """Submit the latest modal of `view` as Slack would."""
    values = modal_values(modals(bot.slack, view)[-1], **answers)
    return await bot.send.view_submission(view, values, user=user)


def errors_of(r: Response) -> dict[str, str]:
    body = r.json()
    assert body and body["response_action"] == "errors", r.body
    return dict(body["errors"])


async def incident_row(bot: Bot) -> Incident:
    inc = await bot.services.store.get(1)
    assert inc is not None
    return inc


async def entries(bot: Bot, kind: str) -> list[TimelineEntry]:
    return [e for e in await bot.services.store.timeline(1) if e.kind == kind]


def pinned_ts(slack: FakeSlack, ch: str) -> str:
    return slack.channels[ch].messages[0].ts


def member(slack: FakeSlack, ch: str, name: str) -> str:
    user = slack.add_user(name)
    slack.channels[ch].members.add(user)
    return user


# --- update and status -----------------------------------------------------------------


async def test_update_by_command_takes_a_leading_status_word(incident: DeclaredIncident) -> None:
    slack, bot, ch, alice = incident
    virtual_clock(bot).advance(timedelta(minutes=20))
    assert "Update posted" in await say(bot, "update investigating still looking", alice, ch)
    inc = await incident_row(bot)
    assert inc.status == "investigating" and inc.last_update_at == T0 + timedelta(minutes=20)
    [entry] = await entries(bot, "update")
    assert entry.text == "still looking" and entry.author_id == alice
    assert any("still looking" in t and "Investigating" in t for t in posts(slack, ch))
    assert await pending_jobs(bot, "nag") == [T0 + timedelta(minutes=50)]


async def test_update_resets_reminder_counters_and_snooze(incident: DeclaredIncident) -> None:
    _slack, bot, ch, alice = incident
    await bot.services.store.update_incident(
        1, nags_since_update=2, nag_escalations=1, snoozed_until=T0 + timedelta(hours=2)
    )
    await say(bot, "update identified bad deploy", alice, ch)
    inc = await incident_row(bot)
    assert (inc.nags_since_update, inc.nag_escalations, inc.snoozed_until) == (0, 0, None)
    assert inc.status == "identified"
    [entry] = await entries(bot, "update")
    assert (entry.data or {}).get("status") == {"from": "investigating", "to": "identified"}


async def test_status_by_command(incident: DeclaredIncident) -> None:
    slack, bot, ch, alice = incident
    assert "monitoring" in await say(bot, "status monitoring", alice, ch)
    assert (await incident_row(bot)).status == "monitoring"
    [entry] = await entries(bot, "status")
    assert "investigating" in entry.text and "monitoring" in entry.text
    assert any("Monitoring" in t for t in posts(slack, ch))
    # The final status is reached by resolving, with a summary.
    assert "/incident resolve" in await say(bot, "status resolved", alice, ch)
    assert (await incident_row(bot)).resolved_at is None


async def test_update_by_the_reminder_dm_button(incident: DeclaredIncident) -> None:
    slack, bot, ch, alice = incident
    virtual_clock(bot).set(T0 + timedelta(minutes=30))
    assert await bot.services.scheduler.run_due() == 1
    dm = next(m for m in slack.dms[alice] if m.blocks and "status update" in m.text)
    im = next(i for i, u in slack.im_channels.items() if u == alice)
    r = await bot.send.block_action(
        Action.POST_UPDATE, user=alice, channel=im, value="1", message_ts=dm.ts
    )
    assert r.status == 200
    modal = await opened(slack, View.UPDATE)
    statuses = [
        o["value"]
        for b in modal["blocks"]
        if b.get("block_id") == "status"
        for o in b["element"]["options"]
    ]
    assert statuses == ["investigating", "identified", "monitoring"], "no final status"
    assert len(modal["title"]["text"]) <= 24
    r = await submit(bot, View.UPDATE, alice, status="identified", text="Found it")
    assert r.status == 200 and not r.body
    await eventually(lambda: any("Found it" in t for t in posts(slack, ch)))
    inc = await incident_row(bot)
    assert inc.status == "identified" and inc.nags_since_update == 0
    assert await pending_jobs(bot, "nag") == [T0 + timedelta(minutes=60)]


async def test_an_empty_update_modal_is_answered_on_its_field(incident: DeclaredIncident) -> None:
    slack, bot, ch, alice = incident
    await click(bot, Action.POST_UPDATE, alice, ch, pinned_ts(slack, ch))
    await opened(slack, View.UPDATE)
    r = await submit(bot, View.UPDATE, alice, status="identified", text="  ")
    assert set(errors_of(r)) == {"text"}
    assert await entries(bot, "update") == []


# --- severity ----------------------------------------------------------------------------


async def test_severity_by_button_and_modal_replans_the_cadence(incident: DeclaredIncident) -> None:
    slack, bot, ch, alice = incident
    assert await pending_jobs(bot, "nag") == [T0 + timedelta(minutes=30)], "SEV2: every 30m"
    virtual_clock(bot).advance(timedelta(minutes=5))
    await click(bot, Action.CHANGE_SEVERITY, alice, ch, pinned_ts(slack, ch))
    modal = await opened(slack, View.SEVERITY)
    assert modal["private_metadata"] == "1"
    r = await submit(bot, View.SEVERITY, alice, severity="SEV1")
    assert r.status == 200 and not r.body, r.body

    async def replanned() -> bool:
        return await pending_jobs(bot, "nag") == [T0 + timedelta(minutes=15)]

    await eventually(replanned)
    inc = await incident_row(bot)
    assert inc.severity == "SEV1" and inc.severity_since == T0 + timedelta(minutes=5)
    assert [e.text for e in await entries(bot, "severity")] == ["Severity SEV2 → SEV1"]
    await eventually(lambda: any("SEV1" in t and "15m" in t for t in posts(slack, ch)))
    # The same severity again is a mistake, answered on the field.
    r = await submit(bot, View.SEVERITY, alice, severity="SEV1")
    assert set(errors_of(r)) == {"severity"}


async def test_severity_by_command_back_and_forth(incident: DeclaredIncident) -> None:
    _slack, bot, ch, alice = incident
    assert "SEV1" in await say(bot, "severity p1", alice, ch)  # an alias
    assert await pending_jobs(bot, "nag") == [T0 + timedelta(minutes=15)]
    virtual_clock(bot).advance(timedelta(minutes=10))
    assert "SEV2" in await say(bot, "severity SEV2", alice, ch)
    assert await pending_jobs(bot, "nag") == [T0 + timedelta(minutes=30)]
    assert "already SEV2" in await say(bot, "severity sev2", alice, ch)


async def test_only_the_commander_changes_severity_by_command_or_button(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    bob = member(slack, ch, "bob")
    answer = await say(bot, "severity SEV1", bob, ch)
    assert "may not change the severity" in answer and f"<@{alice}>" in answer
    before = await click(bot, Action.CHANGE_SEVERITY, bob, ch, pinned_ts(slack, ch))
    assert "may not change the severity" in await answer_after(bot, before)
    assert modals(slack, View.SEVERITY) == []
    assert (await incident_row(bot)).severity == "SEV2"
    assert await entries(bot, "severity") == []
    assert await pending_jobs(bot, "nag") == [T0 + timedelta(minutes=30)]


# --- resolve -----------------------------------------------------------------------------


async def test_resolve_by_button_and_modal_stops_every_clock(incident: DeclaredIncident) -> None:
    slack, bot, ch, alice = incident
    await say(bot, "escalate help", alice, ch)  # a page, so an escalation row could exist
    assert await pending_jobs(bot, "nag")
    virtual_clock(bot).advance(timedelta(minutes=40))
    await click(bot, Action.RESOLVE, alice, ch, pinned_ts(slack, ch))
    await opened(slack, View.RESOLVE)
    r = await submit(bot, View.RESOLVE, alice, summary="Rolled back the deploy")
    assert r.status == 200 and not r.body, r.body

    async def resolved() -> bool:
        return (await incident_row(bot)).resolved_at is not None

    await eventually(resolved)
    inc = await incident_row(bot)
    assert inc.status == "resolved" and inc.summary == "Rolled back the deploy"
    assert inc.resolved_at == T0 + timedelta(minutes=40)
    assert await pending_jobs(bot) == []
    await eventually(lambda: any("Resolved: INC-1" in t for t in posts(slack, ch)))
    assert any("40m" in t for t in posts(slack, ch) if "Resolved" in t)
    announced = slack.channel_by_name("incidents")
    assert announced is not None
    await eventually(lambda: any("INC-1 resolved" in m.text for m in announced.messages))


async def test_a_refused_resolve_changes_nothing_by_command_button_or_modal(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    bob = member(slack, ch, "bob")
    answer = await say(bot, "resolve all good", bob, ch)
    assert "may not resolve" in answer and "tech lead" in answer
    before = await click(bot, Action.RESOLVE, bob, ch, pinned_ts(slack, ch))
    assert "may not resolve" in await answer_after(bot, before)
    assert modals(slack, View.RESOLVE) == []
    # Alice opens the modal, hands over command, then submits: checked again on submit.
    await click(bot, Action.RESOLVE, alice, ch, pinned_ts(slack, ch))
    await opened(slack, View.RESOLVE)
    await say(bot, f"commander <@{bob}>", alice, ch)
    r = await submit(bot, View.RESOLVE, alice, summary="done")
    assert "may not resolve" in errors_of(r)["summary"]
    inc = await incident_row(bot)
    assert inc.resolved_at is None and inc.status == "investigating"
    assert await entries(bot, "resolve") == []
    assert await pending_jobs(bot, "nag")


async def test_a_resolved_incident_refuses_changes_but_takes_notes(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    await say(bot, "resolve fixed", alice, ch)
    kinds_before = [e.kind for e in await bot.services.store.timeline(1)]
    for text in (
        "update more",
        "status monitoring",
        "severity SEV1",
        "escalate",
        "ack",
        "resolve again",
        f"role scribe <@{alice}>",
    ):
        assert "resolved" in (await say(bot, text, alice, ch)), text
    before = await click(bot, Action.POST_UPDATE, alice, ch, pinned_ts(slack, ch))
    assert "resolved" in await answer_after(bot, before)
    assert [e.kind for e in await bot.services.store.timeline(1)] == kinds_before
    assert "Noted" in await say(bot, "note the follow-up is JIRA-1", alice, ch)
    assert [e.text for e in await entries(bot, "note")] == ["the follow-up is JIRA-1"]


async def test_a_private_incident_is_resolved_without_announcing_it(
    incident: DeclaredIncident,
) -> None:
    slack, bot, _ch, alice = incident
    general = slack.channel_by_name("general")
    assert general is not None
    before = len(slack.responses)
    await bot.send.command("SEC Leaked deploy key", user=alice, channel=general.id)
    await eventually(lambda: any("INC-2 declared" in str(r) for r in slack.responses[before:]))
    private = await eventually(lambda: slack.channel_by_name("incident-20260314-leaked-deploy-key"))
    assert private.is_private
    assert "resolved" in await say(bot, "resolve Key rotated", alice, private.id)
    await eventually(lambda: any("Resolved: INC-2" in t for t in posts(slack, private.id)))
    announced = slack.channel_by_name("incidents")
    assert announced is not None
    assert not [m for m in announced.messages if "INC-2" in m.text or "Leaked" in m.text]


# --- escalate, ack -----------------------------------------------------------------------


async def test_escalate_by_button_opens_a_modal_and_pages_once_submitted(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    await click(bot, Action.ESCALATE, alice, ch, pinned_ts(slack, ch))
    modal = await opened(slack, View.ESCALATE)
    [level] = [b for b in modal["blocks"] if b.get("block_id") == "level"]
    assert [o["value"] for o in level["element"]["options"]] == ["0"]
    assert level["element"]["initial_option"]["value"] == "0", "the next level is chosen"
    # The modal is the confirmation: nothing is paged until it is submitted.
    assert await entries(bot, "escalation") == []
    r = await submit(bot, View.ESCALATE, alice, level="0", reason="database is melting")
    assert r.status == 200 and not r.body
    # The page is committed first; its invite follows from the outbox.
    await eventually(lambda: "U0LEAD" in slack.channels[ch].members)
    [entry] = await entries(bot, "escalation")
    assert entry.author_id == alice and "database is melting" in entry.text
    async with bot.services.store.session() as s:
        [page] = (await s.exec(select(Page))).all()
    assert page.level == 0 and page.acked_at is None
    # Opened again, the level says it was paged; paging it again is a person's call.
    await click(bot, Action.ESCALATE, alice, ch, pinned_ts(slack, ch))
    await eventually(lambda: len(modals(slack, View.ESCALATE)) == 2)
    [level] = [
        b for b in modals(slack, View.ESCALATE)[-1]["blocks"] if b.get("block_id") == "level"
    ]
    assert level["element"]["options"][0]["text"]["text"] == "Lead (paged already)"


async def test_an_outsiders_escalate_click_pages_nobody(incident: DeclaredIncident) -> None:
    slack, bot, ch, _alice = incident
    outsider = slack.add_user("mallory")  # not in the incident channel, holds no role
    before = await click(bot, Action.ESCALATE, outsider, ch, pinned_ts(slack, ch))
    answer = await answer_after(bot, before)
    assert "may not escalate" in answer and "members of the incident channel" in answer
    assert modals(slack, View.ESCALATE) == []
    assert "may not escalate" in await say(bot, "escalate to Lead now", outsider, ch)
    # A member of the channel may.
    bob = member(slack, ch, "bob")
    assert "Escalated to Lead" in await say(bot, "escalate to Lead db down", bob, ch)
    [entry] = await entries(bot, "escalation")
    assert entry.author_id == bob


async def test_escalate_aims_at_a_level_by_name(incident: DeclaredIncident) -> None:
    _slack, bot, ch, alice = incident
    answer = await say(bot, "escalate to Legal now", alice, ch)
    assert "No escalation level is named `Legal now`" in answer and "`Lead`" in answer
    assert await entries(bot, "escalation") == []
    assert "Escalated to Lead" in await say(bot, "escalate lead the disk is full", alice, ch)
    [entry] = await entries(bot, "escalation")
    assert "the disk is full" in entry.text and "lead the disk" not in entry.text


async def test_ack_marks_every_open_page(incident: DeclaredIncident) -> None:
    slack, bot, ch, _alice = incident
    earlier = T0 + timedelta(minutes=1)
    async with bot.services.store.session() as s:
        s.add(Page(incident_id=1, level=0, reason="manual", first_at=T0, last_at=T0))
        s.add(
            Page(
                incident_id=1,
                level=1,
                reason="manual",
                first_at=T0,
                last_at=T0,
                acked_at=earlier,
                acked_by="U0LEAD",
            )
        )
        await s.commit()
    virtual_clock(bot).advance(timedelta(minutes=3))
    bob = member(slack, ch, "bob")
    assert "Acknowledged (1 page)" in await say(bot, "ack", bob, ch)
    async with bot.services.store.session() as s:
        pages = {p.level: p for p in (await s.exec(select(Page))).all()}
    assert (pages[0].acked_at, pages[0].acked_by) == (T0 + timedelta(minutes=3), bob)
    assert (pages[1].acked_at, pages[1].acked_by) == (earlier, "U0LEAD"), "untouched"
    assert len(await entries(bot, "ack")) == 1
    assert "Nothing to acknowledge" in await say(bot, "ack", bob, ch)
    assert len(await entries(bot, "ack")) == 1


# --- snooze --------------------------------------------------------------------------------


async def test_snooze_from_the_reminder_moves_the_next_reminder_only(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    virtual_clock(bot).set(T0 + timedelta(minutes=30))
    assert await bot.services.scheduler.run_due() == 1
    assert await pending_jobs(bot, "nag") == [T0 + timedelta(minutes=60)]
    nag = next(m for m in slack.messages(ch) if m.blocks and "status update" in m.text)
    virtual_clock(bot).set(T0 + timedelta(minutes=32))
    await click(bot, Action.SNOOZE, alice, ch, nag.ts)
    modal = await opened(slack, View.SNOOZE)
    choices = [
        o["value"]
        for b in modal["blocks"]
        if b.get("block_id") == "duration"
        for o in b["element"]["options"]
    ]
    assert choices == ["15m", "30m", "1h"]
    r = await submit(bot, View.SNOOZE, alice, duration="1h")
    assert r.status == 200 and not r.body

    async def snoozed() -> bool:
        return await pending_jobs(bot, "nag") == [T0 + timedelta(minutes=92)]

    await eventually(snoozed)
    assert (await incident_row(bot)).snoozed_until == T0 + timedelta(minutes=92)
    assert [e.kind for e in await entries(bot, "snooze")] == ["snooze"]
    # That reminder fires at 11:02; the next is one cadence after it, not after the snooze.
    virtual_clock(bot).set(T0 + timedelta(minutes=92))
    assert await bot.services.scheduler.run_due() == 1
    assert await pending_jobs(bot, "nag") == [T0 + timedelta(minutes=122)]
    assert (await incident_row(bot)).snoozed_until is None


# --- commander, roles, notes -------------------------------------------------------------


async def test_hand_over_and_roles(incident: DeclaredIncident) -> None:
    slack, bot, ch, alice = incident
    bob, carol = slack.add_user("bob"), slack.add_user("carol")
    assert "may not hand over" in await say(bot, f"commander <@{carol}>", carol, ch)
    assert "may not assign roles" in await say(bot, f"role scribe <@{carol}>", carol, ch)
    assert "Unknown role" in await say(bot, f"role jester <@{carol}>", alice, ch)
    assert "scribe" in await say(bot, f"role scribe <@{bob}>", alice, ch)
    assert "scribe" in await say(bot, f"role scribe <@{carol}>", alice, ch)
    async with bot.services.store.session() as s:
        rows = (await s.exec(select(Participant).where(Participant.role == "scribe"))).all()
    assert [r.user_id for r in rows] == [carol], "one holder per role"
    assert {bob, carol} <= slack.channels[ch].members
    assert len(await entries(bot, "role")) == 2

    assert "commander" in await say(bot, f"commander <@{bob}>", alice, ch)
    inc = await incident_row(bot)
    assert inc.commander_id == bob
    [entry] = await entries(bot, "commander")
    assert entry.author_id == alice and bob in entry.text
    # Reminders now go to the new commander.
    virtual_clock(bot).set(T0 + timedelta(minutes=30))
    await bot.services.scheduler.run_due()
    assert any("status update" in m.text for m in slack.dms.get(bob, []))


async def test_a_note_goes_to_the_timeline_as_a_key_event(incident: DeclaredIncident) -> None:
    slack, bot, ch, _alice = incident
    bob = member(slack, ch, "bob")
    n = len(posts(slack, ch))
    assert "Noted" in await say(bot, "note restarted the primary", bob, ch)
    [entry] = await entries(bot, "note")
    assert entry.key_event and entry.author_id == bob and entry.text == "restarted the primary"
    assert len(posts(slack, ch)) == n, "a note is confirmed ephemerally, not posted"


async def test_controls_outside_an_incident_channel(incident: DeclaredIncident) -> None:
    slack, bot, _ch, alice = incident
    general = slack.channel_by_name("general")
    assert general is not None
    r = await bot.send.command("resolve done", user=alice, channel=general.id)
    body = r.json()
    assert body is not None and body["response_type"] == "ephemeral"
    assert "incident channel" in body["text"]
    assert (await incident_row(bot)).resolved_at is None


# --- permissions through user groups ------------------------------------------------------


@pytest.fixture
async def grouped(tmp_path: Path) -> AsyncIterator[tuple[FakeSlack, Bot, str, str, str]]:
    """SEV2 declared by alice; severity may also be changed by the on-call group (carol)."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        TEST_POLICY.read_text().replace(
            "permissions:\n", "permissions:\n  severity: [commander, usergroup:oncall]\n"
        )
    )
    slack = FakeSlack.from_manifest(MANIFEST)
    await slack.start()
    carol = slack.add_user("carol")
    alice, general = add_test_team(slack, oncall=[carol])
    bot = await start_bot(
        slack, f"sqlite+aiosqlite:///{tmp_path}/b.db", policy=policy, clock=VirtualClock(T0)
    )
    ch = await declare_checkout_errors(bot, alice, general)
    yield slack, bot, ch, alice, carol
    await bot.stop()
    await slack.stop()


async def test_a_usergroup_grant_is_checked_against_the_group(
    grouped: tuple[FakeSlack, Bot, str, str, str],
) -> None:
    slack, bot, ch, _alice, carol = grouped
    dave = member(slack, ch, "dave")
    answer = await say(bot, "severity SEV1", dave, ch)
    assert "may not change the severity" in answer and "oncall" in answer
    assert "SEV1" in await say(bot, "severity SEV1", carol, ch)
    assert (await incident_row(bot)).severity == "SEV1"
    # Leaving the group takes the right away.
    slack.usergroups["S0ONCALL"].users.remove(carol)
    assert "may not change" in await say(bot, "severity SEV2", carol, ch)


async def test_a_button_whose_modal_cannot_open_tells_the_user_and_logs_no_error(
    incident: DeclaredIncident, caplog: pytest.LogCaptureFixture
) -> None:
    """A trigger past its 3 s (a slow click, a replayed payload) is no bug: the clicker is
    told to click again; nothing is logged as an unhandled error."""
    slack, bot, ch, alice = incident
    slack.fail("views.open", error="expired_trigger_id")
    before = await click(bot, Action.POST_UPDATE, alice, ch, pinned_ts(slack, ch))
    text = await answer_after(bot, before)
    assert "expired_trigger_id" in text and "Click again" in text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
