"""A local, stateful Slack Web API server for tests: answers like Slack, records everything.

Usage: `async with FakeSlack.from_manifest("manifest.yml") as slack:`, then point
`AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)` (or the bot) at it.
"""

from .models import Call, Channel, Message, UploadedFile, User, Usergroup, View
from .server import FakeSlack

__all__ = ["Call", "Channel", "FakeSlack", "Message", "UploadedFile", "User", "Usergroup", "View"]
