"""A paging service across SIGKILL (real processes): the bot killed the moment PagerDuty
accepts its trigger, before it can record that it did (the worst moment). The restarted
bot sends it again (it cannot know it arrived), with the same dedup key, so PagerDuty
holds one alert for the incident and level; Opsgenie's alias does the same."""

from __future__ import annotations

from pathlib import Path

from tests.harness import ROOT, eventually
from tests.paging_servers import Got, started
from tests.processes import BotProcess
from tests.slack_server import FakeSlack
from tests.test_oncall_paging import POLICY, add_oncall_team
from tests.test_paging_services import DEDUP, OG_KEY, PD_KEY


async def test_sigkill_when_the_alert_is_accepted_makes_one_alert_per_level(tmp_path: Path) -> None:
    pd, og = await started(PD_KEY, OG_KEY)
    slack = FakeSlack.from_manifest(ROOT / "manifest.yml")
    await slack.start()
    dora, general = add_oncall_team(slack)
    env = {
        "TEST_PD_KEY": PD_KEY,
        "TEST_OG_KEY": OG_KEY,
        "PAGERDUTY_API_URL": pd.url,
        "OPSGENIE_API_URL": og.url,
        "INCIDENT_CLAIM_LEASE": "1",  # a dead process's claims come back quickly
    }
    db = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    first = BotProcess(slack, db, POLICY, tmp_path / "bot1.log", env=env)
    killed: list[str] = []

    def kill_once(got: Got) -> None:
        if not killed and got.status == 202:
            killed.append(got.path)
            first.kill()

    pd.on_request = kill_once
    second: BotProcess | None = None
    try:
        await first.ready()
        r = await first.send.command("SEV-1 Checkout down", user=dora, channel=general)
        assert r.status == 200
        await eventually(lambda: killed, within=30)
        pd.on_request = None
        second = BotProcess(slack, db, POLICY, tmp_path / "bot2.log", env=env)
        await second.ready()
        # The restarted bot takes the dead claim back and sends the trigger again.
        await eventually(lambda: len(pd.accepted("trigger")) == 2, within=30)
        await eventually(lambda: og.accepted("/v2/alerts"), within=30)
        await eventually(
            lambda: any("You are paged" in m.text for ms in slack.dms.values() for m in ms)
        )
    finally:
        if first.proc.poll() is None:
            first.kill()
        if second is not None:
            second.stop()
        await slack.stop()
        await pd.stop()
        await og.stop()
    assert {str(g.body["dedup_key"]) for g in pd.accepted("trigger")} == {DEDUP}
    assert {str(g.body["alias"]) for g in og.accepted("/v2/alerts")} == {DEDUP}
    assert list(pd.alerts) == [DEDUP] and list(og.alerts) == [DEDUP]
    assert pd.alerts[DEDUP].triggers == 2 and len(pd.accepted("trigger")) == 2
    # Opsgenie's create may have been under way at the kill too: one alert either way.
    assert len(og.accepted("/v2/alerts")) in (1, 2)
