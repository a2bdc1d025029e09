"""SIGKILL at 24 random points of scripted incidents: after each restart, 0 lost and
0 duplicate changes, posts, reminders, escalations and timeline entries.

Three SEV1 incidents run one after the other through a real `python -m bot serve` on one
SQLite file, with tests/policies/fast.yaml (a reminder every 2 s, Primary paged at the
declaration, Secondary 2 s later unless acknowledged), announcing in #incidents. Each
incident: declare by slash command; its set-up, the Primary page, a reminder and the
Secondary page; another reminder; a person's message in the channel; an update by the
announcement's "Post update" button and its modal, and `/incident note`; two more
reminders; `/incident ack` by the Primary and the Secondary; `/incident resolve`.

Twenty-four crash points are drawn from `random.Random(seed)` (printed; `CRASH_SEED=<n>`
or `CRASH_SEED=random` overrides it) among the script's slots (`SLOTS`); every incident's
declaration is one of them, and one change each (the update modal, the ack, the
resolve). A change acknowledged must be stored; one the process died before storing is
sent again, as the person would. A crash point is:
- a moment: SIGKILL so many seconds into a step (after sending the declare command or
  submitting a change, while waiting for a reminder, just after resolving);
- a Slack call: SIGKILL from inside the fake Slack right after it accepted a call (the
  channel created, the announcement posted, a reminder or page sent in the channel or
  by DM...) and before the bot reads the answer: the window between Slack and the
  commit. Such a trigger is armed before the call can happen; the "resume" one is armed
  by the declaration's kill and hits the set-up the next process resumes;
- an event: SIGKILL right after the bot acknowledged a channel message's event.
A crash point its step did not reach (the call was not made again after an earlier
crash, say) fires as the step ends, so that every run has exactly 24 kills. After each
kill a new process starts at once on the same database, with INCIDENT_CLAIM_LEASE=1 (the
dead process's claims come back after a second, not two minutes), and the script goes
on. Like Slack, the fake delivers every message posted in an incident channel as a
`message` event to whichever process is up, again until one acknowledges it.

After a last graceful stop, the fake Slack and the database must agree (`check`): one
channel, announcement and pin per incident; each done due_job row's messages in Slack
exactly once (by the step key in their metadata, and by text), none for a row not done;
one timeline line per done reminder and page, per declaration, update, note, ack and
resolution, and per channel message; nothing left pending or claimed. Every broken
promise is listed, with the seed and the crash points.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from bot.scheduler import MAX_ATTEMPTS
from bot.slack.ids import Action, View
from tests.crash_harness import (
    Crashes,
    CrashingSlack,
    all_messages,
    nags_in,
    paged,
    said_in,
    step_of,
    when,
)
from tests.crash_plan import (
    ANNOUNCE,
    DEFAULT_SEED,
    FAST,
    INCIDENTS,
    KILLS,
    LEVELS,
    MANIFEST,
    MOMENT,
    NAG,
    PRIMARY,
    SECONDARY,
    CallMatch,
    EventMatch,
    Inc,
    Kill,
    Planned,
    crash_plan,
    nag_call,
    nth_setup_call,
    page_call,
    post_call,
    setup_call,
)
from tests.harness import eventually
from tests.modal_forms import modal_values, modals
from tests.slack_server import Message

# --- the test --------------------------------------------------------------------------


@pytest.fixture
async def slack() -> AsyncIterator[CrashingSlack]:
    fake = CrashingSlack.from_manifest(MANIFEST)
    assert isinstance(fake, CrashingSlack)
    async with fake:
        for _, users in LEVELS:
            for user in users:
                fake.add_user(user.lower(), id=user)
        yield fake


def seed_of_run() -> int:
    chosen = os.environ.get("CRASH_SEED", "").strip()
    if chosen == "random":
        return random.SystemRandom().randrange(1, 2**31)
    return int(chosen) if chosen else DEFAULT_SEED


async def test_sigkill_at_24_random_points_loses_and_repeats_nothing(
    slack: CrashingSlack, tmp_path: Path
) -> None:
    seed = seed_of_run()
    plan = crash_plan(random.Random(seed))
    print(f"\nCRASH_SEED={seed}: {len(plan)} crash points")
    for p in plan.values():
        print(f"  {p}")

    names = ["alice", "bob", "carol", "dave", "erin"]
    people = [slack.add_user(names[i % len(names)]) for i in range(INCIDENTS)]
    general = slack.add_channel("general", members=people)
    # The bot is a member, as README advises: else it cannot read the channel to check,
    # after a crash, that it announced already (it posts there by chat:write.public).
    slack.add_channel(ANNOUNCE.removeprefix("#"), members=[slack.bot_user_id])
    policy = tmp_path / "fast-announcing.yaml"
    fast = FAST.read_text()
    assert "announce: null" in fast
    policy.write_text(fast.replace("announce: null", f'announce: "{ANNOUNCE}"'))
    db_url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    engine = create_async_engine(db_url)
    crashes = Crashes(slack, tmp_path, policy, db_url, engine, seed)
    started = time.monotonic()
    incs = [Inc(f"Disk full on db-{n + 1}", people[n]) for n in range(INCIDENTS)]
    try:
        await crashes.start()
        for n, inc in enumerate(incs):
            await run_incident(crashes, plan, n, inc, general)
        await eventually(crashes.feed.idle, within=20)  # the last events on their way
    finally:
        await crashes.feed.stop()
        crashes.bot.stop()
    print(f"  script with {len(crashes.kills)} kills took {time.monotonic() - started:.1f}s")
    try:
        assert len(crashes.kills) == KILLS, [k.label for k in crashes.kills]
        problems = crashes.problems + await check(crashes, incs)
    finally:
        await engine.dispose()
    kills = "\n".join(f"  {k.label} (pid {k.pid})" for k in crashes.kills)
    assert not problems, (
        f"CRASH_SEED={seed}: {len(problems)} problem(s) after {len(crashes.kills)} kills:\n"
        + "\n".join(f"- {p}" for p in problems)
        + f"\ncrash points:\n{kills}\nlogs: {tmp_path}"
    )


async def run_incident(
    crashes: Crashes, plan: dict[tuple[int, str], Planned], n: int, inc: Inc, general: str
) -> None:
    slack = crashes.slack

    def kill(
        slot: str, call: Callable[[str], CallMatch] | None = None, event: EventMatch | None = None
    ) -> list[Kill]:
        p = plan.get((n, slot))
        if p is None:
            return []
        if p.variant == MOMENT:
            return [Kill(str(p), after=p.after)]
        if p.variant == "event":
            assert event is not None
            return [Kill(str(p), event=event)]
        assert call is not None
        return [Kill(str(p), call=call(p.variant))]

    print(f"incident #{n + 1}: {inc.title}")
    # Everything up to the Secondary page happens within ~4 s of the command: its crash
    # points are armed before it is sent.
    [declared] = kill("declare", lambda v: setup_call(v, inc))
    declared.then = kill("resume", lambda v: nth_setup_call(int(v.split()[-1]), inc))
    crashes.arm(
        [
            declared,
            *kill("primary", lambda v: page_call(v, PRIMARY)),
            *kill("nag1", lambda v: nag_call(v, inc)),
            *kill("secondary", lambda v: page_call(v, SECONDARY)),
        ]
    )
    await crashes.declare(inc, general)

    async def first_pages() -> bool:
        [(channel,)] = await crashes.rows("SELECT channel_id FROM incident WHERE id = :i", i=inc.id)
        if channel is None or channel not in slack.channels:
            return False
        inc.channel = str(channel)
        return (
            bool(slack.channels[inc.channel].pins)
            and paged(slack, inc, PRIMARY)
            and nags_in(slack, inc.channel, inc) >= 1
            and paged(slack, inc, SECONDARY)
        )

    await crashes.step("set-up, Primary, first reminder, Secondary", first_pages, [])
    await crashes.step(
        "second reminder", lambda: nags_in(slack, inc.channel, inc) >= 2, kill("nag2")
    )

    # A person writes in the channel; Slack sends the bot the event.
    said = Message(
        ts=slack.next_ts(),
        channel=inc.channel,
        user=inc.commander,
        text=f"Looking at the graphs of {inc.title}",
    )
    slack.channels[inc.channel].messages.append(said)
    crashes.feed.push(said.to_api(), inc.channel)
    await crashes.step(
        "a message in the channel",
        lambda: (inc.channel, said.ts) in crashes.feed.delivered,
        kill("message", event=lambda e: e.get("ts") == said.ts),
    )

    # The update by the announcement's button: the modal opens, then is submitted.
    before = len(modals(slack, View.UPDATE.value))
    click = await crashes.request(
        crashes.bot.send.block_action(
            Action.POST_UPDATE,
            user=inc.commander,
            channel=inc.channel,
            value=str(inc.id),
            message_ts=slack.channels[inc.channel].pins[0],
        )
    )
    assert click is not None and click.status == 200, click
    await eventually(lambda: len(modals(slack, View.UPDATE.value)) > before)
    update = "Rolled back the deploy"
    values = modal_values(modals(slack, View.UPDATE.value)[-1], status="identified", text=update)
    await crashes.change(
        "the update modal",
        lambda: crashes.request(
            crashes.bot.send.view_submission(View.UPDATE, values, user=inc.commander)
        ),
        lambda r: not r.body,  # the modal closes
        lambda: crashes.has_entry(inc, "update"),
        kill("update", lambda v: post_call(inc, update)),
    )
    await crashes.step("the update posted", lambda: said_in(slack, inc, update) == 1, [])
    await crashes.command_answered(
        "note Disk usage back under 80%", inc.commander, inc.channel, "Noted in the timeline"
    )
    base = nags_in(slack, inc.channel, inc)
    await crashes.step(
        "a reminder after the update",
        lambda: nags_in(slack, inc.channel, inc) > base,
        kill("nag3", lambda v: nag_call(v, inc)),
    )
    base = nags_in(slack, inc.channel, inc)
    await crashes.step(
        "another reminder", lambda: nags_in(slack, inc.channel, inc) > base, kill("nag4")
    )
    # Each page is acknowledged by the person it addressed; the first ack may crash.
    for k, (_, users) in enumerate(LEVELS):
        await crashes.change(
            f"/incident ack by {users[0]}",
            partial(crashes.command, "ack", users[0], inc.channel),
            lambda r: "Acknowledged" in r.body,
            partial(crashes.has_entry, inc, "ack", at_least=k + 1),
            kill("ack") if k == 0 else [],
        )
    summary = "Rolled back; disk freed"
    await crashes.change(
        "/incident resolve",
        lambda: crashes.command(f"resolve {summary}", inc.commander, inc.channel),
        lambda r: f"{inc.number} resolved" in r.body,
        lambda: crashes.is_resolved(inc),
        kill("resolve", lambda v: post_call(inc, summary)),
    )
    await crashes.step("the resolution posted", lambda: said_in(slack, inc, summary) == 1, [])
    pause_until = time.monotonic() + 0.6
    await crashes.step(
        "just after resolving", lambda: time.monotonic() >= pause_until, kill("resolved")
    )
    if not await crashes.until("settled", crashes.settled, 20, finish=True):
        crashes.problems.append(f"{inc.number}: due rows pending or claimed 20 s after resolve")


# --- what must hold at the end ---------------------------------------------------------


async def check(crashes: Crashes, incs: list[Inc]) -> list[str]:
    slack = crashes.slack
    problems: list[str] = []
    bad = problems.append

    incidents = {
        int(r[0]): r
        for r in await crashes.rows(
            "SELECT id, title, channel_id, channel_name, announcement_ts, resolved_at,"
            " commander_id FROM incident"
        )
    }
    jobs = await crashes.rows(
        "SELECT id, incident_id, kind, level, state, attempts, key, due_at FROM due_job"
    )
    entries = await crashes.rows(
        "SELECT id, incident_id, kind, source_key, channel_id, ts, text FROM timeline_entry"
    )
    pages = await crashes.rows("SELECT incident_id, level, acked_at FROM page")
    # Rows settled after a crash: no longer wanted (resolved meanwhile), their channel
    # message had gone out, so they are done; what the dead process had not sent yet
    # (a DM) is rightly not sent for a resolved incident.
    settled: set[int] = set()
    for (data,) in await crashes.rows(
        "SELECT data FROM timeline_entry WHERE data LIKE '%settled%'"
    ):
        settled.add(int((json.loads(data) if isinstance(data, str) else data)["job"]))
    settled_dm_nags: Counter[int] = Counter()
    # Outbox rows finished unsent: a reminder whose incident was resolved before its turn
    # (the guard in bot/deliverer.py), rightly never sent.
    skipped: set[str] = set()
    for key, state, result, iid, finished in await crashes.rows(
        "SELECT key, state, result, incident_id, finished_at FROM outbox"
    ):
        res = json.loads(result) if isinstance(result, str) else (result or {})
        if state == "done" and res.get("skipped"):
            skipped.add(str(key))
            resolved = incidents[int(iid)][5] if iid is not None else None
            # The guard holds a reminder back only once its incident is resolved.
            if resolved is None or when(finished) < when(resolved):
                bad(f"outbox {key} skipped before INC-{iid} was resolved ({resolved})")
    skipped_channel_nags: Counter[int] = Counter()

    # The declarations: each title once, resolved.
    titles = Counter(str(r[1]) for r in incidents.values())
    for inc in incs:
        if titles[inc.title] != 1:
            bad(f"{inc.title!r} stored {titles[inc.title]} times")
    for iid, r in incidents.items():
        if r[5] is None:
            bad(f"INC-{iid} is not resolved")

    # Step keys over every channel and DM: each exactly once.
    sent = all_messages(slack)
    by_step: dict[str, list[tuple[str, Message]]] = defaultdict(list)
    for where, m in sent:
        step = step_of(m)
        if step is not None:
            by_step[step].append((where, m))
    for step, copies in sorted(by_step.items()):
        if len(copies) > 1:
            bad(
                f"step {step} sent {len(copies)} times: "
                + "; ".join(f"{w} ts {m.ts} {m.text[:50]!r}" for w, m in copies)
            )
    unkeyed = [
        (w, m)
        for w, m in sent
        if m.bot_id
        and step_of(m) is None
        and (NAG in m.text or m.text.startswith("Escalating") or "are paged for" in m.text)
    ]
    if unkeyed:
        bad(
            f"{len(unkeyed)} reminder/page messages carry no step metadata, e.g. "
            + "; ".join(f"{w}: {m.text[:50]!r}" for w, m in unkeyed[:3])
        )

    # The set-up: once per incident.
    incident_channels = [c for c in slack.channels.values() if c.name.startswith("incident-")]
    if len(incident_channels) != len(incidents):
        bad(
            f"{len(incident_channels)} incident channels for {len(incidents)} incidents: "
            + ", ".join(sorted(c.name for c in incident_channels))
        )
    setups = Counter(int(j[1]) for j in jobs if j[2] == "setup")
    for iid, r in incidents.items():
        number, title, channel_id, channel_name, ann_ts = f"INC-{iid}", r[1], r[2], r[3], r[4]
        if setups[iid] != 1:
            bad(f"{number}: {setups[iid]} set-up rows")
        for j in jobs:
            if j[2] == "setup" and int(j[1]) == iid and j[4] != "done":
                bad(f"{number}: set-up row {j[0]} is {j[4]} (attempts {j[5]})")
        if channel_id is None or channel_id not in slack.channels:
            bad(f"{number}: no channel (channel_id {channel_id})")
            continue
        ch = slack.channels[channel_id]
        if ch.name != channel_name:
            bad(f"{number}: channel named {ch.name}, stored as {channel_name}")
        twins = [c.name for c in incident_channels if c.name.startswith(f"{ch.name}-")]
        if twins:
            bad(f"{number}: duplicate channels {twins} beside #{ch.name}")
        announcements = [m for m in ch.messages if f"SEV1 {title}" in m.text]
        if len(announcements) != 1:
            bad(f"{number}: the announcement posted {len(announcements)} times")
        keyed = [
            m
            for m in ch.messages
            if (step_of(m) or "").startswith(f"setup:{iid}:")
            and (step_of(m) or "").endswith("announcement")
        ]
        if len(keyed) != 1:
            bad(f"{number}: {len(keyed)} messages carry the set-up announcement's step key")
        if ch.pins != [ann_ts] or not any(m.ts == ann_ts for m in announcements):
            bad(f"{number}: pins {ch.pins}, stored announcement ts {ann_ts}")
        told = [m for m in slack.messages(ANNOUNCE) if f"{number} declared" in m.text]
        if len(told) != 1:
            bad(f"{number}: announced in {ANNOUNCE} {len(told)} times")

    # Every due row: done ones' messages once each, none for the others.
    done: dict[int, Counter[tuple[str, int | None]]] = defaultdict(Counter)
    for job_id, iid, kind, level, state, attempts, key, due_at in jobs:
        r = incidents.get(int(iid))
        if r is None:
            bad(f"due_job {job_id} for unknown incident {iid}")
            continue
        number, channel_id, commander = f"INC-{iid}", str(r[2]), str(r[6])
        row = f"{number} due_job {job_id} {key} due {when(due_at):%H:%M:%S.%f}"
        prefix = f"job:{job_id}:"
        job_keys = {s: len(c) for s, c in by_step.items() if s.startswith(prefix)}
        if state in ("pending", "claimed"):
            bad(f"{row} left {state} (attempts {attempts})")
        if kind == "setup":
            continue
        if state != "done":
            if job_keys:
                bad(f"{row} is {state} but its messages went out: {sorted(job_keys)}")
            if state == "cancelled" and int(attempts) > MAX_ATTEMPTS:
                bad(f"{row} given up after {attempts} attempts: lost")
            continue
        done[int(iid)][(str(kind), None if level is None else int(level))] += 1
        targets = [channel_id, commander] if kind == "nag" else [channel_id, *LEVELS[level][1]]
        for where in targets:
            count = job_keys.get(f"{prefix}{where}", 0)
            if int(job_id) in settled and where != channel_id and count == 0:
                if kind == "nag":
                    settled_dm_nags[int(iid)] += 1
                continue
            if count == 0 and f"{prefix}{where}" in skipped and kind == "nag":
                if where == channel_id:
                    skipped_channel_nags[int(iid)] += 1
                else:
                    settled_dm_nags[int(iid)] += 1
                continue
            if count != 1:
                what = "lost" if count == 0 else "duplicated"
                bad(f"{row}: message to {where} {what} (step key sent {count} times)")

    # The same by text, which needs no metadata.
    commanders = Counter(str(r[6]) for r in incidents.values())
    for iid, r in incidents.items():
        number, channel_id, commander = f"INC-{iid}", str(r[2]), str(r[6])
        d = done[iid]
        nag_rows = d[("nag", None)]
        inc = Inc(str(r[1]), commander, iid, channel_id)
        in_channel = nags_in(slack, channel_id, inc)
        if in_channel != nag_rows - skipped_channel_nags[iid]:
            bad(f"{number}: {in_channel} reminders in the channel for {nag_rows} done rows")
        by_dm = nags_in(slack, commander, inc)
        if commanders[commander] == 1 and by_dm != nag_rows - settled_dm_nags[iid]:
            bad(f"{number}: {by_dm} reminder DMs for {nag_rows} done rows")
        esc_rows = sum(c for (kind, _), c in d.items() if kind == "escalate")
        posts = sum(
            m.text.startswith(f"Escalating {number} to ") for m in slack.messages(channel_id)
        )
        if posts != esc_rows:
            bad(f"{number}: {posts} 'Escalating' posts for {esc_rows} done escalate rows")
        for level, (name, users) in enumerate(LEVELS):
            if d[("escalate", level)] != 1:
                bad(f"{number}: {name} paged by {d[('escalate', level)]} done rows, not 1")
            for user in users:
                dms = sum(
                    f"paged for {number} " in m.text and f"*{name}*" in m.text
                    for m in slack.messages(user)
                )
                if dms != d[("escalate", level)]:
                    bad(f"{number}: {dms} {name} page DMs to {user}")
        levels = sorted(int(p[1]) for p in pages if int(p[0]) == iid)
        if levels != list(range(len(LEVELS))):
            bad(f"{number}: page rows for levels {levels}")
        if any(p[2] is None for p in pages if int(p[0]) == iid):
            bad(f"{number}: a page left unacknowledged after /incident ack")

    # The timeline: no line twice, one per step, one per channel message.
    source_keys = Counter(str(e[3]) for e in entries if e[3] is not None)
    for key, count in source_keys.items():
        if count > 1:
            bad(f"timeline source_key {key} recorded {count} times")
    kinds: dict[int, Counter[str]] = defaultdict(Counter)
    for e in entries:
        kinds[int(e[1])][str(e[2])] += 1
    for iid, r in incidents.items():
        number, channel_id = f"INC-{iid}", str(r[2])
        k, d = kinds[iid], done[iid]
        if k["nag"] != d[("nag", None)]:
            bad(f"{number}: {k['nag']} 'nag' timeline lines for {d[('nag', None)]} done rows")
        esc_rows = sum(c for (kind, _), c in d.items() if kind == "escalate")
        if k["escalation"] != esc_rows:
            bad(f"{number}: {k['escalation']} 'escalation' lines for {esc_rows} done rows")
        for kind in ("declared", "update", "note", "resolve"):
            if k[kind] != 1:
                bad(f"{number}: {k[kind]} {kind!r} timeline lines, not 1")
        if k["ack"] != len(LEVELS):  # one per person paged, each acknowledging their page
            bad(f"{number}: {k['ack']} 'ack' timeline lines, not {len(LEVELS)}")
        resolved = when(r[5]).timestamp() if r[5] is not None else float("inf")
        recorded = {str(e[5]) for e in entries if e[2] == "message" and e[4] == channel_id and e[5]}
        found = slack.channels.get(channel_id)
        posted = {m.ts: m for m in found.messages} if found else {}
        for ts, m in sorted(posted.items()):
            if float(ts) <= resolved and ts not in recorded:
                got = crashes.feed.delivered.get((channel_id, ts))
                how = (
                    f"acked by pid {got.pid} after {got.tries} failed tries"
                    if got
                    else "never acked"
                )
                bad(f"{number}: channel message {ts} {m.text[:40]!r} not in the timeline ({how})")
        for ts in sorted(recorded - posted.keys()):
            bad(f"{number}: timeline message {ts} is not in the channel")
    return problems
