"""Running the bot as a real process (`python -m bot serve`) for crash and replica tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.harness import ROOT, SIGNING_SECRET
from tests.slack_requests import SlackSender
from tests.slack_server import FakeSlack


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotProcess:
    def __init__(
        self,
        slack: FakeSlack,
        db_url: str,
        policy: Path,
        log: Path,
        env: dict[str, str] | None = None,
        role: str = "all",
        python_args: tuple[str, ...] = (),
    ) -> None:
        """`env`: extra environment variables for the process (they win over the rest);
        `role`: serve's --role; `python_args`: before `-m bot` (a profiler, say)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.send = SlackSender(f"{self.url}/slack/events", SIGNING_SECRET, slack)
        process_env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        process_env.update(
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack.api_url,
            DATABASE_URL=db_url,
            INCIDENT_POLICY=str(policy),
            PORT=str(self.port),
        )
        process_env.update(env or {})
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, *python_args, "-m", "bot", "serve", "--role", role],
            cwd=ROOT,
            env=process_env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    async def ready(self, within: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + within
        async with aiohttp.ClientSession() as s:
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(f"bot exited: {self.log.read_text()[-3000:]}")
                try:
                    async with s.get(f"{self.url}/healthz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"bot not ready: {self.log.read_text()[-3000:]}")
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, exactly like a crash."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._out.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._out.close()
