"""Socket Mode, as Slack serves it: `apps.connections.open` (app-level token only) hands
out a WebSocket URL; Slack sends envelopes down it and the app acknowledges each one by
sending back its `envelope_id`. An envelope left unacknowledged is Slack's cue to retry."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from aiohttp import WSMsgType, web


class SocketMode:
    def __init__(self, app_id: str) -> None:
        self.app_token = f"xapp-1-{app_id}-1-{uuid.uuid4().hex}"
        self.app_id = app_id
        self.tickets: set[str] = set()
        self.acks: dict[str, dict[str, Any] | None] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._changed = asyncio.Event()

    def open(self, base_url: str) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self.tickets.add(ticket)
        return {"url": base_url.replace("http://", "ws://") + f"/link/?ticket={ticket}"}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self.tickets:
            return web.Response(status=401, text="invalid ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets) + 1,
                "connection_info": {"app_id": self.app_id},
                "debug_info": {"host": "fake-slack"},
            }
        )
        self._sockets.append(ws)
        self._changed.set()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                body = json.loads(msg.data)
                if isinstance(body, dict) and "envelope_id" in body:
                    self.acks[str(body["envelope_id"])] = body.get("payload")
                    self._changed.set()
        finally:
            self._sockets.remove(ws)
        return ws

    async def _until(self, check: Any, within: float) -> None:
        async with asyncio.timeout(within):
            while not check():
                self._changed.clear()
                await self._changed.wait()

    async def connected(self, within: float = 30.0) -> None:
        await self._until(lambda: bool(self._sockets), within)

    async def send(self, kind: str, payload: dict[str, Any]) -> str:
        """Send an envelope (`events_api`, `slash_commands`, `interactive`) to the app."""
        envelope_id = str(uuid.uuid4())
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return envelope_id

    def acked(self, envelope_id: str) -> bool:
        return envelope_id in self.acks

    async def ack(self, envelope_id: str, within: float = 10.0) -> dict[str, Any] | None:
        """The payload the app acknowledged the envelope with (None: a bare ack)."""
        await self._until(lambda: envelope_id in self.acks, within)
        return self.acks[envelope_id]
