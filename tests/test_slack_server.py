"""The test bed itself: FakeSlack must answer the real slack_sdk client the way Slack does,
and SlackSender must produce requests that Slack's own verifier and Bolt accept."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.slack_requests import SlackSender, sign
from tests.slack_server import FakeSlack, Message

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_700_000_000.0
SECRET = "test-signing-secret"


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def web_client(slack: FakeSlack, token: str | None = None) -> AsyncWebClient:
    return AsyncWebClient(token=token or slack.bot_token, base_url=slack.api_url)


async def slack_error(call: Awaitable[Any]) -> AsyncSlackResponse:
    with pytest.raises(SlackApiError) as info:
        await call
    response: AsyncSlackResponse = info.value.response
    return response


def manifest_without(tmp_path: Path, *removed: str) -> Path:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    manifest["oauth_config"]["scopes"]["bot"] = [s for s in scopes if s not in removed]
    path = tmp_path / "manifest.yml"
    path.write_text(yaml.safe_dump(manifest))
    return path


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return web_client(slack)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def clocked(clock: FakeClock) -> AsyncIterator[FakeSlack]:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml", clock=clock) as fake:
        yield fake


# --- requests, auth, scopes, required arguments -----------------------------------


async def test_auth(slack: FakeSlack) -> None:
    assert (await slack_error(web_client(slack, "xoxb-wrong").auth_test()))["error"] == (
        "invalid_auth"
    )
    async with aiohttp.ClientSession() as s, s.post(f"{slack.api_url}auth.test") as r:
        assert (await r.json())["error"] == "not_authed"
    me = await web_client(slack).auth_test()
    assert (me["user_id"], me["team_id"]) == (slack.bot_user_id, slack.team_id)
    assert "123456" not in slack.bot_token


async def test_unknown_method(client: AsyncWebClient) -> None:
    response = await slack_error(client.api_call("chat.nonsense"))
    assert response["error"] == "unknown_method"


async def test_form_json_and_query_arguments_and_token_argument(slack: FakeSlack) -> None:
    general = slack.add_channel("general", members=[slack.bot_user_id])
    url = f"{slack.api_url}chat.postMessage"
    form = {"token": slack.bot_token, "channel": general, "text": "form"}
    body = {"channel": general, "text": "json"}
    auth = {"Authorization": f"Bearer {slack.bot_token}"}
    async with aiohttp.ClientSession() as s:
        async with s.post(url, data=form) as r:
            assert (await r.json())["ok"] is True
        async with s.post(url, json=body, headers=auth) as r:
            assert (await r.json())["ok"] is True
        async with s.get(url, params={"channel": general, "text": "query"}, headers=auth) as r:
            assert (await r.json())["ok"] is True
    assert [m.text for m in slack.messages("general")] == ["form", "json", "query"]
    assert slack.calls_to("chat.postMessage")[0].args == {"channel": general, "text": "form"}


async def test_missing_scope_reports_needed_and_provided(tmp_path: Path) -> None:
    async with FakeSlack.from_manifest(manifest_without(tmp_path, "chat:write")) as slack:
        slack.add_channel("general", members=[slack.bot_user_id])
        response = await slack_error(
            web_client(slack).chat_postMessage(channel="general", text="x")
        )
    assert response["error"] == "missing_scope"
    assert response["needed"] == "chat:write"
    assert "chat:write" not in response["provided"].split(",")
    assert "commands" in response["provided"].split(",")


async def test_any_listed_scope_suffices(slack: FakeSlack, client: AsyncWebClient) -> None:
    # conversations.create accepts channels:manage or groups:write (among others).
    assert (await client.conversations_create(name="ok"))["ok"]
    general = slack.add_channel("general")
    response = await slack_error(client.conversations_join(channel=general))  # channels:join
    assert response["error"] == "missing_scope"


@pytest.mark.parametrize(
    ("method", "args", "error"),
    [
        ("conversations.create", {}, "invalid_name_required"),
        ("chat.postMessage", {"channel": "general"}, "no_text"),
        ("chat.postMessage", {"text": "hi"}, "channel_not_found"),
        ("conversations.setTopic", {"channel": "general"}, "invalid_arguments"),
    ],
)
async def test_missing_required_arguments(
    slack: FakeSlack, client: AsyncWebClient, method: str, args: dict[str, str], error: str
) -> None:
    slack.add_channel("general", members=[slack.bot_user_id])
    response = await slack_error(client.api_call(method, params=args))
    assert response["error"] == error
    if error == "invalid_arguments":
        assert response["response_metadata"]["messages"] == [
            "[ERROR] missing required field: topic"
        ]


# --- conversations -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("a" * 81, "invalid_name_maxlength"),
        ("Incident", "invalid_name_specials"),
        ("has space", "invalid_name_specials"),
        ("#hash", "invalid_name_specials"),
        ("-_-", "invalid_name_punctuation"),
        ("a" * 80, None),
        ("inc-2024_01-db", None),
    ],
)
async def test_channel_name_rules(client: AsyncWebClient, name: str, error: str | None) -> None:
    if error is None:
        assert (await client.conversations_create(name=name))["channel"]["name"] == name
    else:
        assert (await slack_error(client.conversations_create(name=name)))["error"] == error


async def test_create_makes_the_bot_a_member_and_names_stay_taken(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    created = (await client.conversations_create(name="inc-1", is_private=True))["channel"]
    channel = slack.channels[created["id"]]
    assert channel.is_private and created["is_private"]
    assert channel.members == {slack.bot_user_id} and channel.creator == slack.bot_user_id
    assert (await slack_error(client.conversations_create(name="inc-1")))["error"] == "name_taken"
    slack.add_channel("old-incident", archived=True)
    response = await slack_error(client.conversations_create(name="old-incident"))
    assert response["error"] == "name_taken"


async def test_invite_rules(slack: FakeSlack, client: AsyncWebClient) -> None:
    alice, bob = slack.add_user("alice"), slack.add_user("bob")
    inc = slack.add_channel("inc", members=[slack.bot_user_id, alice])

    async def invite_error(users: str, channel: str = inc) -> AsyncSlackResponse:
        return await slack_error(client.conversations_invite(channel=channel, users=users))

    # One bad user fails the whole call, and nobody is invited.
    response = await invite_error(f"{alice},{bob}")
    assert response["error"] == "already_in_channel"
    assert response["errors"] == [{"user": alice, "ok": False, "error": "already_in_channel"}]
    assert slack.channels[inc].members == {slack.bot_user_id, alice}
    assert (await invite_error("U0NOBODY"))["error"] == "user_not_found"
    assert (await invite_error(slack.bot_user_id))["error"] == "cant_invite_self"
    assert (await invite_error(bob, "C0MISSING"))["error"] == "channel_not_found"
    assert (await invite_error(bob, slack.add_channel("other")))["error"] == "not_in_channel"
    archived = slack.add_channel("gone", members=[slack.bot_user_id], archived=True)
    assert (await invite_error(bob, archived))["error"] == "is_archived"
    # force=true invites the valid users and reports the others.
    ok = await client.conversations_invite(channel=inc, users=[alice, bob], force=True)
    assert ok["errors"][0]["error"] == "already_in_channel"
    assert slack.channels[inc].members == {slack.bot_user_id, alice, bob}


async def test_topic_purpose_info_join_archive(slack: FakeSlack, client: AsyncWebClient) -> None:
    inc = slack.add_channel("inc", members=[slack.bot_user_id])
    await client.conversations_setTopic(channel=inc, topic="SEV1: db down")
    await client.conversations_setPurpose(channel=inc, purpose="Fix the db")
    response = await slack_error(client.conversations_setTopic(channel=inc, topic="x" * 251))
    assert response["error"] == "too_long"
    info = (await client.conversations_info(channel=inc))["channel"]
    assert (info["topic"]["value"], info["purpose"]["value"]) == ("SEV1: db down", "Fix the db")
    outside = slack.add_channel("outside")
    response = await slack_error(client.conversations_setTopic(channel=outside, topic="x"))
    assert response["error"] == "not_in_channel"
    secret = slack.add_channel("secret", private=True)
    assert (await slack_error(client.conversations_info(channel=secret)))["error"] == (
        "channel_not_found"
    )
    assert (await slack_error(client.conversations_archive(channel=outside)))["error"] == (
        "not_in_channel"
    )
    await client.conversations_archive(channel=inc)
    assert slack.channels[inc].is_archived
    assert (await slack_error(client.conversations_archive(channel=inc)))["error"] == (
        "already_archived"
    )
    assert (await slack_error(client.conversations_setTopic(channel=inc, topic="x")))["error"] == (
        "is_archived"
    )


async def test_list_pagination_types_and_members(slack: FakeSlack, client: AsyncWebClient) -> None:
    alice = slack.add_user("alice")
    for i in range(5):
        slack.add_channel(f"c{i}", members=[alice])
    slack.add_channel("gone", archived=True)
    mine = slack.add_channel("mine", private=True, members=[slack.bot_user_id, alice])
    slack.add_channel("theirs", private=True)
    names: list[str] = []
    cursor = ""
    while True:
        page = await client.conversations_list(limit=2, cursor=cursor, exclude_archived=True)
        assert len(page["channels"]) <= 2
        names += [c["name"] for c in page["channels"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert names == ["c0", "c1", "c2", "c3", "c4"]
    both = await client.conversations_list(types="public_channel,private_channel")
    assert {c["name"] for c in both["channels"]} == {"c0", "c1", "c2", "c3", "c4", "gone", "mine"}
    assert (await slack_error(client.conversations_list(cursor="bogus")))["error"] == (
        "invalid_cursor"
    )
    assert (await slack_error(client.conversations_list(types="nope")))["error"] == (
        "invalid_types"
    )
    members = await client.conversations_members(channel=mine)
    assert set(members["members"]) == {slack.bot_user_id, alice}


async def test_join(tmp_path: Path) -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    manifest["oauth_config"]["scopes"]["bot"].append("channels:join")
    (tmp_path / "m.yml").write_text(yaml.safe_dump(manifest))
    async with FakeSlack.from_manifest(tmp_path / "m.yml") as slack:
        client = web_client(slack)
        public = slack.add_channel("public")
        await client.conversations_join(channel=public)
        assert slack.bot_user_id in slack.channels[public].members
        assert (await client.conversations_join(channel=public))["warning"] == "already_in_channel"
        private = slack.add_channel("private", private=True)
        assert (await slack_error(client.conversations_join(channel=private)))["error"] == (
            "channel_not_found"
        )


async def test_dms_via_open_or_user_id(slack: FakeSlack, client: AsyncWebClient) -> None:
    alice = slack.add_user("alice")
    im = (await client.conversations_open(users=alice))["channel"]["id"]
    assert im.startswith("D")
    assert (await client.conversations_open(users=[alice]))["channel"]["id"] == im
    await client.chat_postMessage(channel=im, text="via D")
    posted = await client.chat_postMessage(channel=alice, text="via U")
    assert posted["channel"] == im
    assert [m.text for m in slack.dms[alice]] == ["via D", "via U"]
    assert (await slack_error(client.conversations_open(users="U0NOBODY")))["error"] == (
        "user_not_found"
    )


# --- chat --------------------------------------------------------------------------


async def test_post_message_membership_rules(slack: FakeSlack, tmp_path: Path) -> None:
    client = web_client(slack)
    public = slack.add_channel("public")
    # The manifest grants chat:write.public: public channels need no membership.
    assert (await client.chat_postMessage(channel="#public", text="hi"))["channel"] == public
    secret = slack.add_channel("secret", private=True)
    archived = slack.add_channel("archived", members=[slack.bot_user_id], archived=True)
    for channel, error in [
        (secret, "channel_not_found"),  # private channels are invisible to non-members
        (archived, "is_archived"),
        ("C0MISSING", "channel_not_found"),
    ]:
        response = await slack_error(client.chat_postMessage(channel=channel, text="x"))
        assert response["error"] == error
    async with FakeSlack.from_manifest(manifest_without(tmp_path, "chat:write.public")) as strict:
        strict.add_channel("public")
        response = await slack_error(
            web_client(strict).chat_postMessage(channel="public", text="x")
        )
        assert response["error"] == "not_in_channel"


async def test_post_message_ts_threads_and_size(clocked: FakeSlack, clock: FakeClock) -> None:
    client = web_client(clocked)
    inc = clocked.add_channel("inc", members=[clocked.bot_user_id])
    first = await client.chat_postMessage(channel=inc, text="one")
    second = await client.chat_postMessage(channel=inc, text="two", thread_ts=first["ts"])
    clock.now += 1.5
    third = await client.chat_postMessage(channel=inc, text="three")
    assert (first["ts"], second["ts"], third["ts"]) == (
        "1700000000.000000",
        "1700000000.000001",
        "1700000001.500000",
    )
    assert second["message"]["thread_ts"] == first["ts"]
    assert clocked.messages("inc")[1].thread_ts == first["ts"]
    response = await slack_error(client.chat_postMessage(channel=inc, text="x" * 40_001))
    assert response["error"] == "msg_too_long"


async def test_ephemeral_update_permalink(slack: FakeSlack, client: AsyncWebClient) -> None:
    alice, bob = slack.add_user("alice"), slack.add_user("bob")
    inc = slack.add_channel("inc", members=[slack.bot_user_id, alice])
    await client.chat_postEphemeral(channel=inc, user=alice, text="psst")
    assert [(m.user, m.text) for m in slack.ephemerals] == [(alice, "psst")]
    response = await slack_error(client.chat_postEphemeral(channel=inc, user=bob, text="x"))
    assert response["error"] == "user_not_in_channel"

    ts = (await client.chat_postMessage(channel=inc, text="old"))["ts"]
    updated = await client.chat_update(channel=inc, ts=ts, text="new")
    assert updated["message"]["text"] == "new" and slack.messages(inc)[0].text == "new"
    response = await slack_error(client.chat_update(channel=inc, ts="1.000000", text="x"))
    assert response["error"] == "message_not_found"
    slack.channels[inc].messages.append(Message("2.000000", inc, alice, "human"))
    response = await slack_error(client.chat_update(channel=inc, ts="2.000000", text="x"))
    assert response["error"] == "cant_update_message"

    link = (await client.chat_getPermalink(channel=inc, message_ts=ts))["permalink"]
    assert link.endswith(f"/archives/{inc}/p{ts.replace('.', '')}")


async def test_pins_and_reactions() -> None:
    scopes = ["chat:write", "pins:write", "reactions:write"]
    async with FakeSlack(scopes) as slack:
        client = web_client(slack)
        inc = slack.add_channel("inc", members=[slack.bot_user_id])
        ts = (await client.chat_postMessage(channel=inc, text="summary"))["ts"]
        await client.pins_add(channel=inc, timestamp=ts)
        assert slack.channels[inc].pins == [ts]
        for channel, stamp, error in [
            (inc, ts, "already_pinned"),
            (inc, "1.000000", "message_not_found"),
            (slack.add_channel("outside"), ts, "not_in_channel"),
        ]:
            response = await slack_error(client.pins_add(channel=channel, timestamp=stamp))
            assert response["error"] == error
        await client.reactions_add(channel=inc, timestamp=ts, name="eyes")
        response = await slack_error(client.reactions_add(channel=inc, timestamp=ts, name="eyes"))
        assert response["error"] == "already_reacted"
        assert slack.messages(inc)[0].reactions == {"eyes": [slack.bot_user_id]}


async def test_users_usergroups_and_file_upload() -> None:
    scopes = ["chat:write", "users:read", "usergroups:read", "files:write"]
    async with FakeSlack(scopes) as slack:
        client = web_client(slack)
        alice = slack.add_user("alice")
        assert (await client.users_info(user=alice))["user"]["name"] == "alice"
        assert (await slack_error(client.users_info(user="U0NOBODY")))["error"] == (
            "user_not_found"
        )
        group = slack.add_usergroup("oncall", [alice])
        assert (await client.usergroups_users_list(usergroup=group))["users"] == [alice]
        response = await slack_error(client.usergroups_users_list(usergroup="S0NONE"))
        assert response["error"] == "no_such_subteam"

        inc = slack.add_channel("inc", members=[slack.bot_user_id])
        await client.files_upload_v2(
            channel=inc, content="timeline", filename="t.md", initial_comment="Postmortem"
        )
        [message] = slack.messages(inc)
        assert message.text == "Postmortem"
        assert message.files is not None and message.files[0]["name"] == "t.md"
        assert [f.content for f in slack.files.values()] == [b"timeline"]


# --- Block Kit ---------------------------------------------------------------------


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str = "Go", action_id: str = "go") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id}


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([section("x")] * 51, "/blocks"),
        ([section("x" * 3001)], "/blocks/0/text/text"),
        ([{"type": "header", "text": plain("x" * 151)}], "/blocks/0/text/text"),
        ([{"type": "actions", "elements": [button("x" * 76)]}], "/blocks/0/elements/0/text/text"),
        ([{"type": "actions", "elements": [button(action_id="a" * 256)]}], "action_id"),
        ([{**section("x"), "block_id": "b" * 256}], "/blocks/0/block_id"),
        ([{"type": "section", "fields": [plain("f")] * 11}], "/blocks/0/fields"),
        ([{"type": "section", "fields": [plain("f" * 2001)]}], "/blocks/0/fields/0/text"),
        ([{"type": "context", "elements": [plain("c")] * 11}], "/blocks/0/elements"),
        ([{"type": "actions", "elements": [button()] * 26}], "/blocks/0/elements"),
        ([{"type": "nonsense"}], "/blocks/0/type"),
    ],
)
async def test_block_kit_limits_in_messages(
    slack: FakeSlack, client: AsyncWebClient, blocks: list[dict[str, Any]], pointer: str
) -> None:
    inc = slack.add_channel("inc", members=[slack.bot_user_id])
    response = await slack_error(client.chat_postMessage(channel=inc, text="t", blocks=blocks))
    assert response["error"] == "invalid_blocks"
    messages = response["response_metadata"]["messages"]
    assert messages and all(m.startswith("[ERROR] ") for m in messages)
    assert any(pointer in m for m in messages), messages
    assert slack.messages(inc) == []


async def test_blocks_at_the_limits_pass_and_form_encoded_blocks_work(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    inc = slack.add_channel("inc", members=[slack.bot_user_id])
    limits = [
        section("x" * 3000),
        {"type": "header", "text": plain("h" * 150)},
        {"type": "actions", "elements": [button("b" * 75, action_id=f"a{i}") for i in range(25)]},
        {"type": "section", "fields": [plain("f" * 2000)] * 10},
        {"type": "context", "elements": [plain("c")] * 10},
    ]
    await client.chat_postMessage(channel=inc, text="t", blocks=limits + [section("x")] * 45)
    # Form-encoded callers send blocks as a JSON string.
    await client.api_call("chat.postMessage", data={"channel": inc, "blocks": json.dumps(limits)})
    assert [len(m.blocks or []) for m in slack.messages(inc)] == [50, 5]
    response = await slack_error(
        client.api_call("chat.postMessage", data={"channel": inc, "blocks": "[not json"})
    )
    assert response["error"] == "invalid_blocks_format"
    response = await slack_error(
        client.chat_update(
            channel=inc, ts=slack.messages(inc)[0].ts, text="t", blocks=[section("x" * 3001)]
        )
    )
    assert response["error"] == "invalid_blocks"


# --- views and trigger_ids ---------------------------------------------------------


INPUT = {"type": "input", "label": plain("l"), "element": {"type": "plain_text_input"}}


def modal(title: str = "Declare", blocks: int = 1, **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": plain(title), "blocks": [section("x")] * blocks, **extra}


@pytest.mark.parametrize(
    ("view", "pointer"),
    [
        (modal("t" * 25), "/view/title/text"),
        (modal(submit=plain("s" * 25)), "/view/submit/text"),
        (modal(close=plain("c" * 25)), "/view/close/text"),
        (modal(blocks=101), "/view/blocks"),
        (modal(blocks=0) | {"blocks": [INPUT]}, "/view"),  # input blocks need a submit
    ],
)
async def test_view_limits(
    slack: FakeSlack, client: AsyncWebClient, view: dict[str, Any], pointer: str
) -> None:
    trigger = slack.new_trigger_id()
    response = await slack_error(client.views_open(trigger_id=trigger, view=view))
    assert response["error"] == "invalid_arguments"
    assert any(f"[json-pointer:{pointer}" in m for m in response["response_metadata"]["messages"])
    # A rejected view does not use the trigger up.
    assert (await client.views_open(trigger_id=trigger, view=modal(blocks=100)))["ok"]


async def test_trigger_ids_are_single_use_and_expire(clocked: FakeSlack, clock: FakeClock) -> None:
    client = web_client(clocked)
    alice = clocked.add_user("alice")
    trigger = clocked.new_trigger_id(alice)
    clock.now += 2.9
    opened = (await client.views_open(trigger_id=trigger, view=modal()))["view"]
    assert opened["id"].startswith("V")
    assert [(v.method, v.user, v.trigger_id) for v in clocked.views] == [
        ("views.open", alice, trigger)
    ]
    for trigger_id, error in [
        (trigger, "exchanged_trigger_id"),
        ("12345.67890.abcdef", "invalid_trigger_id"),
    ]:
        response = await slack_error(client.views_open(trigger_id=trigger_id, view=modal()))
        assert response["error"] == error
    late = clocked.new_trigger_id()
    clock.now += 3.1
    response = await slack_error(client.views_push(trigger_id=late, view=modal()))
    assert response["error"] == "expired_trigger_id"


async def test_views_update_and_publish(slack: FakeSlack, client: AsyncWebClient) -> None:
    alice = slack.add_user("alice")
    view = modal(external_id="declare-1")
    opened = (await client.views_open(trigger_id=slack.new_trigger_id(), view=view))["view"]
    by_id = (await client.views_update(view_id=opened["id"], view=modal("Step 2")))["view"]
    assert by_id["id"] == opened["id"] and by_id["title"]["text"] == "Step 2"
    by_external = await client.views_update(external_id="declare-1", view=modal("Step 3"))
    assert by_external["view"]["id"] == opened["id"]
    assert (await slack_error(client.views_update(view_id="V0NONE", view=modal())))["error"] == (
        "not_found"
    )
    response = await slack_error(
        client.views_update(view_id=opened["id"], hash="stale", view=modal())
    )
    assert response["error"] == "hash_conflict"
    home = {"type": "home", "blocks": [section("hello")]}
    first = (await client.views_publish(user_id=alice, view=home))["view"]
    again = (await client.views_publish(user_id=alice, view=home))["view"]
    assert first["id"] == again["id"]
    assert [v.method for v in slack.views] == ["views.open", *["views.update"] * 2] + [
        "views.publish"
    ] * 2


# --- faults and rate limits --------------------------------------------------------


async def test_history_newest_first_metadata_on_request_and_scope_per_type(
    slack: FakeSlack, client: AsyncWebClient, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    ch = slack.add_channel("ops", members=[slack.bot_user_id])
    meta = {"event_type": "incident_bot", "event_payload": {"step": "job:1:x"}}
    await client.chat_postMessage(channel=ch, text="one", metadata=meta)
    await client.chat_postMessage(channel=ch, text="two")
    plain = await client.conversations_history(channel=ch)
    assert [m["text"] for m in plain["messages"]] == ["two", "one"]
    assert all("metadata" not in m for m in plain["messages"])
    full = await client.conversations_history(channel=ch, include_all_metadata=True)
    assert full["messages"][1]["metadata"] == meta
    outside = slack.add_channel("elsewhere")
    assert (await slack_error(client.conversations_history(channel=outside)))["error"] == (
        "not_in_channel"
    )
    # A DM's history needs im:history, whatever other history scopes are granted.
    await client.chat_postMessage(channel=alice, text="psst")
    im = (await client.conversations_open(users=alice))["channel"]["id"]
    assert [m["text"] for m in (await client.conversations_history(channel=im))["messages"]] == [
        "psst"
    ]
    async with FakeSlack.from_manifest(manifest_without(tmp_path, "im:history")) as narrow:
        bob = narrow.add_user("bob")
        c = web_client(narrow)
        await c.chat_postMessage(channel=bob, text="hi")
        dm = (await c.conversations_open(users=bob))["channel"]["id"]
        error = await slack_error(c.conversations_history(channel=dm))
        assert (error["error"], error["needed"]) == ("missing_scope", "im:history")


async def test_injected_faults_apply_in_order(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.add_channel("inc", members=[slack.bot_user_id])
    slack.fail("chat.postMessage", status=429, retry_after=7, times=2)
    slack.fail("chat.postMessage", status=503)
    slack.fail("chat.postMessage", error="restricted_action")
    for _ in range(2):
        response = await slack_error(client.chat_postMessage(channel="inc", text="x"))
        assert response.status_code == 429 and response.headers["Retry-After"] == "7"
        assert response["error"] == "ratelimited"
    response = await slack_error(client.chat_postMessage(channel="inc", text="x"))
    assert response.status_code == 503
    response = await slack_error(client.chat_postMessage(channel="inc", text="x"))
    assert (response.status_code, response["error"]) == (200, "restricted_action")
    assert (await client.chat_postMessage(channel="inc", text="x"))["ok"]
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 429, 503, 200, 200]
    with pytest.raises(ValueError):
        slack.fail("chat.postMesage", error="typo")


async def test_rate_limit_per_channel(clocked: FakeSlack, clock: FakeClock) -> None:
    client = web_client(clocked)
    a = clocked.add_channel("a", members=[clocked.bot_user_id])
    b = clocked.add_channel("b", members=[clocked.bot_user_id])
    for _ in range(10):  # not enforced by default
        await client.chat_postMessage(channel=a, text="x")
    clocked.enforce_rate_limits = True
    clock.now += 60
    for _ in range(5):
        await client.chat_postMessage(channel=a, text="burst")
    response = await slack_error(client.chat_postMessage(channel=a, text="x"))
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert (await client.chat_postMessage(channel=b, text="other channel"))["ok"]
    clock.now += 1
    assert (await client.chat_postMessage(channel=a, text="after a second"))["ok"]


async def test_response_urls_record_respond_payloads(slack: FakeSlack) -> None:
    url = slack.new_response_url()
    sent = await AsyncWebhookClient(url).send(text="Declared", response_type="ephemeral")
    assert (sent.status_code, sent.body) == (200, "ok")
    assert slack.responses == [{"text": "Declared", "response_type": "ephemeral"}]
    missing = await AsyncWebhookClient(url + "x").send(text="lost")
    assert missing.status_code == 404


# --- what Slack sends to the bot ---------------------------------------------------


def test_sign_matches_slack_sdk_verifier() -> None:
    body = b"command=%2Fincident&text=sev1+db"
    headers = sign(body, SECRET, int(T0))

    class Frozen(Clock):
        def now(self) -> float:
            return T0

    verifier = SignatureVerifier(SECRET, clock=Frozen())
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + b"x", headers)
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)


SEVERITY_PICKER = {
    "type": "actions",
    "block_id": "sev",
    "elements": [
        {
            "type": "static_select",
            "action_id": "pick",
            "options": [{"text": plain("Sev 2"), "value": "SEV2"}],
        }
    ],
}


@pytest.fixture
async def bolt(slack: FakeSlack) -> AsyncIterator[tuple[SlackSender, list[dict[str, Any]]]]:
    """A real Bolt app served on loopback, calling the fake: proves the payloads are Slack's.
    Every listener appends the request body it got to `seen`."""
    seen: list[dict[str, Any]] = []
    # process_before_response: listeners finish before the HTTP answer, so no polling.
    app = AsyncApp(signing_secret=SECRET, client=web_client(slack), process_before_response=True)

    @app.command("/incident")
    async def command(ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        await ack()
        seen.append(body)
        view = modal(callback_id="declare", submit=plain("Go"), private_metadata="C-meta")
        view["blocks"] = [SEVERITY_PICKER]
        await client.views_open(trigger_id=body["trigger_id"], view=view)
        await respond("opening")

    @app.action("ack_button")
    @app.action("pick")
    async def action(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        seen.append(body)
        if "response_url" in body:
            await respond("acked")

    @app.view("declare")
    async def submit(ack: Any, body: dict[str, Any]) -> None:
        seen.append(body)
        await ack(response_action="errors", errors={"title": "too short"})

    @app.shortcut("add_to_timeline")
    async def shortcut(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        seen.append(body)

    @app.event("app_home_opened")
    async def home(body: dict[str, Any], client: AsyncWebClient) -> None:
        seen.append(body)
        await client.views_publish(
            user_id=body["event"]["user"], view={"type": "home", "blocks": []}
        )

    runner = web.AppRunner(app.web_app())
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/slack/events"
    yield SlackSender(url, SECRET, slack), seen
    await runner.cleanup()


async def test_bolt_command_modal_and_submission(
    slack: FakeSlack, bolt: tuple[SlackSender, list[dict[str, Any]]]
) -> None:
    send, seen = bolt
    alice = slack.add_user("alice")
    general = slack.add_channel("general", members=[slack.bot_user_id, alice])

    assert (await send.command("sev1 db", user=alice, channel="general")).status == 200
    assert seen[0]["channel_id"] == general and seen[0]["user_name"] == "alice"
    assert [v.user for v in slack.views] == [alice]  # views.open used the command's trigger
    assert slack.responses == [{"text": "opening"}]  # respond() hit the response_url

    # A select inside the modal: the sender finds the view and the element by action_id.
    await send.block_action("pick", user=alice, view=slack.views[0].view, selected_option="SEV2")
    action = seen[1]["actions"][0]
    assert (action["block_id"], action["type"]) == ("sev", "static_select")
    assert action["selected_option"]["text"]["text"] == "Sev 2"
    assert seen[1]["container"] == {"type": "view", "view_id": slack.views[0].id}

    values = {"title": {"title": {"type": "plain_text_input", "value": "x"}}}
    submitted = await send.view_submission("declare", values, user=alice)
    assert submitted.json() == {"response_action": "errors", "errors": {"title": "too short"}}
    view = seen[2]["view"]
    assert (view["id"], view["private_metadata"]) == (slack.views[0].id, "C-meta")
    assert view["state"]["values"] == values


async def test_bolt_message_actions_shortcuts_and_events(
    slack: FakeSlack, bolt: tuple[SlackSender, list[dict[str, Any]]]
) -> None:
    send, seen = bolt
    alice = slack.add_user("alice")
    general = slack.add_channel("general", members=[slack.bot_user_id, alice])
    blocks = [{"type": "actions", "block_id": "b1", "elements": [button("Ack", "ack_button")]}]
    ts = (await web_client(slack).chat_postMessage(channel=general, text="t", blocks=blocks))["ts"]

    clicked = await send.block_action(
        "ack_button", user=alice, channel=general, message_ts=ts, value="INC-1"
    )
    assert clicked.status == 200
    action = seen[0]["actions"][0]
    assert (action["block_id"], action["value"], action["type"]) == ("b1", "INC-1", "button")
    assert seen[0]["message"]["ts"] == ts and slack.responses == [{"text": "acked"}]

    message = slack.messages(general)[0].to_api()
    await send.message_action("add_to_timeline", user=alice, channel=general, message=message)
    assert (seen[1]["type"], seen[1]["message_ts"]) == ("message_action", ts)
    assert seen[1]["trigger_id"] in slack.triggers

    event = {"type": "app_home_opened", "user": alice, "tab": "home"}
    assert (await send.event(event, retry_num=1)).status == 200
    assert seen[2]["event"]["user"] == alice
    assert slack.views[-1].method == "views.publish" and slack.views[-1].user == alice


async def test_bad_signature_and_stale_timestamp_are_refused(
    slack: FakeSlack, bolt: tuple[SlackSender, list[dict[str, Any]]]
) -> None:
    send, seen = bolt
    alice = slack.add_user("alice")
    slack.add_channel("general", members=[alice])
    body = b"command=%2Fincident&text=x"
    forged = {"X-Slack-Request-Timestamp": str(int(T0)), "X-Slack-Signature": "v0=00"}
    assert (await send.raw(body, forged)).status == 401
    stale = SlackSender(send.bot_url, SECRET, slack, clock=lambda: T0)  # years ago
    assert (await stale.command("x", user=alice, channel="general")).status == 401
    assert seen == []
