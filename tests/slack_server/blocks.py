"""Block Kit limits that Slack enforces, reported in Slack's own wording.

Slack answers `invalid_blocks` (messages) or `invalid_arguments` (views) with
`response_metadata.messages` such as
`[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]`.
Only the limits a bot realistically trips over are checked, not the whole schema.
"""

from __future__ import annotations

from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100

KNOWN_BLOCKS = {
    "section",
    "divider",
    "image",
    "actions",
    "context",
    "input",
    "file",
    "header",
    "rich_text",
    "video",
    "markdown",
    "table",
}
SELECTS = {"static_select", "multi_static_select", "external_select", "multi_external_select"}


class _Checker:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def error(self, pointer: str, message: str) -> None:
        self.messages.append(f"[ERROR] {message} [json-pointer:{pointer}]")

    def max_len(self, value: Any, limit: int, pointer: str) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.error(pointer, f"must be less than {limit + 1} characters")

    def items(self, value: Any, limit: int, pointer: str, minimum: int = 0) -> list[Any]:
        if not isinstance(value, list):
            self.error(pointer, "must be an array")
            return []
        if len(value) > limit:
            self.error(pointer, f"must be less than {limit + 1} items")
        if len(value) < minimum:
            self.error(pointer, f"must provide at least {minimum} items")
        return value

    def text(self, obj: Any, limit: int, pointer: str, *, plain: bool = False) -> None:
        allowed = ("plain_text",) if plain else ("plain_text", "mrkdwn")
        if not isinstance(obj, dict) or obj.get("type") not in allowed:
            self.error(pointer, f"must be a text object of type {' or '.join(allowed)}")
            return
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.error(f"{pointer}/text", "must be more than 0 characters")
        else:
            self.max_len(text, limit, f"{pointer}/text")

    def optional_text(self, obj: Any, limit: int, pointer: str, *, plain: bool = False) -> None:
        if obj is not None:
            self.text(obj, limit, pointer, plain=plain)

    def element(self, el: Any, pointer: str) -> None:
        if not isinstance(el, dict) or "type" not in el:
            self.error(pointer, "must be an element object with a type")
            return
        self.max_len(el.get("action_id"), 255, f"{pointer}/action_id")
        kind = el["type"]
        if kind == "button":
            self.text(el.get("text"), 75, f"{pointer}/text", plain=True)
            self.max_len(el.get("value"), 2000, f"{pointer}/value")
            self.max_len(el.get("url"), 3000, f"{pointer}/url")
            if el.get("style") not in (None, "primary", "danger"):
                self.error(f"{pointer}/style", "must be one of primary, danger")
        elif kind in SELECTS or kind in ("overflow", "radio_buttons", "checkboxes"):
            limit = 5 if kind == "overflow" else 10 if kind == "checkboxes" else 100
            self.optional_text(el.get("placeholder"), 150, f"{pointer}/placeholder", plain=True)
            if "options" in el:
                options = self.items(el["options"], limit, f"{pointer}/options")
                for i, opt in enumerate(options):
                    self.option(opt, f"{pointer}/options/{i}")
        elif kind == "plain_text_input":
            self.optional_text(el.get("placeholder"), 150, f"{pointer}/placeholder", plain=True)
            max_length = el.get("max_length")
            if isinstance(max_length, int) and max_length > 3000:
                self.error(f"{pointer}/max_length", "must be less than 3001")

    def option(self, opt: Any, pointer: str) -> None:
        if not isinstance(opt, dict):
            self.error(pointer, "must be an option object")
            return
        self.text(opt.get("text"), 75, f"{pointer}/text")
        self.max_len(opt.get("value"), 150, f"{pointer}/value")

    def block(self, block: Any, pointer: str) -> None:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            self.error(pointer, "must be a block object with a type")
            return
        kind = block["type"]
        if kind not in KNOWN_BLOCKS:
            self.error(f"{pointer}/type", f"unsupported block type: {kind}")
            return
        self.max_len(block.get("block_id"), 255, f"{pointer}/block_id")
        if kind == "section":
            if "text" not in block and "fields" not in block:
                self.error(pointer, "must provide either text or fields")
            self.optional_text(block.get("text"), 3000, f"{pointer}/text")
            if "fields" in block:
                fields = self.items(block["fields"], 10, f"{pointer}/fields")
                for i, f in enumerate(fields):
                    self.text(f, 2000, f"{pointer}/fields/{i}")
            if "accessory" in block:
                self.element(block["accessory"], f"{pointer}/accessory")
        elif kind == "header":
            self.text(block.get("text"), 150, f"{pointer}/text", plain=True)
        elif kind == "context":
            elements = self.items(block.get("elements"), 10, f"{pointer}/elements", minimum=1)
            for i, el in enumerate(elements):
                if isinstance(el, dict) and el.get("type") in ("plain_text", "mrkdwn"):
                    self.text(el, 3000, f"{pointer}/elements/{i}")
        elif kind == "actions":
            elements = self.items(block.get("elements"), 25, f"{pointer}/elements", minimum=1)
            for i, el in enumerate(elements):
                self.element(el, f"{pointer}/elements/{i}")
        elif kind == "input":
            self.text(block.get("label"), 2000, f"{pointer}/label", plain=True)
            self.optional_text(block.get("hint"), 2000, f"{pointer}/hint", plain=True)
            self.element(block.get("element"), f"{pointer}/element")
        elif kind == "image":
            self.max_len(block.get("alt_text"), 2000, f"{pointer}/alt_text")
            # Exactly one source: a public URL, or a file uploaded to Slack (by id or url).
            source = [k for k in ("image_url", "slack_file") if block.get(k)]
            if len(source) != 1:
                self.error(pointer, "must provide exactly one of image_url or slack_file")
            elif source == ["slack_file"]:
                f = block["slack_file"]
                if not isinstance(f, dict) or not (f.get("id") or f.get("url")):
                    self.error(f"{pointer}/slack_file", "must provide an id or a url")
            self.optional_text(block.get("title"), 2000, f"{pointer}/title", plain=True)


def validate_blocks(blocks: Any, limit: int, pointer: str = "/blocks") -> list[str]:
    """Return Slack-style error messages; an empty list means the blocks are acceptable."""
    checker = _Checker()
    for i, block in enumerate(checker.items(blocks, limit, pointer)):
        checker.block(block, f"{pointer}/{i}")
    return checker.messages


def validate_view(view: Any) -> list[str]:
    """Check a modal or home tab view as views.open/push/update/publish receive it."""
    checker = _Checker()
    if not isinstance(view, dict):
        checker.error("/view", "must be a view object")
        return checker.messages
    kind = view.get("type")
    if kind not in ("modal", "home"):
        checker.error("/view/type", "must be one of modal, home")
        return checker.messages
    if kind == "modal":
        checker.text(view.get("title"), 24, "/view/title", plain=True)
        checker.optional_text(view.get("submit"), 24, "/view/submit", plain=True)
        checker.optional_text(view.get("close"), 24, "/view/close", plain=True)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and "submit" not in view:
            checker.error("/view", "must provide a submit property when using input blocks")
    checker.max_len(view.get("callback_id"), 255, "/view/callback_id")
    checker.max_len(view.get("external_id"), 255, "/view/external_id")
    checker.max_len(view.get("private_metadata"), 3000, "/view/private_metadata")
    return checker.messages + validate_blocks(view.get("blocks"), MAX_VIEW_BLOCKS, "/view/blocks")
