"""Configuration from the environment, read once at start and passed down."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///incident-bot.db"
DEFAULT_POLICY = "policies/default.yaml"
DEFAULT_PAGERDUTY_API_URL = "https://events.pagerduty.com"
DEFAULT_OPSGENIE_API_URL = "https://api.opsgenie.com"  # EU accounts: https://api.eu.opsgenie.com
LOG_FORMATS = ("text", "json")


class SettingsError(Exception):
    """A setting is missing or malformed; the message tells the operator what to set."""


class Role(StrEnum):
    """What one `serve` process does (`--role`). Several of each share one PostgreSQL
    database; `all` alone works on the SQLite default."""

    ALL = "all"  # everything in one process
    WEB = "web"  # acknowledge and commit: requests in, rows written, nothing sent
    WORKER = "worker"  # fire due rows, set up channels, deliver the outbox


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    policy_path: str = DEFAULT_POLICY
    port: int = 3000
    role: Role = Role.ALL
    # How long a claimed reminder may stay unfinished before another process (or this
    # one, restarted) takes it back: it must outlast the slowest send, retries included.
    claim_lease: float = 120.0
    # Seconds before a Web API call is given up as timed out (then checked and retried).
    slack_timeout: int = 10
    log_format: str = "text"  # LOG_FORMAT: text | json
    heartbeat_url: str | None = None  # pinged only while every self-check passes
    self_check_every: float = 60.0  # seconds between self-checks
    # A due row or a Slack post this many seconds past its time means the bot is stuck.
    overdue_after: float = 120.0
    # Where action items are filed (the policy's follow_through.tracker): base URLs.
    github_api_url: str = "https://api.github.com"
    jira_url: str | None = None  # JIRA_URL: the Jira Cloud site, https://acme.atlassian.net
    # Where visitors reach the status page (PUBLIC_URL, no trailing slash): every absolute
    # link is built from it, never from a request's Host header, which a reverse proxy
    # rewrites (and a visitor can forge).
    public_url: str = ""
    smtp_url: str | None = None  # SMTP_URL: smtp[s]://[user:password@]host[:port]

    @property
    def status_base(self) -> str:
        """PUBLIC_URL, or where this process answers when it is not set."""
        return self.public_url or f"http://localhost:{self.port}"

    # Paging services' base URLs (tests point them at local servers); their keys are in
    # environment variables the policy names, read when an alert is sent.
    pagerduty_api_url: str = DEFAULT_PAGERDUTY_API_URL
    opsgenie_api_url: str = DEFAULT_OPSGENIE_API_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        port_text = get("PORT") or "3000"
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise SettingsError(f"PORT must be a port number (1-65535), not {port_text!r}.")
        lease = _seconds(get, "INCIDENT_CLAIM_LEASE", "120")
        log_format = (get("LOG_FORMAT") or "text").lower()
        if log_format not in LOG_FORMATS:
            raise SettingsError(f"LOG_FORMAT must be text or json, not {log_format!r}.")
        heartbeat = get("HEARTBEAT_URL")
        if heartbeat is not None and not heartbeat.startswith(("http://", "https://")):
            # Not echoed: a heartbeat URL usually carries its monitor's secret key.
            raise SettingsError("HEARTBEAT_URL must be an http:// or https:// URL.")
        api_url = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
        if not api_url.endswith("/"):
            # slack_sdk joins base_url + method name, so the slash matters.
            api_url += "/"
        public_url = (get("PUBLIC_URL") or "").rstrip("/")
        if public_url and not _is_url(public_url, ("http", "https")):
            raise SettingsError(
                "PUBLIC_URL must be where the status page is reached, "
                f"e.g. https://status.example.com, not {public_url!r}."
            )
        smtp_url = get("SMTP_URL")
        if smtp_url is not None and not _is_url(smtp_url, ("smtp", "smtps")):
            # Not echoed: it may carry a password.
            raise SettingsError(
                "SMTP_URL must be smtp://[user:password@]host[:port] "
                "(or smtps:// for TLS from the start)."
            )
        return cls(
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=api_url,
            database_url=get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            policy_path=get("INCIDENT_POLICY") or DEFAULT_POLICY,
            port=int(port_text),
            claim_lease=lease,
            log_format=log_format,
            heartbeat_url=heartbeat,
            self_check_every=_seconds(get, "INCIDENT_SELF_CHECK_EVERY", "60"),
            overdue_after=_seconds(get, "INCIDENT_OVERDUE_AFTER", "120"),
            public_url=public_url,
            smtp_url=smtp_url,
            github_api_url=get("GITHUB_API_URL") or "https://api.github.com",
            jira_url=get("JIRA_URL"),
            pagerduty_api_url=_base_url(get, "PAGERDUTY_API_URL", DEFAULT_PAGERDUTY_API_URL),
            opsgenie_api_url=_base_url(get, "OPSGENIE_API_URL", DEFAULT_OPSGENIE_API_URL),
        )

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def require_slack(self) -> None:
        """Fail with one line naming what to set when `serve` cannot reach Slack."""
        missing = []
        if not self.slack_bot_token:
            missing.append("SLACK_BOT_TOKEN (xoxb-..., from OAuth & Permissions)")
        if self.socket_mode:
            if not (self.slack_app_token or "").startswith("xapp-"):
                missing.append("SLACK_APP_TOKEN must be an app-level token (xapp-...)")
        elif not self.slack_signing_secret:
            missing.append("SLACK_SIGNING_SECRET (from Basic Information > App Credentials)")
        if missing:
            raise SettingsError(
                "Cannot serve: set "
                + " and ".join(missing)
                + " from your Slack app's settings at https://api.slack.com/apps"
                + " (or set SLACK_APP_TOKEN for Socket Mode)."
            )

    def __repr__(self) -> str:
        # Secrets never reach logs, even through a repr.
        def mask(v: str | None) -> str:
            return "unset" if v is None else "set"

        return (
            f"Settings(bot_token={mask(self.slack_bot_token)},"
            f" signing_secret={mask(self.slack_signing_secret)},"
            f" app_token={mask(self.slack_app_token)}, api_url={self.slack_api_url!r},"
            f" database_url={redact_url(self.database_url)!r}, policy={self.policy_path!r},"
            f" port={self.port}, log_format={self.log_format!r},"
            f" heartbeat_url={mask(self.heartbeat_url)}, public_url={self.status_base!r},"
            f" smtp_url={mask(self.smtp_url)})"
        )


def _seconds(get: Callable[[str], str | None], name: str, default: str) -> float:
    text = get(name) or default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:  # NaN included
        raise SettingsError(f"{name} must be a number of seconds above 0, not {text!r}.")
    return value


def _is_url(text: str, schemes: tuple[str, ...]) -> bool:
    parsed = urlsplit(text)
    return parsed.scheme in schemes and bool(parsed.hostname) and " " not in text


def _base_url(get: Callable[[str], str | None], name: str, default: str) -> str:
    url = get(name) or default
    if not url.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must be an http:// or https:// URL, not {url!r}.")
    return url.rstrip("/")


def redact_url(url: str) -> str:
    """Hide a password in a database URL."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
