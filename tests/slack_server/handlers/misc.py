"""auth.test, users.info, usergroups (.list, .users.list), pins, reactions, files upload v2."""

from __future__ import annotations

from typing import Any

from ..errors import Args, SlackError, int_arg, json_arg, list_arg, str_arg
from ..models import Message, UploadedFile
from ..workspace import Handler, Workspace


def auth_test(ws: Workspace, args: Args) -> dict[str, Any]:
    return {
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": "Fake Workspace",
        "user": ws.users[ws.bot_user_id].name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "app_id": ws.app_id,
        "is_enterprise_install": False,
    }


def users_info(ws: Workspace, args: Args) -> dict[str, Any]:
    return {"user": ws.user(str_arg(args, "user")).to_api()}


def usergroup_users(ws: Workspace, args: Args) -> dict[str, Any]:
    group = ws.usergroups.get(str_arg(args, "usergroup"))
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group.users)}


def usergroup_users_update(ws: Workspace, args: Args) -> dict[str, Any]:
    group = ws.usergroups.get(str_arg(args, "usergroup"))
    if group is None:
        raise SlackError("no_such_subteam")
    users = [u for u in str_arg(args, "users").split(",") if u]
    if not users:
        raise SlackError("no_users_provided")
    if any(u not in ws.users or ws.users[u].deleted for u in users):
        raise SlackError("invalid_users")
    group.users = users
    return {"usergroup": {"id": group.id, "handle": group.handle, "users": users}}


def usergroups_list(ws: Workspace, args: Args) -> dict[str, Any]:
    return {
        "usergroups": [
            {"id": g.id, "team_id": ws.team_id, "handle": g.handle, "name": g.handle}
            for g in ws.usergroups.values()
        ]
    }


def pins_add(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible_channel(str_arg(args, "channel"))
    if ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    ts = str_arg(args, "timestamp")
    if not any(m.ts == ts for m in channel.messages):
        raise SlackError("message_not_found")
    if ts in channel.pins:
        raise SlackError("already_pinned")
    channel.pins.append(ts)
    return {}


def reactions_add(ws: Workspace, args: Args) -> dict[str, Any]:
    ref = str_arg(args, "channel")
    channel = ws.find_channel(ref)
    if channel is not None and channel.is_archived:
        raise SlackError("is_archived")
    message = ws.find_message(ref, str_arg(args, "timestamp"))
    name = str_arg(args, "name").strip(":")
    if not name or " " in name:
        raise SlackError("invalid_name")
    users = message.reactions.setdefault(name, [])
    if ws.bot_user_id in users:
        raise SlackError("already_reacted")
    users.append(ws.bot_user_id)
    return {}


def get_upload_url(ws: Workspace, args: Args) -> dict[str, Any]:
    length = int_arg(args, "length", 0)
    upload = UploadedFile(ws.new_id("F"), str_arg(args, "filename"), length)
    ws.files[upload.id] = upload
    # The bytes go to this server (see FakeSlack's /upload route), not files.slack.com.
    return {"upload_url": f"{ws.base_url}/upload/{upload.id}", "file_id": upload.id}


def complete_upload(ws: Workspace, args: Args) -> dict[str, Any]:
    entries = json_arg(args, "files", "invalid_arguments")
    if not isinstance(entries, list) or not entries:
        raise SlackError("invalid_arguments")
    uploads: list[UploadedFile] = []
    for entry in entries:
        upload = ws.files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
        if upload is None or upload.content is None:
            raise SlackError("file_not_found")
        upload.title = entry.get("title") or upload.filename
        uploads.append(upload)
    targets = list_arg(args, "channels") or list_arg(args, "channel_id")
    # Check every target before posting anywhere, so a failed call leaves no trace.
    conversations = [ws.writable_conversation(t, public_ok=False) for t in targets]
    for conversation, messages in conversations:
        for upload in uploads:
            upload.channels.append(conversation)
        messages.append(
            Message(
                ts=ws.next_ts(),
                channel=conversation,
                user=ws.bot_user_id,
                bot_id=ws.bot_id,
                text=str_arg(args, "initial_comment"),
                thread_ts=str_arg(args, "thread_ts") or None,
                files=[u.to_api() for u in uploads],
            )
        )
    return {"files": [u.to_api() for u in uploads]}


HANDLERS: dict[str, Handler] = {
    "auth.test": auth_test,
    "users.info": users_info,
    "usergroups.users.list": usergroup_users,
    "usergroups.list": usergroups_list,
    "usergroups.users.update": usergroup_users_update,
    "pins.add": pins_add,
    "reactions.add": reactions_add,
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}
