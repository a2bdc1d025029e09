"""Incident channel names: slugs, patterns, suffixes, and Slack's rules always hold."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.incidents.channel_names import (
    FALLBACK_SLUG,
    MAX_CHANNEL_NAME_LEN,
    PLACEHOLDERS,
    channel_name,
    is_valid_channel_name,
    slugify,
    with_suffix,
)

WHEN = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
DEFAULT = "incident-{date}-{slug}"


def name(
    title: str,
    pattern: str = DEFAULT,
    *,
    when: datetime = WHEN,
    severity: str = "SEV-1",
    max_len: int = MAX_CHANNEL_NAME_LEN,
) -> str:
    return channel_name(
        pattern, title=title, when=when, number=42, severity=severity, max_len=max_len
    )


# --- is_valid_channel_name -------------------------------------------------------


@pytest.mark.parametrize("ok", ["a", "incident-20261123-db-down", "inc_42", "2026", "x" * 80])
def test_valid_names(ok: str) -> None:
    assert is_valid_channel_name(ok)


@pytest.mark.parametrize(
    "bad", ["", "x" * 81, "DB-down", "db down", "db.down", "café", "---", "_-_", "#ops", "a\n"]
)
def test_invalid_names(bad: str) -> None:
    assert not is_valid_channel_name(bad)


# --- slugify ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Payment processing down", "payment-processing-down"),
        ("Paiement échoué: API 500!", "paiement-echoue-api-500"),
        ("  --DB__primary   DOWN--  ", "db-primary-down"),
        ("Straße in Øresund, ﬁle ＡＢＣ", "strasse-in-oresund-file-abc"),
        ("Łódź outage 🔥", "lodz-outage"),
        ("🔥🔥🔥", FALLBACK_SLUG),
        # Other scripts are transliterated (issue 13), not dropped.
        ("数据库宕机", "shu-ju-ku-dang-ji"),
        ("Сбой оплаты", "sboi-oplaty"),
        ("決済障害", "jue-ji-zhang-hai"),
        ("Διακοπή πληρωμών", "diakope-pleromon"),
        ("!!! ??? ...", FALLBACK_SLUG),
        ("   ", FALLBACK_SLUG),
        ("", FALLBACK_SLUG),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_slugify_cuts_at_a_word_boundary() -> None:
    assert slugify("database primary down in eu-west", max_len=20) == "database-primary"
    assert slugify("database primary", max_len=16) == "database-primary"
    # No boundary late enough: a hard cut rather than a stub.
    assert slugify("db " + "x" * 100, max_len=20) == "db-" + "x" * 17
    assert slugify("x" * 300) == "x" * 80
    assert slugify("🔥", max_len=3) == "inc"


def test_slugify_rejects_a_zero_length() -> None:
    with pytest.raises(ValueError, match="max_len"):
        slugify("x", max_len=0)


# --- channel_name ----------------------------------------------------------------


def test_default_pattern() -> None:
    assert name("Payment processing down") == "incident-20261123-payment-processing-down"


def test_every_placeholder() -> None:
    pattern = "inc-{number}-{severity}-{date}-{date_dashed}-{time}-{slug}"
    assert name("DB down", pattern) == "inc-42-sev-1-20261123-2026-11-23-0905-db-down"


def test_when_is_used_as_given() -> None:
    tokyo = WHEN.astimezone(timezone(timedelta(hours=9)))
    assert name("x", "{date}-{time}-{slug}", when=tokyo) == "20261123-1805-x"
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert name("x", "{date}-{slug}", when=late.astimezone(timezone(timedelta(hours=2)))) == (
        "20261124-x"
    )


def test_literal_text_in_the_pattern_is_folded() -> None:
    assert name("DB down", "INC {number}: {slug}") == "inc-42-db-down"
    assert name("DB down", "ops_{slug}") == "ops_db-down"


def test_empty_slug_is_dropped_when_the_pattern_names_the_channel() -> None:
    assert name("🔥🔥") == "incident-20261123"
    assert name("🔥 ❗", "inc-{number}-{slug}") == "inc-42"
    # Digits alone would be a poor name: the fallback slug comes in.
    assert name("🔥🔥", "{date}-{slug}") == "20261123-incident"
    assert name("🔥🔥", "{slug}") == "incident"


def test_empty_severity_slug_leaves_no_double_dash() -> None:
    assert name("db down", "inc-{severity}-{slug}", severity="🔥") == "inc-db-down"


def test_long_titles_fit_the_whole_name() -> None:
    result = name("database primary down in eu-west " * 10)
    assert len(result) <= 80
    assert result.startswith("incident-20261123-database-primary-down")
    assert not result.endswith("-")
    assert name("x" * 300) == "incident-20261123-" + "x" * 62


def test_a_pattern_with_no_room_for_the_slug_still_gives_a_valid_name() -> None:
    result = name("db down", "a" * 79 + "-{slug}")
    assert result == "a" * 79
    result = name("db down", "{slug}", max_len=5)
    assert result == "db"


def test_max_len() -> None:
    assert len(name("database primary down", max_len=30)) <= 30
    with pytest.raises(ValueError, match="max_len"):
        name("x", max_len=81)


def test_unknown_placeholder() -> None:
    with pytest.raises(ValueError, match=r"\{title\}"):
        name("x", "incident-{title}")
    assert {"date", "date_dashed", "time", "slug", "number", "severity"} == PLACEHOLDERS


# --- with_suffix -----------------------------------------------------------------


def test_with_suffix() -> None:
    assert with_suffix("incident-20261123-db-down", 2) == "incident-20261123-db-down-2"
    long = "incident-20261123-" + "x" * 62
    assert with_suffix(long, 2) == long[:78] + "-2"
    assert with_suffix(long, 123) == long[:76] + "-123"
    # The trimmed base never leaves a separator before the suffix.
    assert with_suffix("a" * 77 + "-bb", 10) == "a" * 77 + "-10"


def test_with_suffix_rejects_bad_numbers() -> None:
    with pytest.raises(ValueError, match="positive"):
        with_suffix("x", 0)


# --- properties ------------------------------------------------------------------

_titles = st.one_of(
    st.text(),
    st.text(max_size=300),
    st.text(min_size=200, max_size=400),
    st.text(st.characters(whitelist_categories=("P", "S", "Z"))),  # punctuation, emoji, spaces
    st.text(st.characters(whitelist_categories=("L", "M", "N"))),  # any script
    st.text("abc -_é🔥", max_size=300),
    st.sampled_from(["", " ", "\t\n", "🔥", "数据库宕机", "!!!", "-", "_"]),
)
_patterns = st.one_of(
    st.sampled_from(
        [
            DEFAULT,
            "{slug}",
            "{date}-{slug}",
            "inc-{number}-{slug}",
            "{severity}-{date_dashed}-{time}-{slug}",
            "INC {number}: {slug} ({severity})",
            "{slug}-{slug}",
            "incident-{date}",
            "---",
            "🔥-{slug}",
            "x" * 90 + "-{slug}",
        ]
    ),
    st.lists(
        st.one_of(st.sampled_from([f"{{{p}}}" for p in PLACEHOLDERS]), st.text(max_size=10)),
        max_size=5,
    ).map("".join),
)
_whens = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31))


def _known_placeholders_only(pattern: str) -> bool:
    return all(m in PLACEHOLDERS for m in re.findall(r"\{([^{}]*)\}", pattern))


@given(st.text(max_size=400), st.integers(min_value=1, max_value=100))
def test_slugify_is_always_a_valid_name(title: str, max_len: int) -> None:
    slug = slugify(title, max_len=max_len)
    assert is_valid_channel_name(slug)
    assert len(slug) <= max_len
    assert "--" not in slug


@given(
    title=_titles,
    pattern=_patterns,
    when=_whens,
    number=st.integers(min_value=-5, max_value=10**9),
    severity=st.text(max_size=20),
    max_len=st.integers(min_value=1, max_value=80),
)
def test_channel_name_is_always_valid(
    title: str, pattern: str, when: datetime, number: int, severity: str, max_len: int
) -> None:
    try:
        result = channel_name(
            pattern, title=title, when=when, number=number, severity=severity, max_len=max_len
        )
    except ValueError:
        assert not _known_placeholders_only(pattern)
        return
    assert is_valid_channel_name(result), result
    assert len(result) <= max_len


@given(
    base=st.one_of(
        _titles.map(lambda t: channel_name(DEFAULT, title=t, when=WHEN, number=1, severity="")),
        st.text(max_size=100),
    ),
    n=st.integers(min_value=1, max_value=10**6),
)
def test_with_suffix_is_always_valid(base: str, n: int) -> None:
    result = with_suffix(base, n)
    assert is_valid_channel_name(result), result
    assert len(result) <= MAX_CHANNEL_NAME_LEN
    assert result.endswith(f"-{n}")
