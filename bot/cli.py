"""python -m bot serve | validate"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.ops.logs import configure as configure_logs
from bot.policy.errors import PolicyInvalid
from bot.policy.loader import LoadedPolicy, load_policy
from bot.settings import Role, Settings, SettingsError

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    paths = args.policies or [settings.policy_path]
    failed = 0
    for path in paths:
        try:
            loaded = load_policy(path)
        except PolicyInvalid as e:
            failed += 1
            print(str(e), file=sys.stderr)
            continue
        except OSError as e:
            failed += 1
            print(f"{path}: cannot read: {e.strerror}", file=sys.stderr)
            continue
        names = ", ".join(loaded.policy.severity_names())
        print(f"{path}: ok ({names}; version {loaded.version[:12]})")
        from bot.planning.coverage import schedule_warnings

        for warning in schedule_warnings(loaded.policy, datetime.now(UTC)):
            print(f"{path}: warning: {warning}", file=sys.stderr)
    return 1 if failed else 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    settings = replace(settings, role=Role(args.role))
    try:
        settings.require_slack()
    except SettingsError as e:
        print(e, file=sys.stderr)
        return 2
    try:
        policy = load_policy(settings.policy_path)
    except PolicyInvalid as e:
        print(f"Cannot serve: the policy is invalid.\n{e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(
            f"Cannot serve: cannot read the policy {settings.policy_path}: {e.strerror}"
            " (set INCIDENT_POLICY)",
            file=sys.stderr,
        )
        return 1

    from bot.server import serve_forever
    from bot.services import build_services
    from bot.slack.gateway import SlackChat, make_client
    from bot.slack.people import SlackPeople

    async def run() -> int:
        client = make_client(settings)  # the one Web API client: gateway and Bolt
        chat = SlackChat(client)
        try:
            await preflight(settings, policy, client)
        except StartupProblems as e:
            for line in e.lines:
                # A log read as JSON lines must not choke on the one line that matters.
                if settings.log_format == "json":
                    log.error(line)
                else:
                    print(line, file=sys.stderr)
            await chat.close()
            return 2
        services = await build_services(settings, chat, policy=policy, people=SlackPeople(client))
        # Every minute: is the work getting done? (/healthz, HEARTBEAT_URL)
        checker = asyncio.create_task(services.health.run_forever())
        try:
            await serve_forever(services, client)
        finally:
            checker.cancel()
            await services.close()
        return 0

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        return 0


class StartupProblems(Exception):
    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


async def preflight(settings: Settings, loaded: LoadedPolicy, client: AsyncWebClient) -> None:
    """The start-up checks (bot/ops/startup.py): every failure at once, one line each;
    then the one line that says what this process serves."""
    from bot.ops import startup
    from bot.slack import startup_checks

    problems: list[str] = []
    checks: list[Awaitable[object]] = [
        startup.check_database(settings.database_url),
        startup_checks.check_bot_token(client, settings),
    ]
    if settings.socket_mode and settings.role is not Role.WORKER:  # a worker takes no events
        checks.append(startup_checks.check_app_token(settings))
    for outcome in await asyncio.gather(*checks, return_exceptions=True):
        if isinstance(outcome, startup.StartupProblem):
            problems.append(str(outcome))
        elif isinstance(outcome, BaseException):
            raise outcome
    if problems:
        raise StartupProblems(problems)
    for warning in await startup_checks.missing_contacts(client, loaded.policy):
        log.warning("%s (%s)", warning, loaded.path)
    log.info(startup.start_line(settings, loaded.path, loaded.policy.name, loaded.version))


_T = TypeVar("_T")


def _read(path: str, load: Callable[[str], _T]) -> _T | None:
    """A policy or a script, or None once its problems (file, line, field) are printed."""
    try:
        return load(path)
    except PolicyInvalid as e:
        print(str(e), file=sys.stderr)
    except OSError as e:
        print(f"{path}: cannot read: {e.strerror}", file=sys.stderr)
    return None


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.dryrun.script import load_script
    from bot.dryrun.simulate import simulate
    from bot.policy.durations import parse_duration

    path = args.policy or settings.policy_path
    loaded = _read(path, load_policy)
    if loaded is None:
        return 1
    try:
        silent = parse_duration(args.silent_for)
        every = parse_duration(args.updates_every) if args.updates_every else None
    except ValueError as e:
        print(f"simulate: {e}", file=sys.stderr)
        return 2
    start = None
    if args.at:
        from bot.planning.oncall import parse_local

        try:
            start = parse_local(args.at, loaded.policy.tz)
        except ValueError:
            print(f"simulate: --at {args.at!r}: write 2026-12-07T08:30", file=sys.stderr)
            return 2
    if args.severity and loaded.policy.severity(args.severity) is None:
        names = ", ".join(loaded.policy.severity_names())
        print(f"simulate: unknown severity {args.severity!r}; {path} has {names}", file=sys.stderr)
        return 2
    script = None
    if args.script:
        script = _read(args.script, lambda p: load_script(p, loaded.policy))
        if script is None:
            return 1
    result = asyncio.run(
        simulate(
            loaded,
            severity=args.severity,
            title=args.title,
            silent_for=silent,
            updates_every=every,
            script=script,
            start=start,
        )
    )
    return _print(result.as_json() if args.json else result.as_text())


def _print(text: str) -> int:
    """Print, and exit quietly when the reader has gone (`simulate | head`)."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at /dev/null so that says nothing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


class _PlainRefs:
    """Mentions as Slack writes them, for exports read outside Slack."""

    def user_ref(self, user_id: str) -> str:
        return f"<@{user_id}>"

    def channel_ref(self, channel: str) -> str:
        return f"<#{channel}>"

    def literal(self, text: str) -> str:
        return text


def _policy(command: str, settings: Settings) -> LoadedPolicy | None:
    """The policy a command reading the store needs; None (said on stderr) if broken."""
    try:
        return load_policy(settings.policy_path)
    except (PolicyInvalid, OSError) as e:
        print(f"{command}: cannot load the policy {settings.policy_path}: {e}", file=sys.stderr)
        return None


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from bot.clock import SystemClock
    from bot.incidents.report import Reports
    from bot.incidents.timeline import Timeline
    from bot.slack.gateway import close_client, make_client
    from bot.slack.people import SlackPeople
    from bot.store.engine import make_engine, migrate
    from bot.store.repo import Store

    loaded = _policy("export", settings)
    if loaded is None:
        return 1

    async def run() -> int:
        store = Store(make_engine(settings.database_url))
        # With a bot token, people by name (users.info); without, their Slack IDs.
        client = make_client(settings) if settings.slack_bot_token else None
        try:
            await migrate(store.engine)
            incident = await store.find(args.incident)
            if incident is None:
                print(
                    f"export: no incident {args.incident!r}; give its number (INC-42 or 42)"
                    " or its channel name",
                    file=sys.stderr,
                )
                return 1
            people = SlackPeople(client) if client is not None else None
            reports = Reports(store, Timeline(store), _PlainRefs(), people=people)
            if args.format == "json":
                print(json.dumps(await reports.export(incident, loaded.policy), indent=2))
            else:
                print(await reports.postmortem(incident, loaded.policy, SystemClock().now()))
            return 0
        finally:
            if client is not None:
                await close_client(client)
            await store.close()

    return asyncio.run(run())


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from bot.clock import SystemClock
    from bot.incidents.insights import Insights, insights
    from bot.incidents.insights_text import as_json, as_markdown
    from bot.incidents.policy_book import PolicyBook
    from bot.incidents.report import Reports
    from bot.incidents.timeline import Timeline
    from bot.policy.durations import DURATION_HELP, parse_duration
    from bot.store.engine import make_engine, migrate
    from bot.store.repo import Store

    try:
        period = parse_duration(args.since)
    except ValueError:
        print(
            f"report: --since {args.since!r} is not a duration; {DURATION_HELP} (90d)",
            file=sys.stderr,
        )
        return 2
    if args.format == "png" and args.output is None:
        print("report: --format png writes a file: add --output report.png", file=sys.stderr)
        return 2
    loaded = _policy("report", settings)
    if loaded is None:
        return 1

    async def gather() -> Insights:
        store = Store(make_engine(settings.database_url))
        try:
            await migrate(store.engine)
            clock = SystemClock()
            until = clock.now()
            book = PolicyBook(store, loaded, clock)
            reports = Reports(store, Timeline(store), _PlainRefs())
            return await insights(store, book, reports, since=until - period, until=until)
        finally:
            await store.close()

    found = asyncio.run(gather())
    if args.format == "png":
        from bot.incidents.insights_chart import as_png  # matplotlib: only when asked

        data = as_png(found)
    elif args.format == "json":
        data = (json.dumps(as_json(found), indent=2) + "\n").encode()
    else:
        data = as_markdown(found).encode()
    if not args.output:
        sys.stdout.write(data.decode())
        return 0
    try:
        Path(args.output).write_bytes(data)
    except OSError as e:
        print(f"report: cannot write {args.output}: {e.strerror}", file=sys.stderr)
        return 1
    print(f"report: wrote {args.output} ({found.total} incident(s))")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot", description="Incident-response bot for Slack")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser(
        "serve", help="run the bot (HTTP on $PORT, or Socket Mode with SLACK_APP_TOKEN)"
    )
    s.add_argument(
        "--role",
        choices=[r.value for r in Role],
        default=Role.ALL.value,
        help="all (default): everything in one process; web: acknowledge and commit only; "
        "worker: fire due rows and deliver (several of each on one PostgreSQL database)",
    )
    s.set_defaults(func=cmd_serve)
    v = sub.add_parser("validate", help="check policies; errors name file, line and field")
    v.add_argument(
        "policies", nargs="*", type=Path, help="policy files (default: $INCIDENT_POLICY)"
    )
    v.set_defaults(func=cmd_validate)
    m = sub.add_parser(
        "simulate", help="dry run of an incident on a virtual clock: what would be posted, when"
    )
    m.add_argument("--policy", help="policy file (default: $INCIDENT_POLICY)")
    m.add_argument("--severity", help="severity to declare (default: the policy's first)")
    m.add_argument("--title", default="Simulated incident")
    m.add_argument("--silent-for", default="2h", help="how long to run (default 2h)")
    m.add_argument("--updates-every", help="the commander posts an update this often")
    m.add_argument(
        "--script",
        help="YAML of what people do when (acks, updates, severity, roles, escalate, "
        "snooze, resolve); see bot/dryrun/script.py and policies/scripts/",
    )
    m.add_argument("--json", action="store_true", help="print JSON instead of a timeline")
    m.add_argument(
        "--at",
        help="when it is declared, in the policy's time zone (2026-12-07T08:30): who is on"
        " call then is paged (default: 2026-01-15 09:00 UTC)",
    )
    m.set_defaults(func=cmd_simulate)
    x = sub.add_parser("export", help="an incident's timeline and postmortem, out of the store")
    x.add_argument("incident", help="number (INC-42 or 42) or channel name")
    x.add_argument("--format", choices=["md", "json"], default="md")
    x.set_defaults(func=cmd_export)
    r = sub.add_parser("report", help="figures across incidents (drills left out)")
    r.add_argument("--since", default="90d", help="the period, back from now (default 90d)")
    r.add_argument("--format", choices=["md", "json", "png"], default="md")
    r.add_argument("--output", "-o", help="write to this file (needed for png)")
    r.set_defaults(func=cmd_report)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as e:
        print(e, file=sys.stderr)
        return 2
    configure_logs(settings, level=logging.INFO if args.command == "serve" else logging.WARNING)
    return int(args.func(args, settings))
