"""Slack markup, only here: escaping typed text, mentions, channel links, and decoding
what Slack sends (command text arrives with `&<>` escaped and mentions as `<...>`)."""

from __future__ import annotations

import re
from collections.abc import Mapping

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_MARKUP = re.compile(r"<([^<>]*)>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def escape(text: str) -> str:
    """Slack's three control characters: a title can't ping @channel or fake a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def user(user_id: str) -> str:
    """A mention that notifies: ``<@U1ABC>``."""
    return f"<@{user_id}>"


def group(group_id: str) -> str:
    """A user-group mention: ``<!subteam^S1ABC>``."""
    return f"<!subteam^{group_id}>"


def channel(channel: str) -> str:
    """A channel link from its id (``<#C1ABC>``); a name is shown as ``#name``."""
    if channel[:1] in {"C", "G"} and channel[1:].isalnum() and channel.isupper():
        return f"<#{channel}>"
    return channel if channel.startswith("#") else f"#{channel}"


def link(url: str, label: str) -> str:
    return f"<{url}|{escape(label)}>"


def mentioned_user(word: str) -> str | None:
    """The user id of a whole-word mention, ``<@U1ABC|alice>`` -> ``U1ABC``."""
    m = _MENTION.fullmatch(word)
    return m.group(1) if m else None


def is_channel(word: str) -> bool:
    """``<#C1ABC|ops>``: a channel link, where a person was expected."""
    return word.startswith("<#")


def is_special(word: str) -> bool:
    """``<!here>``, ``<!subteam^S1>``: a group or broadcast mention, not one person."""
    return word.startswith("<!")


def plain(text: str) -> str:
    """Decode Slack markup and escapes into plain text: ``<@U1|al>`` -> ``@al``."""

    def repl(m: re.Match[str]) -> str:
        inner = m.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return label if label.startswith("@") else "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            if label:
                return label
            return "@" + target[1:].split("^")[0]
        return label or target

    text = _MARKUP.sub(repl, text)
    for escaped, char in _ENTITIES:
        text = text.replace(escaped, char)
    return text


def mentioned_users(text: str) -> set[str]:
    """Every user mentioned in a message: ``<@U1ABC>`` or ``<@U1ABC|alice>``."""
    return {m.group(1) for m in _MENTION.finditer(text)}


# Slack's *bold*, _italic_ and ~strike~: a marker at a word's edge, not inside one.
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")


def to_markdown(text: str, names: Mapping[str, str]) -> str:
    """Slack markup as plain Markdown: ``<@U1>`` -> ``@Alice`` (from `names`), channel and
    group mentions by name, ``<url|label>`` -> ``[label](url)``, ``*bold*`` -> ``**bold**``,
    ``_it_`` -> ``*it*``, ``~no~`` -> ``~~no~~``, and Slack's escapes decoded."""

    def repl(m: re.Match[str]) -> str:
        target, _, label = m.group(1).partition("|")
        if target.startswith("@"):
            return "@" + names.get(target[1:], label.lstrip("@") or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return label if label.startswith("@") else "@" + (label or target[1:].split("^")[0])
        if label:
            return f"[{label}]({target})"
        return target.removeprefix("mailto:")

    # Emphasis first: the markers are never inside a link or a mention's label.
    # Bold before italic: italic's output is a single * that bold would take for its own.
    text = _STRIKE.sub(r"~~\1~~", text)
    text = _BOLD.sub(r"**\1**", text)
    text = _ITALIC.sub(r"*\1*", text)
    text = _MARKUP.sub(repl, text)
    for escaped, char in _ENTITIES:
        text = text.replace(escaped, char)
    return text
