"""The use cases refuse with typed errors (bot/incidents/errors.py), so the Slack side can
show each where it belongs; the messages say what would work, and nothing changes."""

from __future__ import annotations

import pytest

from bot.incidents.errors import (
    FinalStatus,
    IncidentClosed,
    MissingText,
    NotAllowed,
    NothingToDo,
    NotInIncidentChannel,
    UnknownRole,
    UnknownSeverity,
    UnknownStatus,
)
from tests.harness import Bot
from tests.slack_server import FakeSlack

# The `incident` fixture: (slack, bot, incident channel id, the declarer).
Declared = tuple[FakeSlack, Bot, str, str]


async def test_each_refusal_has_its_type_and_field(incident: Declared) -> None:
    slack, bot, ch, alice = incident
    services = bot.services
    c = services.controls
    inc = await services.store.by_channel(ch)
    assert inc is not None
    before = await services.store.timeline(inc.id)
    with pytest.raises(UnknownSeverity, match="Use one of: `SEV1`, `SEV2`, `SEC`") as sev:
        await c.set_severity(inc, alice, "SEV9")
    assert sev.value.field == "severity"
    with pytest.raises(NothingToDo, match="already SEV2"):
        await c.set_severity(inc, alice, "sev-2")
    with pytest.raises(UnknownStatus, match="Use one of") as status:
        await c.update(inc, alice, "text", "broken")
    assert status.value.field == "status"
    with pytest.raises(FinalStatus, match="/incident resolve"):
        await c.set_status(inc, alice, "resolved")
    with pytest.raises(UnknownRole, match="Roles: `commander`"):
        await c.assign_role(inc, alice, "jester", alice)
    with pytest.raises(MissingText) as missing:
        await c.resolve(inc, alice, "  ")
    assert missing.value.field == "summary"
    with pytest.raises(NothingToDo, match="already the commander"):
        await c.set_commander(inc, alice, alice)
    with pytest.raises(NothingToDo, match="Nothing to acknowledge"):
        await c.ack(inc, alice)
    bob = slack.add_user("bob")
    with pytest.raises(NotAllowed, match="may not resolve"):
        await c.resolve(inc, bob, "fixed")
    with pytest.raises(UnknownSeverity):
        await services.incidents.open(severity="SEV9", title="x", user_id=alice)
    with pytest.raises(MissingText) as title:
        await services.incidents.open(severity="SEV1", title="  ", user_id=alice)
    assert title.value.field == "title"
    general = slack.channel_by_name("general")
    assert general is not None
    with pytest.raises(NotInIncidentChannel):
        await services.incidents.in_channel(general.id)
    assert await services.store.timeline(inc.id) == before, "a refusal changes nothing"
    resolved = await c.resolve(inc, alice, "rolled back")
    with pytest.raises(IncidentClosed, match="is resolved"):
        await c.update(resolved, alice, "more")
    with pytest.raises(IncidentClosed, match="nothing to acknowledge"):
        await c.ack(resolved, alice)
