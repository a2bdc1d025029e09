"""views.open/push/update/publish, with Slack's one-shot, 3-second trigger_ids."""

from __future__ import annotations

import secrets
from typing import Any

from ..blocks import validate_view
from ..errors import Args, SlackError, invalid, json_arg, str_arg
from ..models import Trigger, View
from ..workspace import TRIGGER_TTL, Handler, Workspace


def _view_arg(ws: Workspace, args: Args, *, replacing: str | None = None) -> dict[str, Any]:
    view = json_arg(args, "view", "invalid_arguments")
    problems = validate_view(view)
    if problems:
        raise invalid("invalid_arguments", problems)
    external_id = view.get("external_id")
    if external_id and any(
        v.external_id == external_id and v.id != replacing for v in ws.current_views.values()
    ):
        raise SlackError("duplicate_external_id")
    return dict(view)


def _trigger(ws: Workspace, args: Args) -> tuple[str, Trigger]:
    trigger_id = str_arg(args, "trigger_id") or str_arg(args, "interactivity_pointer")
    if not trigger_id:
        raise invalid("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
    trigger = ws.triggers.get(trigger_id)
    if trigger is None:
        raise SlackError("invalid_trigger_id")
    if trigger.used:
        raise SlackError("exchanged_trigger_id")
    if ws.clock() - trigger.issued_at > TRIGGER_TTL:
        raise SlackError("expired_trigger_id")
    return trigger_id, trigger


def _record(
    ws: Workspace,
    method: str,
    view_id: str,
    body: dict[str, Any],
    user: str | None,
    trigger_id: str | None = None,
    external_id: str | None = None,
) -> dict[str, Any]:
    view = View(
        id=view_id,
        type=body["type"],
        view=body,
        user=user,
        trigger_id=trigger_id,
        method=method,
        external_id=body.get("external_id") or external_id,
        hash=f"{int(ws.clock())}.{secrets.token_hex(4)}",
    )
    ws.views.append(view)
    ws.current_views[view_id] = view
    return {"view": view.to_api(ws.team_id, ws.app_id, ws.bot_id)}


def _open(method: str) -> Handler:
    def handler(ws: Workspace, args: Args) -> dict[str, Any]:
        trigger_id, trigger = _trigger(ws, args)
        body = _view_arg(ws, args)
        if body["type"] != "modal":
            raise invalid("invalid_arguments", ["[ERROR] must be modal [json-pointer:/view/type]"])
        # Only a successful exchange uses the trigger up.
        trigger.used = True
        return _record(ws, method, ws.new_id("V"), body, trigger.user, trigger_id)

    return handler


def update(ws: Workspace, args: Args) -> dict[str, Any]:
    view_id, external_id = str_arg(args, "view_id"), str_arg(args, "external_id")
    if not view_id and not external_id:
        raise invalid("invalid_arguments", ["[ERROR] missing required field: view_id"])
    current = (
        ws.current_views.get(view_id)
        if view_id
        else next((v for v in ws.current_views.values() if v.external_id == external_id), None)
    )
    if current is None:
        raise SlackError("not_found")
    if str_arg(args, "hash") and str_arg(args, "hash") != current.hash:
        raise SlackError("hash_conflict")
    body = _view_arg(ws, args, replacing=current.id)
    # An update that leaves external_id out keeps the view's existing one.
    return _record(
        ws, "views.update", current.id, body, current.user, external_id=current.external_id
    )


def publish(ws: Workspace, args: Args) -> dict[str, Any]:
    if not ws.home_tab_enabled:
        raise SlackError("not_enabled")
    user = str_arg(args, "user_id")
    if user not in ws.users:
        raise invalid("invalid_arguments", ["[ERROR] invalid user_id [json-pointer:/user_id]"])
    body = _view_arg(ws, args)
    if body["type"] != "home":
        raise invalid("invalid_arguments", ["[ERROR] must be home [json-pointer:/view/type]"])
    # Slack keeps one home view, with one id, per user.
    current = next(
        (v for v in ws.current_views.values() if v.type == "home" and v.user == user), None
    )
    if current and str_arg(args, "hash") and str_arg(args, "hash") != current.hash:
        raise SlackError("hash_conflict")
    return _record(ws, "views.publish", current.id if current else ws.new_id("V"), body, user)


HANDLERS: dict[str, Handler] = {
    "views.open": _open("views.open"),
    "views.push": _open("views.push"),
    "views.update": update,
    "views.publish": publish,
}
