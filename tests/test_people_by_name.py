"""Postmortems and exports show people by name (users.info, once per person) and turn
Slack's markup into plain Markdown."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from bot.slack.mrkdwn import to_markdown
from tests.harness import ROOT, TEST_POLICY
from tests.helpers import DeclaredIncident, msg, say


def test_slack_markup_becomes_plain_markdown() -> None:
    names = {"U1": "Ana Lima"}
    assert to_markdown("*Rolled back* by <@U1> and <@U2|bo>", names) == (
        "**Rolled back** by @Ana Lima and @bo"
    )
    assert to_markdown("see <https://grafana.example/d/1|the _graph_>", names) == (
        "see [the *graph*](https://grafana.example/d/1)"
    )
    assert to_markdown("<#C1|ops> <!here> <!subteam^S1|@oncall> ~no~", names) == (
        "#ops @here @oncall ~~no~~"
    )
    assert to_markdown("a_b_c 2*3*4 **kept** &lt;tag&gt; &amp;", names) == (
        "a_b_c 2*3*4 **kept** <tag> &"
    )


async def test_the_postmortem_names_people_and_reads_as_markdown(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    bob = slack.add_user("bob")
    await say(bot, f"role tech_lead <@{bob}|bob>", alice, ch)
    await bot.send.event(
        msg(ch, "1773480700.000100", f"*Rolled back* the deploy, thanks <@{bob}>", user=alice),
        event_id="E1",
    )
    await say(bot, "note Cache _warmed_ again, see <https://status.example/x|the graph>", alice, ch)
    await say(bot, f"action Add a canary stage <@{bob}|bob> due 2026-04-01", alice, ch)
    incident_row = await bot.services.store.get(1)
    assert incident_row is not None
    before = len(slack.calls_to("users.info"))
    text = await bot.services.reports.postmortem(
        incident_row, bot.services.policy.policy, bot.services.clock.now()
    )
    assert f"<@{alice}>" not in text and f"<@{bob}>" not in text
    assert "@alice" in text and "@bob" in text
    assert "Cache *warmed* again, see [the graph](https://status.example/x)" in text
    assert "| AI-1 | Add a canary stage | @bob |" in text
    looked_up = [str(c.args.get("user")) for c in slack.calls_to("users.info")[before:]]
    assert sorted(looked_up) == sorted({alice, bob})  # once each
    await bot.services.reports.postmortem(
        incident_row, bot.services.policy.policy, bot.services.clock.now()
    )
    assert len(slack.calls_to("users.info")) == before + 2  # cached since


async def test_export_with_a_bot_token_names_people(incident: DeclaredIncident) -> None:
    slack, bot, ch, alice = incident
    await say(bot, "note *Paged* the DBA", alice, ch)
    env = {
        **os.environ,
        "DATABASE_URL": bot.services.settings.database_url,
        "INCIDENT_POLICY": str(TEST_POLICY),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_API_URL": slack.api_url,
    }

    async def export(fmt: str) -> str:
        # Not subprocess.run: the fake Slack answers users.info on this event loop.
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "bot", "export", "INC-1", "--format", fmt),
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        return out.decode()

    md = await export("md")
    assert "Commander: @alice" in md or "@alice" in md
    assert f"<@{alice}>" not in md and "**Paged** the DBA" in md
    data = json.loads(await export("json"))
    assert data["people"][alice] == "alice"
    [note] = [e for e in data["timeline"] if e["kind"] == "note"]
    assert note["text"] == "*Paged* the DBA" and note["text_md"] == "**Paged** the DBA"
    assert note["author_name"] == "alice"
