"""The checks `serve` runs before it starts: each failure is one line that says what is
wrong and how to fix it (then exit 2), never a traceback; missing contacts only warn.
The database's are here; Slack's (tokens, contacts) are in bot/slack/startup_checks.py.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.settings import Role, Settings, redact_url
from bot.store.backlog import ping
from bot.store.engine import make_engine

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 15.0


class StartupProblem(Exception):
    """One line for the operator: what is wrong and what to do."""


def unreachable(what: str, e: BaseException) -> str:
    reason = str(e).strip() or type(e).__name__
    return f"{what} ({reason[:200]})"


async def check_database(url: str) -> None:
    """Connect once; the message names the database without its password."""
    try:
        password = make_url(url).password
    except ArgumentError:
        raise StartupProblem(
            f"Cannot serve: DATABASE_URL {redact_url(url)!r} is not a database URL"
            " (sqlite+aiosqlite:///path.db or postgresql+asyncpg://user:pw@host/db)."
        ) from None
    engine = make_engine(url)
    try:
        await asyncio.wait_for(ping(engine), CHECK_TIMEOUT)
    except Exception as e:  # any driver's failure: one line, no traceback
        reason = unreachable("", e).strip(" ()")
        if password:
            reason = reason.replace(str(password), "***")
        raise StartupProblem(
            f"Cannot serve: the database {redact_url(url)} is unreachable ({reason});"
            " check DATABASE_URL and that the server is up."
        ) from None
    finally:
        await engine.dispose()


def start_line(settings: Settings, policy_path: str, policy_name: str, version: str) -> str:
    if settings.role is Role.WORKER:
        mode = f"the worker role (health on port {settings.port})"
    else:
        mode = "Socket Mode" if settings.socket_mode else f"HTTP on port {settings.port}"
        if settings.role is Role.WEB:
            mode += ", the web role"
    return (
        f"serving policy {policy_path} ({policy_name}, version {version[:12]})"
        f" on database {redact_url(settings.database_url)} in {mode}"
    )
