"""The /incident command parser: every form, every mistake, and property tests."""

from __future__ import annotations

import html
import typing
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.policy.fields import normalize as normalise
from bot.policy.model import Policy, Severity, Statuses
from bot.slack.command import (
    IN_INCIDENT,
    TITLE_MAX_LEN,
    VERBS,
    Ack,
    Actions,
    AddAction,
    Command,
    Commander,
    Declare,
    Escalate,
    Help,
    ListIncidents,
    Note,
    OnCall,
    OnCallOverride,
    OpenDeclareModal,
    Postmortem,
    Resolve,
    Role,
    SetSeverity,
    SetStatus,
    Timeline,
    Update,
    UsageError,
    Vocabulary,
    help_text,
    parse,
)


def vocabulary(severities: dict[str, str], statuses: list[str], roles: list[str]) -> Vocabulary:
    """The parser's words from {alias: severity}, statuses and roles. model_construct skips
    the policy's validation: the parser must cope with any words a policy could hold."""
    aliases: dict[str, list[str]] = {}
    for alias, name in severities.items():
        aliases.setdefault(name, []).append(alias)
    # Dicts, not keywords: model_construct takes only the fields the parser reads.
    sevs = []
    for name, words in aliases.items():
        fields: dict[str, Any] = {"name": name, "aliases": tuple(words)}
        sevs.append(Severity.model_construct(**fields))
    policy: dict[str, Any] = {
        "severities": tuple(sevs),
        "statuses": Statuses.model_construct(values=tuple(statuses)),
        "roles": tuple(roles),
    }
    return Vocabulary(Policy.model_construct(**policy))


SEVERITIES = {
    "sev1": "SEV1",
    "p1": "SEV1",
    "critical": "SEV1",
    "sev2": "SEV2",
    "p2": "SEV2",
    "sev3": "SEV3",
    "sev4": "SEV4",
}
VOCAB = vocabulary(
    severities=SEVERITIES,
    statuses=["investigating", "identified", "monitoring", "resolved"],
    roles=["commander", "tech_lead", "comms_lead", "scribe"],
)


def usage_error(text: str, vocab: Vocabulary = VOCAB) -> str:
    """The error message as the user reads it (mrkdwn escapes decoded)."""
    with pytest.raises(UsageError) as info:
        parse(text, vocab)
    assert info.value.message == str(info.value)
    assert "<" not in info.value.message  # no live markup: never a link or a ping
    return html.unescape(info.value.message)


# --- normalise and vocabulary ----------------------------------------------------


@pytest.mark.parametrize(
    ("word", "expected"),
    [("SEV-1", "sev1"), ("Sev_1", "sev1"), ("sev 1", "sev1"), ("P1", "p1"), ("", "")],
)
def test_normalise(word: str, expected: str) -> None:
    assert normalise(word) == expected


def test_canonical_names_and_unnormalised_keys_match() -> None:
    vocab = vocabulary(severities={"SEV-1": "Critical"}, statuses=[], roles=[])
    assert parse("critical db down", vocab) == Declare("Critical", "db down")
    assert parse("sev1 db down", vocab) == Declare("Critical", "db down")


# --- declaring -------------------------------------------------------------------


def test_empty_opens_the_modal() -> None:
    assert parse("", VOCAB) == OpenDeclareModal()
    assert parse("   \n\t ", VOCAB) == OpenDeclareModal()


@pytest.mark.parametrize("sev", ["SEV1", "sev1", "SEV-1", "Sev_1", "p1", "P1", "CRITICAL"])
def test_declare_with_any_alias(sev: str) -> None:
    assert parse(f"{sev} Payment processing down", VOCAB) == Declare(
        "SEV1", "Payment processing down"
    )


@pytest.mark.parametrize("verb", ["declare", "DECLARE", "Declare"])
def test_declare_spelled_out(verb: str) -> None:
    assert parse(f"{verb} sev-2 Checkout slow", VOCAB) == Declare("SEV2", "Checkout slow")


def test_drill_declares_a_practice_incident_and_refuses_as_declare_does() -> None:
    assert parse("drill p1 Checkout down", VOCAB) == Declare("SEV1", "Checkout down", drill=True)
    # The example, followed as written, declares a drill again, never a real incident.
    assert "for example `/incident drill SEV1 Checkout down`" in usage_error(
        "drill sev9 Checkout down"
    )
    assert "for example `/incident drill SEV1 " in usage_error("drill sev1")
    assert "Missing severity. Use `/incident drill <severity> <title>`" in usage_error("drill")


def test_title_is_stripped_and_whitespace_collapsed_but_kept_as_typed() -> None:
    assert parse("  SEV1   Base  de\tdonnées   🔥 \n hors ligne  ", VOCAB) == Declare(
        "SEV1", "Base de données 🔥 hors ligne"
    )
    assert parse("SEV1 支付 服务 中断", VOCAB) == Declare("SEV1", "支付 服务 中断")


def test_title_decodes_slack_escapes_and_markup() -> None:
    cmd = parse("SEV1 DB &amp; cache &lt;down&gt; after <@U1ABC|alice>'s deploy", VOCAB)
    assert cmd == Declare("SEV1", "DB & cache <down> after @alice's deploy")
    cmd = parse("SEV1 see <https://status.example.com|status> in <#C1|ops>", VOCAB)
    assert cmd == Declare("SEV1", "see status in #ops")


def test_title_drops_control_characters() -> None:
    assert parse("SEV1 db\x00 down\x07", VOCAB) == Declare("SEV1", "db down")


@pytest.mark.parametrize("text", ["SEV1", "sev1   ", "declare SEV1", "SEV1 \u200b", "SEV1 \x00"])
def test_missing_title(text: str) -> None:
    message = usage_error(text)
    assert "Missing title" in message
    assert "/incident SEV1 Payment processing down" in message


def test_title_length_limit() -> None:
    assert parse("SEV1 " + "x" * TITLE_MAX_LEN, VOCAB) == Declare("SEV1", "x" * TITLE_MAX_LEN)
    message = usage_error("SEV1 " + "x" * (TITLE_MAX_LEN + 1))
    assert "201 characters" in message
    assert "limit is 200" in message


def test_unknown_severity_word_lists_severities_and_verbs() -> None:
    message = usage_error("SEV9 Database down")
    assert "`SEV9`" in message
    for name in ("`SEV1`", "`SEV2`", "`SEV3`", "`SEV4`"):
        assert name in message
    for verb in ("`list`", "`help`", "`update`", "`resolve`"):
        assert verb in message
    assert "`/incident SEV1 Database down`" in message


def test_forgotten_severity_suggests_the_whole_text_as_title() -> None:
    message = usage_error("Payment processing down")
    assert "`Payment`" in message
    assert "`/incident SEV1 Payment processing down`" in message


def test_declare_unknown_or_missing_severity() -> None:
    message = usage_error("declare SEV9 db down")
    assert "Unknown severity `SEV9`" in message
    assert "`SEV1`, `SEV2`, `SEV3`, `SEV4`" in message
    assert "`/incident SEV1 db down`" in message
    assert "Missing severity" in usage_error("declare")


def test_misspelled_verb_gets_a_suggestion() -> None:
    assert "Did you mean `/incident update`?" in usage_error("updte things are fine")


def test_user_text_cannot_break_out_of_code_spans_or_ping() -> None:
    assert "``" not in usage_error("`SEV9` x")
    with pytest.raises(UsageError) as info:
        parse("commander &lt;!channel&gt;", VOCAB)
    assert "`&lt;!channel&gt;`" in info.value.message


def test_messages_and_help_escape_placeholders_for_mrkdwn() -> None:
    with pytest.raises(UsageError) as info:
        parse("resolve", VOCAB)
    assert "`/incident resolve &lt;summary&gt;`" in info.value.message
    assert "`/incident &lt;severity&gt; &lt;title&gt;`" in help_text(VOCAB)
    assert "<" not in help_text(VOCAB)


def test_verbs_take_precedence_over_a_colliding_severity_alias() -> None:
    vocab = vocabulary(severities={"list": "LIST", "sev1": "SEV1"}, statuses=[], roles=[])
    assert parse("list", vocab) == ListIncidents()


# --- no-argument verbs -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("list", ListIncidents()),
        ("LIST", ListIncidents()),
        ("help", Help()),
        ("ack", Ack()),
        ("Ack", Ack()),
        ("timeline", Timeline()),
        ("postmortem", Postmortem()),
        ("post-mortem", Postmortem()),
    ],
)
def test_no_argument_verbs(text: str, expected: Command) -> None:
    assert parse(text, VOCAB) == expected


@pytest.mark.parametrize("text", ["ack now", "list foo", "timeline please", "postmortem x"])
def test_no_argument_verbs_reject_extra_words(text: str) -> None:
    verb, extra = text.split(" ", 1)
    message = usage_error(text)
    assert f"`{extra}`" in message
    assert f"`/incident {verb}`" in message


def test_help_ignores_what_follows() -> None:
    assert parse("help update", VOCAB) == Help()


# --- update and status -----------------------------------------------------------


def test_update_with_and_without_status() -> None:
    assert parse("update Rolled back the deploy", VOCAB) == Update("Rolled back the deploy", None)
    assert parse("update Identified bad deploy", VOCAB) == Update("bad deploy", "identified")
    assert parse("UPDATE monitoring  error rate   falling", VOCAB) == Update(
        "error rate   falling", "monitoring"
    )


def test_update_keeps_mrkdwn_and_lines() -> None:
    text = "<@U1ABC|alice> rolled back &amp; restarted\n• db ok\n• cache ok"
    assert parse(f"update {text}", VOCAB) == Update(text, None)


def test_update_requires_text() -> None:
    message = usage_error("update")
    assert "Missing update text" in message
    assert "`investigating`" in message
    assert "after the status `identified`" in usage_error("update identified")


def test_status() -> None:
    assert parse("status Identified", VOCAB) == SetStatus("identified")
    assert parse("status MONITORING", VOCAB) == SetStatus("monitoring")
    message = usage_error("status fixed")
    assert "Unknown status `fixed`" in message
    assert "`investigating`, `identified`, `monitoring`, `resolved`" in message
    assert "Missing status" in usage_error("status")
    assert "/incident update identified <text>" in usage_error("status identified bad deploy")


def test_severity_change() -> None:
    assert parse("severity p2", VOCAB) == SetSeverity("SEV2")
    assert parse("Severity SEV-3", VOCAB) == SetSeverity("SEV3")
    assert "Unknown severity `SEV0`" in usage_error("severity SEV0")
    assert "Missing severity" in usage_error("severity")
    assert "takes only the severity" in usage_error("severity sev2 because")


# --- people ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mention", "user_id"),
    [("<@U123ABC>", "U123ABC"), ("<@U123ABC|alice>", "U123ABC"), ("<@W0ENT1|bob>", "W0ENT1")],
)
def test_commander(mention: str, user_id: str) -> None:
    assert parse(f"commander {mention}", VOCAB) == Commander(user_id)


def test_mention_label_with_spaces_is_one_word() -> None:
    assert parse("commander <@U1ABC|Alice Smith>", VOCAB) == Commander("U1ABC")
    assert parse("role scribe <@U1ABC|Alice Smith>", VOCAB) == Role("scribe", "U1ABC")
    # Several holders of one role (SMEs), in one command.
    assert parse("role scribe <@U1ABC> <@U2DEF|bo>", VOCAB) == Role("scribe", "U1ABC", ("U2DEF",))


def test_plain_at_name_explains_the_autocomplete() -> None:
    message = usage_error("commander @alice")
    assert "`@alice`" in message
    assert "autocomplete" in message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("commander", "Missing person"),
        ("commander <#C123|ops>", "`#ops` is a channel"),
        ("commander <!subteam^S1|@oncall>", "`@oncall` is a group"),
        ("commander <!here>", "`@here` is a group"),
        ("commander <@U1ABC> <@U2DEF>", "takes only the person"),
        ("commander alice", "can't tell who `alice` is"),
    ],
)
def test_commander_mistakes(text: str, needle: str) -> None:
    assert needle in usage_error(text)


@pytest.mark.parametrize("role", ["tech_lead", "tech-lead", "Tech_Lead", "TECHLEAD"])
def test_role(role: str) -> None:
    assert parse(f"role {role} <@U1ABC|alice>", VOCAB) == Role("tech_lead", "U1ABC")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("role", "Missing role and person"),
        ("role janitor <@U1ABC>", "Unknown role `janitor`"),
        ("role scribe", "Missing person"),
        ("role scribe @alice", "autocomplete"),
        ("role scribe <@U1ABC> bob", "I can't tell who `bob` is"),
        ("role tech lead <@U1ABC|alice>", "`/incident role tech_lead @alice`"),
    ],
)
def test_role_mistakes(text: str, needle: str) -> None:
    message = usage_error(text)
    assert needle in message


def test_unknown_role_lists_roles() -> None:
    assert "`commander`, `tech_lead`, `comms_lead`, `scribe`" in usage_error("role x <@U1>")


# --- free text -------------------------------------------------------------------


def test_note_escalate_resolve() -> None:
    assert parse("note  DB failover started ", VOCAB) == Note("DB failover started")
    assert parse("escalate", VOCAB) == Escalate(None)
    assert parse("escalate   ", VOCAB) == Escalate(None)
    assert parse("escalate nobody answers", VOCAB) == Escalate("nobody answers")
    assert parse("resolve Rolled back v1.43", VOCAB) == Resolve("Rolled back v1.43")
    assert "Missing text after `note`" in usage_error("note")
    message = usage_error("resolve")
    assert "Missing text after `resolve`" in message
    assert "/incident resolve <summary>" in message


# --- classification and help -----------------------------------------------------


def test_in_incident_commands() -> None:
    assert IN_INCIDENT == {
        Update,
        SetStatus,
        SetSeverity,
        Ack,
        Commander,
        Role,
        Note,
        Escalate,
        Resolve,
        Timeline,
        Postmortem,
        AddAction,
        Actions,
    }
    assert set(typing.get_args(Command)) - IN_INCIDENT == {
        OpenDeclareModal,
        Declare,
        ListIncidents,
        Help,
        OnCall,
        OnCallOverride,
    }


def test_help_text_lists_every_verb_and_the_policy_words() -> None:
    text = html.unescape(help_text(VOCAB))
    for verb in VERBS:
        assert f"`/incident {verb}" in text
    assert "`/incident <severity> <title>`" in text
    assert "`SEV1` (also `critical`, `p1`)" in text
    assert "`tech_lead`" in text
    assert "`monitoring`" in text


def test_empty_vocabulary_still_gives_useful_errors() -> None:
    empty = vocabulary(severities={}, statuses=[], roles=[])
    assert "(none defined)" in usage_error("status x", empty)
    assert "(none defined)" in usage_error("SEV1 db down", empty)
    assert parse("update all good", empty) == Update("all good", None)
    assert "*Severities:* (none defined)" in help_text(empty)


# --- properties ------------------------------------------------------------------

_words = st.sampled_from(
    [
        *VERBS,
        *SEVERITIES,
        "SEV-1",
        "identified",
        "tech-lead",
        "<@U1ABC>",
        "<@U1ABC|al ice>",
        "<#C1|ops>",
        "<!here>",
        "@alice",
        "<",
        ">",
        "&amp;",
        "`",
        "",
    ]
)
_command_texts = st.one_of(
    st.text(),
    st.lists(st.one_of(_words, st.text(max_size=8)), max_size=6).map(" ".join),
    st.tuples(_words, st.text()).map(" ".join),
)


@given(_command_texts)
def test_parse_only_ever_raises_usage_error(text: str) -> None:
    try:
        command = parse(text, VOCAB)
    except UsageError as error:
        assert error.message.strip()
        assert "<" not in error.message
    else:
        assert isinstance(command, typing.get_args(Command))


# Titles: any characters except controls and lone surrogates (dropped on purpose) and
# Slack's markup characters (decoded on purpose), with at least one visible character.
_title_chars = st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="<>&")
_titles = st.tuples(
    st.text(_title_chars, max_size=60),
    st.characters(whitelist_categories=("L", "N", "So", "P")).filter(lambda c: c not in "<>&"),
    st.text(_title_chars, max_size=150),
).map("".join)


@given(
    alias=st.sampled_from([*SEVERITIES, "SEV-1", "Sev_2", "P2", "CRITICAL"]),
    title=_titles,
    spelled_out=st.booleans(),
)
def test_declare_round_trips(alias: str, title: str, spelled_out: bool) -> None:
    expected_title = " ".join(title.split())
    assume(len(expected_title) <= TITLE_MAX_LEN)
    text = f"{'declare ' if spelled_out else ''}{alias} {title}"
    assert parse(text, VOCAB) == Declare(SEVERITIES[normalise(alias)], expected_title)


def test_forgotten_severity_with_a_verb_like_first_word() -> None:
    message = usage_error("Notes service down")
    assert "Did you mean `/incident note`?" in message
    assert "`/incident SEV1 Notes service down`" in message


def test_policy_words_are_escaped_in_messages() -> None:
    vocab = vocabulary(severities={"r&d": "R&D"}, statuses=["<fixed>"], roles=[])
    with pytest.raises(UsageError) as info:
        parse("status nope", vocab)
    assert "`&lt;fixed&gt;`" in info.value.message


def test_update_publish_form() -> None:
    assert parse("update --publish identified Found it", VOCAB) == Update(
        "Found it", "identified", publish=True
    )
    assert parse("update --publish Found it", VOCAB) == Update("Found it", None, publish=True)
    # The form asks for the text: the flag alone is enough.
    assert parse("update --publish", VOCAB) == Update("", None, publish=True)
    text = html.unescape(help_text(VOCAB))
    assert "`/incident update --publish [<status>] <text>`" in text


def test_oncall_parses_a_schedule_or_an_override() -> None:
    assert parse("oncall", VOCAB) == OnCall()
    assert parse("oncall payments", VOCAB) == OnCall("payments")
    assert parse("oncall override <@U1|a> 2026-12-24T18:00 2026-12-26 oncall/secondary", VOCAB) == (
        OnCallOverride("U1", "2026-12-24T18:00", "2026-12-26", "oncall", "secondary")
    )
    with pytest.raises(UsageError, match="takes at most a schedule"):
        parse("oncall a b", VOCAB)
    with pytest.raises(UsageError, match="is not a date and time"):
        parse("oncall override <@U1|a> soon later", VOCAB)
