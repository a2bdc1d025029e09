"""A role may have several holders (issue 13: runbook 002's SMEs): `/incident role sme
@a @b` assigns both, each holds the role's permissions, templates show the list, and
assigning again replaces the holders."""

from __future__ import annotations

from bot.incidents.values import incident_values
from tests.helpers import DeclaredIncident, say
from tests.test_live_summary import pinned


async def test_a_role_with_several_holders(incident: DeclaredIncident) -> None:
    slack, bot, ch, alice = incident
    bob, carol, dave = (slack.add_user(n) for n in ("bob", "carol", "dave"))
    answer = await say(bot, f"role tech_lead <@{bob}> <@{carol}>", alice, ch)
    assert f"<@{bob}>, <@{carol}> are now tech_lead" in answer
    assert {bob, carol} <= slack.channels[ch].members, "both invited"
    assert await bot.services.store.roles(1) == {"tech_lead": [bob, carol]}
    assert f"tech_lead: <@{bob}>, <@{carol}>" in pinned(slack, ch)
    inc = await bot.services.store.get(1)
    assert inc is not None
    pol = await bot.services.policy.of(inc)
    values = incident_values(pol, inc, bot.services.chat, await bot.services.store.roles(1))
    assert values["role_tech_lead"] == f"<@{bob}>, <@{carol}>"
    assert values["roles"] == f"tech_lead: <@{bob}>, <@{carol}>"
    assert "one commander" in await say(bot, f"role commander <@{bob}> <@{carol}>", alice, ch)
    # Assigning again replaces the holders: dave only, and bob no longer may resolve.
    await say(bot, f"role tech_lead <@{dave}>", alice, ch)
    assert await bot.services.store.roles(1) == {"tech_lead": [dave]}
    assert "may not resolve" in await say(bot, "resolve not mine to close", bob, ch)
    # Each holder has the role's permissions (the test policy: resolve by role:tech_lead).
    await say(bot, f"role tech_lead <@{dave}> <@{carol}>", alice, ch)
    assert "resolved" in await say(bot, "resolve rolled back", carol, ch)
