"""A visitor's view of /status in headless Chromium (Debian's package), narrow and wide.
Screenshots are saved under test-artifacts/."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers import DeclaredIncident

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
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


@pytest.mark.parametrize(("name", "size"), [("narrow", "390,844"), ("wide", "1280,800")])
async def test_a_visitor_sees_the_published_update(
    incident: DeclaredIncident, name: str, size: str
) -> None:
    _, bot, ch, alice = incident
    inc = await bot.services.store.get(1)
    assert inc is not None
    await bot.services.publisher.publish(
        inc, alice, "Checkout is slow; we are on it.", "investigating"
    )
    url = f"{bot.url}/status"
    dom = await chromium(f"--window-size={size}", "--dump-dom", url)
    assert "Checkout is slow; we are on it." in dom
    assert "1 ongoing incident" in dom and "Checkout errors" in dom
    for internal in (ch, alice, "incident-20260314"):
        assert internal not in dom
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"status-{name}.png"
    await chromium(f"--window-size={size}", f"--screenshot={shot}", url)
    assert shot.exists() and shot.stat().st_size > 5_000
