"""`/incident oncall` and its override, as Slack text; the App Home's on-call lines."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.incidents.oncall import BadOverride, OnCallBook
from bot.planning.oncall import OnCall
from bot.policy.model import Policy
from bot.slack import command as cmd
from bot.slack import mrkdwn
from bot.slack.metered import error_code


def when(at: datetime | None, policy: Policy, schedule: str) -> str:
    if at is None:
        return "no hand-off in sight"
    tz = ZoneInfo(policy.schedules[schedule].timezone or policy.timezone)
    return at.astimezone(tz).strftime("%a %d %b %H:%M %Z")


def shift_lines(shifts: list[OnCall], policy: Policy) -> list[str]:
    lines = []
    for s in shifts:
        now = mrkdwn.user(s.user) if s.user else "nobody"
        nxt = mrkdwn.user(s.next_user) if s.next_user else "nobody"
        at = when(s.until, policy, s.schedule)
        lines.append(f"• *{s.schedule}/{s.layer}*: {now} now; {nxt} from {at}")
    return lines


async def oncall_reply(
    book: OnCallBook, client: AsyncWebClient, policy: Policy, parsed: cmd.Command, by: str
) -> str:
    """The ephemeral answer to `/incident oncall ...`; refusals are raised (typed)."""
    if isinstance(parsed, cmd.OnCall):
        if not policy.schedules:
            return "This policy has no on-call schedules (see `schedules:` in the README)."
        return "*On call*\n" + "\n".join(
            shift_lines(await book.now_and_next(policy, parsed.schedule), policy)
        )
    assert isinstance(parsed, cmd.OnCallOverride)
    await _must_be_a_person(client, parsed.user_id)
    row = await book.override(
        policy,
        by=by,
        user=parsed.user_id,
        start=parsed.start,
        end=parsed.end,
        schedule=parsed.schedule,
        layer=parsed.layer,
    )
    return (
        f"{mrkdwn.user(row.user_id)} is on call on *{row.schedule}/{row.layer}* from "
        f"{when(row.start_at, policy, row.schedule)} until "
        f"{when(row.end_at, policy, row.schedule)}."
    )


async def _must_be_a_person(client: AsyncWebClient, user: str) -> None:
    try:
        resp = await client.users_info(user=user)
    except SlackApiError as e:
        code = error_code(e)
        if code in {"user_not_found", "user_not_visible"}:
            raise BadOverride(
                f"{mrkdwn.user(user)} is not in this Slack workspace; pick a member with "
                "the @ autocomplete."
            ) from None
        raise
    info = resp.get("user") or {}
    if info.get("deleted") or info.get("is_bot"):
        raise BadOverride(
            f"{mrkdwn.user(user)} cannot be on call (deactivated or a bot); pick a person."
        )


async def home_lines(book: OnCallBook, policy: Policy, now: datetime) -> list[str]:
    """On call now and next, and the overrides set by command not over yet."""
    if not policy.schedules:
        return []
    lines = shift_lines(await book.now_and_next(policy, None), policy)
    for o in await book.upcoming(now):
        if o.schedule in policy.schedules:
            lines.append(
                f"• override: {mrkdwn.user(o.user_id)} on *{o.schedule}/{o.layer}* "
                f"{when(o.start_at, policy, o.schedule)} – {when(o.end_at, policy, o.schedule)}"
                f" (set by {mrkdwn.user(o.created_by)})"
            )
    return lines
