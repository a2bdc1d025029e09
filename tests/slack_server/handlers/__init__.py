"""Every Web API method the fake implements, by name."""

from __future__ import annotations

from ..workspace import Handler
from . import chat, conversations, conversations_read, misc, views

HANDLERS: dict[str, Handler] = {
    **chat.HANDLERS,
    **conversations.HANDLERS,
    **conversations_read.HANDLERS,
    **misc.HANDLERS,
    **views.HANDLERS,
}
