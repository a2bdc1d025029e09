"""After the incident, over signed HTTP on the virtual clock: the policy's follow-through
steps remind the commander at their offsets after resolution until marked done, and
action items DM their owner, remind once before due and show in the App Home."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import VirtualClock
from bot.policy import PolicyInvalid, load_policy
from bot.slack.ids import Action, View
from bot.store.tables import Incident
from tests.harness import ROOT, TEST_POLICY, Bot, eventually, start_bot
from tests.helpers import (
    DeclaredIncident,
    add_test_team,
    declare_checkout_errors,
    pending_jobs,
    say,
    virtual_clock,
)
from tests.slack_server import FakeSlack

POLICY = ROOT / "tests/policies/follow.yaml"
T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)  # the SEV2 is declared then
RESOLVED = T0 + timedelta(minutes=10)
H = timedelta(hours=1)


@pytest.fixture
async def follow(tmp_path: Path) -> AsyncIterator[DeclaredIncident]:
    """The `incident` fixture's SEV2, under a policy with follow-through steps."""
    slack = FakeSlack.from_manifest(ROOT / "manifest.yml")
    await slack.start()
    alice, general = add_test_team(slack)
    slack.add_user("bob", id="U0BOB")
    bot = await start_bot(
        slack, f"sqlite+aiosqlite:///{tmp_path}/f.db", policy=POLICY, clock=VirtualClock(T0)
    )
    ch = await declare_checkout_errors(bot, alice, general)
    yield DeclaredIncident(slack, bot, ch, alice)
    await bot.stop()
    await slack.stop()


async def at(bot: Bot, when: datetime) -> int:
    virtual_clock(bot).set(when)
    fired = await bot.services.scheduler.run_due()
    await bot.settled()
    return fired


def dms(slack: FakeSlack, user: str, words: str) -> list[str]:
    return [m.text for m in slack.dms.get(user, []) if words in m.text]


def im_of(slack: FakeSlack, user: str) -> str:
    return next(i for i, u in slack.im_channels.items() if u == user)


async def click_in_dm(bot: Bot, action: Action, user: str, words: str) -> str:
    """Press a button on the latest DM to `user` containing `words`; the ephemeral answer."""
    dm = [m for m in bot.slack.dms[user] if words in m.text and m.blocks][-1]
    before = len(bot.slack.responses)
    r = await bot.send.block_action(
        action, user=user, channel=im_of(bot.slack, user), message_ts=dm.ts
    )
    assert r.status == 200
    await eventually(lambda: len(bot.slack.responses) > before)
    await bot.settled()
    return str(bot.slack.responses[before]["text"])


async def the_incident(bot: Bot) -> Incident:
    found = await bot.services.store.get(1)
    assert found is not None
    return found


async def resolve(bot: Bot, alice: str, ch: str) -> None:
    virtual_clock(bot).set(RESOLVED)
    assert "resolved" in await say(bot, "resolve Rolled back the deploy", alice, ch)


async def test_review_and_publish_reminders_fire_at_their_offsets_and_stop_on_done(
    follow: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = follow
    assert await pending_jobs(bot, "follow") == []  # nothing is owed while open
    await resolve(bot, alice, ch)
    # The SEV1-only step is not owed by a SEV2.
    assert await pending_jobs(bot, "follow") == [
        RESOLVED + 24 * H,
        RESOLVED + 48 * H,
        RESOLVED + 7 * 24 * H,
    ]
    # Action items come out of the review: the resolved incident's channel still takes them.
    assert "AI-1" in await say(bot, "action Write down the review's findings", alice, ch)
    # The commander's App Home lists what is owed, soonest first.
    await bot.send.event({"type": "app_home_opened", "user": alice, "tab": "home", "event_ts": "1"})
    home = await eventually(lambda: [v for v in slack.views if v.method == "views.publish"])
    texts = [b.get("text", {}).get("text", "") for b in home[-1].view["blocks"]]
    owed = [t for t in texts if t.startswith("*INC-1*") and "due" in t]
    assert [t.split(" · ")[0] for t in owed] == [
        "*INC-1* Schedule the post-incident review",
        "*INC-1* Hold the post-incident review",
        "*INC-1* Publish the postmortem",
    ]
    await at(bot, RESOLVED + 24 * H - timedelta(minutes=1))
    assert dms(slack, alice, "Schedule the post-incident review") == []
    assert await at(bot, RESOLVED + 24 * H) == 1
    [reminder] = dms(slack, alice, "Schedule the post-incident review")
    assert "INC-1" in reminder
    dm = [m for m in slack.dms[alice] if "Schedule the post-incident" in m.text][-1]
    labels = [e["text"]["text"] for b in dm.blocks or [] for e in b.get("elements", [])]
    assert labels == ["Done", "Snooze 1 day"]
    # Not done: again a day later (repeat_every 1d), beside the hold-review step.
    assert RESOLVED + 48 * H in await pending_jobs(bot, "follow")
    answer = await click_in_dm(bot, Action.FOLLOW_DONE, alice, "Schedule the post-incident")
    assert "done" in answer.lower()
    assert await at(bot, RESOLVED + 48 * H) == 1  # the hold step only
    assert len(dms(slack, alice, "Schedule the post-incident review")) == 1
    assert len(dms(slack, alice, "Hold the post-incident review")) == 1
    await click_in_dm(bot, Action.FOLLOW_DONE, alice, "Hold the post-incident")
    assert await at(bot, RESOLVED + 7 * 24 * H) == 1
    assert len(dms(slack, alice, "Publish the postmortem")) == 1
    # Snooze: the next reminder a day from now instead of the 2-day repeat.
    answer = await click_in_dm(bot, Action.FOLLOW_SNOOZE, alice, "Publish the postmortem")
    assert "remind you again" in answer
    snoozed = RESOLVED + 8 * 24 * H
    assert await pending_jobs(bot, "follow") == [snoozed]
    assert await at(bot, snoozed) == 1
    assert len(dms(slack, alice, "Publish the postmortem")) == 2
    await click_in_dm(bot, Action.FOLLOW_DONE, alice, "Publish the postmortem")
    assert await pending_jobs(bot, "follow") == []
    assert await at(bot, RESOLVED + 30 * 24 * H) == 0
    # The postmortem's header shows each step and that it is done.
    text = await bot.services.reports.postmortem(
        await the_incident(bot), bot.services.policy.policy, virtual_clock(bot).now()
    )
    assert "Schedule the post-incident review: due 2026-03-15 09:40 UTC, done" in text
    assert text.index("Follow-through") < text.index("Response metrics")


async def test_a_follow_through_step_survives_a_restart(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/r.db"
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        alice, general = add_test_team(slack)
        bot = await start_bot(slack, db, policy=POLICY, clock=VirtualClock(T0))
        ch = await declare_checkout_errors(bot, alice, general)
        await resolve(bot, alice, ch)
        await bot.stop()
        again = await start_bot(slack, db, policy=POLICY, clock=VirtualClock(T0))
        try:
            assert await at(again, RESOLVED + 24 * H) == 1
            assert len(dms(slack, alice, "Schedule the post-incident review")) == 1
        finally:
            await again.stop()


async def test_an_action_item_dms_its_owner_reminds_once_and_shows_in_the_app_home(
    follow: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = follow
    answer = await say(
        bot, "action Add a canary stage to deploys <@U0BOB|bob> due 2026-03-20", alice, ch
    )
    assert "AI-1" in answer and "<@U0BOB>" in answer
    [told] = dms(slack, "U0BOB", "Add a canary stage")
    assert "INC-1" in told and "due 2026-03-20 23:59 UTC" in told
    # Reminded once, a day before it is due (remind_owner_before: 1d).
    due = datetime(2026, 3, 20, 23, 59, tzinfo=UTC)
    assert await pending_jobs(bot, "action") == [due - 24 * H]
    await at(bot, due - 25 * H)
    assert len(dms(slack, "U0BOB", "Add a canary stage")) == 1
    assert dms(slack, "U0BOB", "Reminder: your action item") == []
    await at(bot, due - 24 * H)  # (the open SEV2's update reminders go on beside it)
    assert len(dms(slack, "U0BOB", "Reminder: your action item")) == 1
    assert await pending_jobs(bot, "action") == []
    await at(bot, due + 24 * H)
    assert len(dms(slack, "U0BOB", "Reminder: your action item")) == 1
    # The owner's App Home lists it, with a Done button.
    await bot.send.event(
        {"type": "app_home_opened", "user": "U0BOB", "tab": "home", "event_ts": "1.0"}
    )
    home = await eventually(lambda: [v for v in slack.views if v.method == "views.publish"])
    texts = [b.get("text", {}).get("text", "") for b in home[-1].view["blocks"]]
    assert any("My action items (1)" in t for t in texts)
    assert any("AI-1" in t and "Add a canary stage" in t for t in texts)
    # Done by the button on the reminder: off the App Home, "done" in the postmortem.
    assert "AI-1 done" in await click_in_dm(
        bot, Action.ACTION_DONE, "U0BOB", "Reminder: your action item"
    )
    listed = await say(bot, "actions", alice, ch)
    assert "AI-1" in listed and "done" in listed
    incident = await bot.services.store.get(1)
    assert incident is not None
    text = await bot.services.reports.postmortem(
        incident, bot.services.policy.policy, virtual_clock(bot).now()
    )
    assert "| AI-1 | Add a canary stage to deploys |" in text and "| done |" in text
    exported = await bot.services.reports.export(incident, bot.services.policy.policy)
    assert [(i["number"], i["state"], i["owner_id"]) for i in exported["action_items"]] == [
        ("AI-1", "done", "U0BOB")
    ]


async def test_actions_done_by_command_and_the_postmortem_button(follow: DeclaredIncident) -> None:
    slack, bot, ch, alice = follow
    await say(bot, "action Write the runbook for cache failover", alice, ch)
    assert "AI-1 done" in await say(bot, "actions done AI-1", alice, ch)
    assert "already done" in await say(bot, "actions done ai-1", alice, ch)
    assert "no action item AI-9" in await say(bot, "actions done AI-9", alice, ch)
    # The postmortem's reply carries "Add action item": its form records one.
    before = len(slack.responses)
    await bot.send.command("postmortem", user=alice, channel=ch)
    await eventually(lambda: len(slack.responses) > before)
    reply = slack.responses[before]
    buttons = [
        e
        for b in reply.get("blocks") or []
        for e in b.get("elements", [])
        if e.get("type") == "button"
    ]
    assert [b["action_id"] for b in buttons] == [Action.ADD_ACTION.value]
    r = await bot.send.block_action(Action.ADD_ACTION, user=alice, value=buttons[0]["value"])
    assert r.status == 200
    await eventually(
        lambda: [v for v in slack.views if v.view.get("callback_id") == View.ACTION_ITEM.value]
    )
    r = await bot.send.view_submission(
        View.ACTION_ITEM,
        {
            "text": {"text": {"type": "plain_text_input", "value": "Alert on cache hit rate"}},
            "owner": {"owner": {"type": "users_select", "selected_user": "U0BOB"}},
            "due": {"due": {"type": "datepicker", "selected_date": "2026-04-01"}},
        },
        user=alice,
    )
    assert r.status == 200
    await bot.settled()
    items = await bot.services.action_items.items(await the_incident(bot))
    assert [(i.text, i.owner_id) for i in items][1] == ("Alert on cache hit rate", "U0BOB")
    assert dms(slack, "U0BOB", "Alert on cache hit rate")


async def test_the_message_shortcut_opens_the_form_with_the_message(
    follow: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = follow
    posted = slack.channels[ch].messages[0]
    r = await bot.send.message_action(
        "add_action_item",
        user=alice,
        channel=ch,
        message={
            "ts": posted.ts,
            "text": "Add retries to the <@U0BOB> client",
            "user": alice,
            "type": "message",
        },
    )
    assert r.status == 200
    opened = await eventually(
        lambda: [v for v in slack.views if v.view.get("callback_id") == View.ACTION_ITEM.value]
    )
    [text_block] = [b for b in opened[-1].view["blocks"] if b.get("block_id") == "text"]
    assert text_block["element"]["initial_value"] == "Add retries to the @U0BOB client"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("action", "Say what is to be done"),
        ("action <@U0BOB|bob>", "Say what is to be done"),
        ("action Fix it @bob", "pick the owner from the @ autocomplete"),
        ("action Fix it <!subteam^S0ONCALL|oncall>", "a group, not one person"),
        ("action Fix it <#C0123|ops>", "a channel, not a person"),
        ("action Fix it due 2026-01-01", "in the past"),
        ("action Fix it due someday", "is not a due date"),
        ("action Fix it due 2026-02-31", "is not a date"),
    ],
)
async def test_bad_action_items_are_refused_with_an_example_and_change_nothing(
    follow: DeclaredIncident, text: str, says: str
) -> None:
    _, bot, ch, alice = follow
    answer = await say(bot, text, alice, ch)
    assert says in answer, answer
    assert "/incident action" in answer  # an example that works
    incident = await bot.services.store.get(1)
    assert incident is not None
    assert await bot.services.action_items.items(incident) == []


# --- the policy ---------------------------------------------------------------------------


def test_the_shipped_policies_set_the_runbooks_deadlines() -> None:
    def steps(name: str) -> list[timedelta]:
        pol = load_policy(ROOT / "policies" / name).policy
        return [s.within for s in pol.follow_through.steps]

    # 000: review scheduled within 24 h, held within 48 h, published within a week,
    # action items within two weeks; 004: 2 h, then 48 h; 001, 002, 003: 48 h.
    assert steps("default.yaml") == [24 * H, 48 * H, 7 * 24 * H, 14 * 24 * H]
    assert steps("example-sev.yaml") == [2 * H, 48 * H]
    for name in ("saltbitter.yaml", "akaind.yaml", "procedures.yaml"):
        assert set(steps(name)) == {48 * H}, name
    for name in ("default.yaml", "example-sev.yaml", "saltbitter.yaml"):
        assert load_policy(ROOT / "policies" / name).policy.follow_through.tracker is None


@pytest.mark.parametrize(
    ("section", "field", "says"),
    [
        (
            "  steps:\n    - name: review\n      label: Review\n      within: 24h\n"
            "      severities: [SEV9]\n",
            "follow_through.steps[0].severities[0]",
            'unknown severity "SEV9"',
        ),
        (
            "  steps:\n    - name: review\n      label: Review\n      within: soon\n",
            "follow_through.steps[0].within",
            "is not a duration",
        ),
        (
            "  tracker:\n    kind: github\n    token_env: GITHUB_TOKEN\n",
            "follow_through.tracker",
            "a github tracker needs repo",
        ),
        (
            "  tracker:\n    kind: jira\n    project: OPS\n    token_env: jira token\n"
            "    email_env: JIRA_EMAIL\n",
            "follow_through.tracker",
            "is not an environment variable name",
        ),
    ],
)
def test_a_broken_follow_through_names_the_file_line_and_field(
    tmp_path: Path, section: str, field: str, says: str
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(TEST_POLICY.read_text() + "follow_through:\n" + section)
    with pytest.raises(PolicyInvalid) as info:
        load_policy(path)
    [error] = info.value.errors
    assert error.field == field and says in error.message, str(error)
    assert error.file == str(path) and error.line is not None and error.line > 40
