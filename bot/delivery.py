"""Posting a step's message at most once across crashes.

A step (a reminder, a page, a channel set-up) that was cut short by a crash is run
again. Each of its messages carries a step key; on the re-run a message is first looked
for in the conversation's recent history and posted only if it is not there. Without a
key, or on a first run, it is simply posted.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.ports import Chat, Message

log = logging.getLogger(__name__)

# Slack's message ts comes from Slack's clock, not ours: look a little further back.
CLOCK_SKEW = timedelta(minutes=1)


def step_key(step: str, where: str, part: str = "") -> str:
    return f"{step}:{where}" + (f":{part}" if part else "")


async def post_once(chat: Chat, where: str, message: Message, retry_since: datetime | None) -> str:
    """Post `message` to `where`; when `retry_since` is given (a re-run of a step first
    tried after that instant), return the ts of the copy already posted, if any."""
    if retry_since is not None and message.step:
        since = (retry_since - CLOCK_SKEW).timestamp()
        ts = await chat.find_posted(where, message.step, since)
        if ts is not None:
            log.info("%s already reached %s before a restart; not sent again", message.step, where)
            return ts
    return await chat.post(where, message)
