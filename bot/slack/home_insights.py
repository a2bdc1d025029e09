"""The App Home's Insights: the last 90 days' figures in a few lines, and the chart.

Everyone sees the App Home, so private incidents are left out here (as drills are
everywhere); `python -m bot report` counts them for the operator. The chart is the
report's PNG, uploaded with files_upload_v2 (to no channel: the file stays the bot's)
and shown from Slack's own copy (an image block's `slack_file`). Figures and chart are
made at most once per REFRESH per process, not at every opening of the tab."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.incidents.insights import Insights, insights
from bot.incidents.insights_text import EMPTY, share, spread_text
from bot.services import Services
from bot.slack import mrkdwn
from bot.slack.blocks import MAX_BLOCKS_VIEW, Block, header, section

log = logging.getLogger(__name__)

PERIOD = timedelta(days=90)
REFRESH = timedelta(minutes=15)
CHART_NAME = "incident-insights.png"


@dataclass(frozen=True)
class Made:
    at: datetime
    figures: Insights
    file_id: str | None


class HomeInsights:
    """The Insights blocks, their figures and chart made once per REFRESH."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._made: Made | None = None
        self._lock = asyncio.Lock()

    async def blocks(self, client: AsyncWebClient, now: datetime) -> list[Block]:
        made = await self._fresh(client, now)
        ins = made.figures
        days = PERIOD.days
        blocks: list[Block] = [{"type": "divider"}, header(f"Insights, last {days} days")]
        if ins.total == 0:
            return blocks + section(f"{EMPTY}. Drills and private incidents are left out.")
        lines = []
        for f in ins.severities:
            if not f.incidents:
                continue
            lines.append(
                f"*{mrkdwn.escape(f.severity)}* · {f.incidents} incident(s)\n"
                f"Acknowledge (median / p90): {spread_text(f.to_acknowledge)}\n"
                f"Resolve: {spread_text(f.to_resolve)} · updates on time "
                f"{share(f.updates_on_time, f.updates_due)} · {f.pages} level(s) paged"
            )
        blocks += section("\n\n".join(lines) + "\n\n_Drills and private incidents left out._")
        if made.file_id is not None:
            blocks.append(
                {
                    "type": "image",
                    "slack_file": {"id": made.file_id},
                    "alt_text": f"Incidents per week and response times, last {days} days",
                }
            )
        return blocks

    async def _fresh(self, client: AsyncWebClient, now: datetime) -> Made:
        async with self._lock:  # two tabs opened at once make one chart
            if self._made is not None and now - self._made.at < REFRESH:
                return self._made
            s = self.services
            ins = await insights(
                s.store, s.policy, s.reports, since=now - PERIOD, until=now, private=False
            )
            file_id = await self._upload(client, ins) if ins.total else None
            self._made = Made(now, ins, file_id)
            return self._made

    async def _upload(self, client: AsyncWebClient, ins: Insights) -> str | None:
        # Imported here: matplotlib costs a process's start a second, and a worker never draws.
        from bot.incidents.insights_chart import as_png

        png = await asyncio.to_thread(as_png, ins)  # drawing takes a while: off the loop
        try:
            resp = await client.files_upload_v2(
                filename=CHART_NAME, content=png, title="Incident insights"
            )
        except SlackApiError as e:  # the figures still show, as text
            log.warning("could not upload the insights chart: %s", e.response.get("error"))
            return None
        files: Any = resp.get("files") or [resp.get("file") or {}]
        file_id = files[0].get("id") if files and isinstance(files[0], dict) else None
        return str(file_id) if file_id else None


def with_insights(view: dict[str, Any], extra: list[Block]) -> dict[str, Any]:
    """The App Home with Insights at its end, within Slack's 100 blocks (the incident
    lists give way: they end with a pointer to `/incident list` already)."""
    blocks = list(view.get("blocks") or [])
    room = MAX_BLOCKS_VIEW - len(extra)
    return {**view, "blocks": [*blocks[:room], *extra]}
