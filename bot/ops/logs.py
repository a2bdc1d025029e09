"""Log set-up: text or one JSON object a line (LOG_FORMAT), and nothing secret in either.

Every line goes through one formatter that masks Slack tokens, the configured secrets
and database passwords, whoever logged it (Bolt and slack_sdk included): a token in a
log is a token leaked to whoever reads the logs.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

from pythonjsonlogger.json import JsonFormatter

from bot.ops import event_log
from bot.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"
# Bot, user, app-level and refresh tokens (xoxb-, xoxp-, xapp-, xoxe-...).
TOKEN = re.compile(r"\b(?:xox[a-z]|xapp)-[A-Za-z0-9-]+")
INCIDENT = re.compile(r"\bINC-\d+\b")
URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
# Bolt logs a request that fails the signature check with its whole body (user text,
# response URLs) at INFO: the fact is worth a line, the body never.
BAD_SIGNATURE = "Invalid request signature detected"
# Bolt warns twice at every start that `token` is unused: it reads SLACK_BOT_TOKEN from
# the environment by itself, while the bot hands it a client carrying that very token.
TOKEN_UNUSED = "As you gave `client` as well, `token` will be unused."


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        text = TOKEN.sub(MASK, text)
        return URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)


class QuietBolt(logging.Filter):
    """Bolt's lines that mislead or leak, as described above."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("slack_bolt"):
            return True
        message = record.getMessage()
        if message == TOKEN_UNUSED:
            return False
        if message.startswith(BAD_SIGNATURE):
            record.msg, record.args = "rejected a request with an invalid signature", None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class IncidentNumber(logging.Filter):
    """Gives a line that names an incident (INC-42) an `incident` field, so that JSON
    logs can be searched by incident whoever wrote the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "incident"):
            found = INCIDENT.search(record.getMessage())
            if found:
                record.incident = found.group(0)
        return True


class _RedactingText(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__(TEXT_FORMAT)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class _RedactingJson(JsonFormatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger", "asctime": "time"},
        )
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def formatter(log_format: str, redact: Redactor) -> logging.Formatter:
    return _RedactingJson(redact) if log_format == "json" else _RedactingText(redact)


def configure(settings: Settings, *, level: int = logging.INFO) -> None:
    """The root logger writes to stderr, in LOG_FORMAT, with secrets masked."""
    redact = Redactor(
        [
            settings.slack_bot_token,
            settings.slack_app_token,
            settings.slack_signing_secret,
            settings.heartbeat_url,
        ]
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(settings.log_format, redact))
    handler.addFilter(QuietBolt())
    handler.addFilter(IncidentNumber())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # APScheduler logs every run of the scheduler's tick at INFO: 8 lines a second.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # slack_sdk writes a line per retry (every 429, every refused connection): the
    # gateway logs what finally failed, and /metrics counts the 429s.
    logging.getLogger("slack_sdk.web").setLevel(logging.WARNING)
    # aiohttp's access log would write every request line (and its query string).
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    event_log.install()
