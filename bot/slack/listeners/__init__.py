"""Slack listeners: ack within 3 s, parse, call a use case, render. Nothing else."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.services import Services
from bot.slack import middleware
from bot.slack.listeners import (
    action_shortcut,
    actions,
    commands,
    events,
    home,
    shortcuts,
    submissions,
)


def register(app: AsyncApp, services: Services) -> None:
    middleware.register(app, services)  # resolves the incident before any listener
    commands.register(app, services)
    submissions.register(app, services)
    actions.register(app, services)
    events.register(app, services)
    home.register(app, services)
    shortcuts.register(app, services)
    action_shortcut.register(app, services)
