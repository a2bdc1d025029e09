"""Every name Slack and the bot agree on, in one place so blocks, listeners and the
manifest cannot drift: action, view, field and block ids, the shortcut's callback id,
event and payload types, and the Slack error codes the bot reacts to."""

from enum import StrEnum

SLASH_COMMAND = "/incident"
SHORTCUT_ADD_TO_TIMELINE = "add_to_timeline"


class Action(StrEnum):
    POST_UPDATE = "incident_post_update"
    CHANGE_SEVERITY = "incident_change_severity"
    ESCALATE = "incident_escalate"
    RESOLVE = "incident_resolve"
    SNOOZE = "incident_snooze"
    DECLARE = "incident_declare"
    ACKNOWLEDGE = "incident_acknowledge"


class View(StrEnum):
    DECLARE = "declare_incident"
    ADD_TO_TIMELINE = "add_to_timeline_modal"
    UPDATE = "incident_update_modal"
    SEVERITY = "incident_severity_modal"
    RESOLVE = "incident_resolve_modal"
    SNOOZE = "incident_snooze_modal"
    ESCALATE = "incident_escalate_modal"


class Field(StrEnum):
    """block_id == action_id for modal inputs, so state lookups stay obvious."""

    SEVERITY = "severity"
    TITLE = "title"
    INCIDENT = "incident"
    KEY_TEXT = "key_text"
    STATUS = "status"
    TEXT = "text"
    SUMMARY = "summary"
    DURATION = "duration"
    PUBLISH = "publish"
    PUBLIC_TEXT = "public_text"
    LEVEL = "level"
    REASON = "reason"


class BlockId(StrEnum):
    """The actions blocks that hold buttons."""

    INCIDENT_CONTROLS = "incident_controls"
    HOME_ACTIONS = "home_actions"


class Payload(StrEnum):
    """The `type` of an interactivity payload."""

    BLOCK_ACTIONS = "block_actions"
    VIEW_SUBMISSION = "view_submission"
    VIEW_CLOSED = "view_closed"
    SHORTCUT = "shortcut"  # a global one
    MESSAGE_ACTION = "message_action"


class Event(StrEnum):
    """Events API event types the bot subscribes to (manifest.yml)."""

    MESSAGE = "message"
    APP_HOME_OPENED = "app_home_opened"
    # Sent to the bot when it is removed from a public / private channel.
    CHANNEL_LEFT = "channel_left"
    GROUP_LEFT = "group_left"


class MessageSubtype(StrEnum):
    CHANGED = "message_changed"
    DELETED = "message_deleted"


# The envelope of an Events API callback, over HTTP and over Socket Mode.
EVENT_CALLBACK = "event_callback"
URL_VERIFICATION = "url_verification"
SOCKET_EVENTS_API = "events_api"
# The App Home has one tab the bot draws.
HOME_TAB = "home"
# The reaction that shows a scribe the message is in the timeline.
KEY_EVENT_REACTION = "pushpin"
# Slack message metadata naming the step that sent a message (see chat.Message.step).
STEP_EVENT = "incident_bot"


class SlackError(StrEnum):
    """Slack's `error` codes that the bot compares."""

    ALREADY_IN_CHANNEL = "already_in_channel"
    CANT_INVITE_SELF = "cant_invite_self"
    ALREADY_PINNED = "already_pinned"
    ALREADY_REACTED = "already_reacted"
    NAME_TAKEN = "name_taken"
    # views.open with a trigger past its 3 s, used already, or not Slack's.
    EXPIRED_TRIGGER = "expired_trigger_id"
    EXCHANGED_TRIGGER = "exchanged_trigger_id"
    INVALID_TRIGGER = "invalid_trigger_id"


TRIGGER_ERRORS = {
    SlackError.EXPIRED_TRIGGER,
    SlackError.EXCHANGED_TRIGGER,
    SlackError.INVALID_TRIGGER,
}
