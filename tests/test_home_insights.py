"""The App Home's Insights: the figures in a few lines and the chart, uploaded once with
files_upload_v2 and shown from Slack's copy; drills and private incidents left out."""

from __future__ import annotations

from typing import Any

from tests.harness import eventually
from tests.helpers import DeclaredIncident, say


async def open_home(incident: DeclaredIncident, user: str, event_id: str) -> dict[str, Any]:
    slack, bot, _, _ = incident
    before = len([v for v in slack.views if v.method == "views.publish"])
    r = await bot.send.event(
        {"type": "app_home_opened", "user": user, "tab": "home", "event_ts": "1.0"},
        event_id=event_id,
    )
    assert r.status == 200
    published = await eventually(
        lambda: [v for v in slack.views if v.method == "views.publish"][before:]
    )
    return dict(published[-1].view)


async def test_home_shows_insights_with_the_chart_uploaded_once(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    await say(bot, "resolve Rolled back", alice, ch)
    general = slack.channel_by_name("general")
    assert general is not None
    await bot.send.command("drill SEV1 Practice outage", user=alice, channel=general.id)
    await eventually(lambda: slack.channel_by_name("drill-incident-20260314-practice-outage"))
    home = await open_home(incident, alice, "Eh1")
    text = str(home["blocks"])
    assert "Insights, last 90 days" in text
    assert "*SEV2* · 1 incident(s)" in text
    assert "SEV1" not in text.split("Insights", 1)[1], "the drill is left out"
    [image] = [b for b in home["blocks"] if b["type"] == "image"]
    upload = slack.files[image["slack_file"]["id"]]
    assert upload.content is not None and upload.content.startswith(b"\x89PNG")
    assert upload.channels == []  # shared nowhere: the App Home shows Slack's copy
    # Opened again soon after: the same chart, not a second upload.
    again = await open_home(incident, alice, "Eh2")
    assert [b for b in again["blocks"] if b["type"] == "image"] == [image]
    assert len(slack.calls_to("files.completeUploadExternal")) == 1
