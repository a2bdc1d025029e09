"""The App Home tab (its Declare button is a control: slack/controls.py)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from bot.slack.after_replies import home_blocks
from bot.slack.home_insights import HomeInsights, with_insights
from bot.slack.home_view import RECENT, home_view
from bot.slack.ids import HOME_TAB, Event
from bot.slack.oncall_replies import home_lines

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    figures = HomeInsights(services)

    @app.event(Event.APP_HOME_OPENED.value)
    async def on_home(event: dict[str, Any], client: AsyncWebClient) -> None:
        user = event.get("user")
        if event.get("tab", HOME_TAB) != HOME_TAB or not isinstance(user, str) or not user:
            return
        now = services.clock.now()
        board = await services.access.board(user, resolved_since=now - RECENT)
        pol = services.policy.policy
        view = home_view(
            board,
            pol,
            now,
            after=await home_blocks(services, user, now),
            on_call=await home_lines(services.oncall, pol, now),
        )
        view = with_insights(view, await figures.blocks(client, now))
        try:
            await client.views_publish(user_id=user, view=view)
        except SlackApiError as e:  # nobody is waiting on this answer: log and go on
            log.warning("could not publish the App Home for %s: %s", user, e.response.get("error"))
