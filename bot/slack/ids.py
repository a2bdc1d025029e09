"""Action and callback IDs live in one place so blocks and listeners cannot drift."""

from enum import StrEnum

SLASH_COMMAND = "/incident"


class Action(StrEnum):
    POST_UPDATE = "incident_post_update"
    CHANGE_SEVERITY = "incident_change_severity"
    ESCALATE = "incident_escalate"
    RESOLVE = "incident_resolve"
    SNOOZE = "incident_snooze"
    DECLARE = "incident_declare"


class View(StrEnum):
    DECLARE = "declare_incident"
    ADD_TO_TIMELINE = "add_to_timeline_modal"
    UPDATE = "incident_update_modal"
    SEVERITY = "incident_severity_modal"
    RESOLVE = "incident_resolve_modal"
    SNOOZE = "incident_snooze_modal"


SHORTCUT_ADD_TO_TIMELINE = "add_to_timeline"


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


class Payload(StrEnum):
    """The `type` of an interactivity payload."""

    BLOCK_ACTIONS = "block_actions"
    VIEW_SUBMISSION = "view_submission"
    MESSAGE_ACTION = "message_action"
