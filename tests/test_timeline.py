"""Every message of an incident channel is recorded once, in order, through signed events."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.harness import Bot, eventually
from tests.helpers import DeclaredIncident, msg

T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


async def entries(bot: Bot) -> list[tuple[str, str]]:
    return [(e.kind, e.text) for e in await bot.services.timeline.entries(1)]


async def test_messages_retries_edits_deletions_threads_files(incident: DeclaredIncident) -> None:
    _slack, bot, ch, _alice = incident
    send = bot.send.event
    assert (await send(msg(ch, "1773480700.000100", "db is on fire"), event_id="Ev1")).status == 200
    # Slack retries the same event (and may re-deliver it under a new id): still once.
    await send(msg(ch, "1773480700.000100", "db is on fire"), event_id="Ev1", retry_num=1)
    await send(msg(ch, "1773480700.000100", "db is on fire"), event_id="Ev1b")
    await send(
        msg(ch, "1773480760.000200", "looking", user="U0BOB", thread_ts="1773480700.000100"),
        event_id="Ev2",
    )
    await send(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": ch,
            "ts": "1773480800.000300",
            "event_ts": "1773480800.000300",
            "message": {
                "user": "U0BOB",
                "text": "looking at the primary",
                "ts": "1773480760.000200",
                "edited": {"user": "U0BOB", "ts": "1773480800.000000"},
            },
            "previous_message": {"user": "U0BOB", "text": "looking", "ts": "1773480760.000200"},
        },
        event_id="Ev3",
    )
    await send(
        msg(
            ch,
            "1773480900.000400",
            "graph",
            files=[{"id": "F1", "name": "cpu.png", "permalink": "https://x.slack.com/files/F1"}],
        ),
        event_id="Ev4",
    )
    await send(
        {
            "type": "message",
            "subtype": "message_deleted",
            "channel": ch,
            "ts": "1773481000.000500",
            "event_ts": "1773481000.000500",
            "deleted_ts": "1773480900.000400",
            "previous_message": {"text": "graph", "ts": "1773480900.000400"},
        },
        event_id="Ev5",
    )
    # Not an incident channel: ignored.
    await send(msg("C0GENERAL", "1773481100.000600", "lunch?"), event_id="Ev6")

    async def recorded() -> bool:
        # Events are handled concurrently after the ack: wait for every one of them.
        rows = await bot.services.store.timeline(1)
        texts = {r.text for r in rows}
        return {"deletion", "edit"} <= {r.kind for r in rows} and {
            "db is on fire",
            "looking",
            "graph",
        } <= texts

    await eventually(recorded)
    people = [
        e
        for e in await bot.services.timeline.entries(1)
        if e.kind == "message" and not (e.data or {}).get("bot")
    ]
    assert [e.text for e in people] == ["db is on fire", "looking at the primary", "graph"]
    assert people[1].data and people[1].data["history"] == ["looking"]
    assert people[1].data["thread_ts"] == "1773480700.000100"
    assert people[2].data and people[2].data["deleted"] is True
    assert people[2].data["files"] == [{"name": "cpu.png", "url": "https://x.slack.com/files/F1"}]
    rows = await bot.services.store.timeline(1)
    assert sum(r.kind == "message" and r.text == "db is on fire" for r in rows) == 1
    assert not any("lunch" in r.text for r in rows)


async def test_the_bots_own_posts_are_recorded(incident: DeclaredIncident) -> None:
    slack, bot, ch, _ = incident
    announcement = slack.channels[ch].messages[0]
    event = {
        "type": "message",
        "channel": ch,
        "user": slack.bot_user_id,
        "bot_id": "B0BOT",
        "text": announcement.text,
        "ts": announcement.ts,
        "event_ts": announcement.ts,
    }
    await bot.send.event(event, event_id="EvB")
    rows = await eventually(lambda: bot.services.store.timeline(1))

    async def has_bot_message() -> bool:
        return any(
            r.kind == "message" and (r.data or {}).get("bot")
            for r in await bot.services.store.timeline(1)
        )

    await eventually(has_bot_message)
    assert rows


async def test_concurrent_duplicates_in_one_batch_record_once(incident: DeclaredIncident) -> None:
    import asyncio

    from bot.incidents.timeline import Posted

    _, bot, ch, alice = incident
    same = Posted(channel=ch, ts="1773480700.000100", author=alice, text="dup")
    others = [
        Posted(channel=ch, ts=f"1773480701.{i:06d}", author=alice, text=f"m{i}") for i in range(20)
    ]
    results = await asyncio.gather(*(bot.services.timeline.record(p) for p in [same] * 30 + others))
    assert sum(results[:30]) == 1 and all(results[30:])
    rows = await bot.services.store.timeline(1)
    assert sum(r.text == "dup" for r in rows) == 1


async def test_bot_removed_tells_the_commander_and_stops_recording_that_channel(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    await bot.send.event(msg(ch, "1773480700.000100", "before"), event_id="Ea")
    await bot.send.event({"type": "channel_left", "channel": ch, "actor_id": alice}, event_id="Eb")
    await eventually(lambda: [m for m in slack.dms.get(alice, []) if "removed" in m.text])
    dm = next(m for m in slack.dms[alice] if "removed" in m.text)
    assert "/invite" in dm.text and ch in dm.text
    # Written with the change, sent by the outbox: its row's key is on the message.
    assert (dm.metadata or {}).get("event_payload", {}).get("step", "").startswith("removed:1:")
    await bot.send.event(msg(ch, "1773480800.000200", "after"), event_id="Ec")
    # A retry of the removal does not DM twice.
    await bot.send.event(
        {"type": "channel_left", "channel": ch, "actor_id": alice}, event_id="Eb", retry_num=1
    )

    async def settled() -> list[str]:
        return [
            r.text
            for r in await bot.services.store.timeline(1)
            if r.kind == "message" and not (r.data or {}).get("bot")
        ]

    await eventually(settled)
    import asyncio

    await asyncio.sleep(0.2)
    assert await settled() == ["before"]
    assert len([m for m in slack.dms[alice] if "removed" in m.text]) == 1
    kinds = [r.kind for r in await bot.services.store.timeline(1)]
    assert "bot_removed" in kinds
