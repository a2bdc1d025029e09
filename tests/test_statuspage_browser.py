"""A visitor's view of /status in headless Chromium (Debian's package), narrow and wide:
a published incident, a resolved one, and one withdrawn (made private) that is gone.
Screenshots are saved under test-artifacts/; with UPDATE_README_SCREENSHOT=1 the narrow
one replaces the README's (docs/status-page.png)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from bot.store.tables import Incident
from tests.harness import eventually
from tests.helpers import DeclaredIncident

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
README_SHOT = ROOT / "docs/status-page.png"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("no chromium here (CI installs it)", allow_module_level=True)


async def chromium(*args: str) -> str:
    assert CHROMIUM, "chromium is required in CI"
    with tempfile.TemporaryDirectory() as profile:
        proc = await asyncio.create_subprocess_exec(
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile}",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return out.decode()


async def declare(incident: DeclaredIncident, text: str, slug: str) -> Incident:
    slack, bot, _, alice = incident
    general = slack.channel_by_name("general")
    assert general is not None
    await bot.send.command(text, user=alice, channel=general.id)
    ch = await eventually(lambda: slack.channel_by_name(f"incident-20260314-{slug}"))
    await eventually(lambda: ch.pins)
    inc = await bot.services.store.by_channel(ch.id)
    assert inc is not None
    return inc


@pytest.mark.parametrize(("name", "size"), [("narrow", "390,844"), ("wide", "1280,800")])
async def test_a_visitor_sees_the_published_update(
    incident: DeclaredIncident, name: str, size: str
) -> None:
    _, bot, ch, alice = incident
    # The page's links are PUBLIC_URL's: here, where the test's bot answers.
    bot.services.status_page.base = bot.url
    publisher = bot.services.publisher
    inc = await bot.services.store.get(1)
    assert inc is not None
    await publisher.publish(
        inc, alice, "Checkout is slow; we are on it.", "investigating", components=["Checkout"]
    )
    resolved = await declare(incident, "SEV2 Search slow", "search-slow")
    await publisher.publish(resolved, alice, "Search results are slow.", "identified")
    await bot.services.controls.resolve(resolved, alice, "Cache warmed")
    await publisher.publish(resolved, alice, "Search is fast again.", "resolved")
    withdrawn = await declare(incident, "SEV1 Login errors", "login-errors")
    await publisher.publish(withdrawn, alice, "Some logins fail.", "investigating")
    async with bot.services.store.session() as s:
        row = await s.get(Incident, withdrawn.id)
        assert row is not None
        row.private = True  # withdrawn: what a change to a private severity does
        s.add(row)
        await s.commit()

    url = f"{bot.url}/status"
    dom = await chromium(f"--window-size={size}", "--dump-dom", url)
    assert "Checkout is slow; we are on it." in dom
    assert "1 ongoing incident" in dom and "Checkout errors" in dom
    assert "Affected: Checkout" in dom
    assert "Resolved in the last 7 days" in dom and "Search is fast again." in dom
    assert dom.index("Checkout errors") < dom.index("Resolved in the last 7 days")
    assert "Login errors" not in dom and "Some logins fail." not in dom
    for internal in (ch, alice, "incident-20260314"):
        assert internal not in dom
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"status-{name}.png"
    await chromium(f"--window-size={size}", f"--screenshot={shot}", url)
    assert shot.exists() and shot.stat().st_size > 5_000
    if name == "narrow" and os.environ.get("UPDATE_README_SCREENSHOT"):
        save_small(shot, README_SHOT)


def save_small(shot: Path, to: Path) -> None:
    """The README's copy in 64 colours (a third of the size, the same to the eye), when
    Pillow is installed; as taken otherwise."""
    try:
        from PIL import Image
    except ImportError:
        shutil.copyfile(shot, to)
        return
    with Image.open(shot) as image:
        image.convert("RGB").quantize(colors=64).save(to, optimize=True)
