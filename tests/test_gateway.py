"""The Slack gateway against the fake Slack server: uploads, invitations, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.incidents.chat import ChatError, Message
from bot.server import BOLT_KEY, RECORDER_KEY
from bot.settings import Settings
from bot.slack.gateway import SlackChat, make_client
from bot.slack.mrkdwn import escape
from tests.harness import start_bot
from tests.slack_server import FakeSlack


@pytest.fixture
async def chat(slack: FakeSlack) -> AsyncIterator[SlackChat]:
    """The gateway on its own HTTP session, closed after the test."""
    chat = SlackChat(
        make_client(Settings(slack_bot_token=slack.bot_token, slack_api_url=slack.api_url))
    )
    yield chat
    await chat.close()


async def test_upload_shares_a_file_in_the_channel(slack: FakeSlack, chat: SlackChat) -> None:
    ch = await chat.create_channel("incident-x", private=False)
    await chat.upload(ch, "postmortem-INC-1.md", "# Postmortem\n", "Postmortem INC-1")
    files = [f for m in slack.messages(ch) for f in (m.files or [])]
    assert files and files[0]["name"] == "postmortem-INC-1.md"


async def test_invite_reports_who_failed_and_ignores_members(
    slack: FakeSlack, chat: SlackChat
) -> None:
    alice = slack.add_user("alice")
    ch = await chat.create_channel("incident-y", private=True)
    assert await chat.invite(ch, [alice]) == {}
    assert await chat.invite(ch, [alice]) == {}, "already in the channel is fine"
    failed = await chat.invite(ch, [alice, "U0NOBODY"])
    assert failed == {"U0NOBODY": "user_not_found"}


async def test_errors_become_chat_errors_with_slacks_code(
    slack: FakeSlack, chat: SlackChat
) -> None:
    with pytest.raises(ChatError) as e:
        await chat.post("#nowhere", Message(text="hi"))
    assert e.value.code == "channel_not_found"
    slack.fail("chat.postMessage", status=503, times=2)
    ch = await chat.create_channel("incident-z", private=False)
    assert await chat.post(ch, Message(text="after two 503s"))


def test_escape_keeps_titles_from_pinging_or_linking() -> None:
    assert escape("<!channel> & <http://x|y>") == "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"


async def test_bolt_and_the_gateway_share_one_web_client(slack: FakeSlack, tmp_path: Path) -> None:
    # One HTTP session with kept-alive connections, not one per Bolt app and gateway.
    bot = await start_bot(slack, f"sqlite+aiosqlite:///{tmp_path}/c.db")
    try:
        chat = bot.services.chat
        assert isinstance(chat, SlackChat)
        web = bot.runner.app
        assert web[BOLT_KEY].client is chat.client
        assert web[RECORDER_KEY].client is chat.client
    finally:
        await bot.stop()
