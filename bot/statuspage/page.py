"""GET /status (HTML), /status.json, /status/feed.atom: only what was published.

Server-rendered, escaped, readable on a phone, no JavaScript. Never shows internal
fields: no channel, no people, no internal updates, never a private incident.
"""

from __future__ import annotations

import html
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.incidents.policy_book import PolicyBook
from bot.incidents.publish import public_incidents
from bot.store.repo import Store
from bot.store.tables import Incident, Publication

RECENT = timedelta(days=7)
ATOM = "http://www.w3.org/2005/Atom"
CACHE = {"Cache-Control": "public, max-age=30"}
CSS = (Path(__file__).parent / "style.css").read_text(encoding="utf-8")


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _when(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


class StatusPage:
    def __init__(self, store: Store, policy: PolicyBook, clock: Clock) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock

    async def data(self) -> dict[str, Any]:
        now = self.clock.now()
        items = await public_incidents(self.store, now - RECENT)
        pol = self.policy.policy
        current = [(i, p) for i, p in items if i.resolved_at is None]
        # Incidents do not (yet) say which components they affect, so the rule is coarse:
        # while any published incident is open, every component reads "degraded".
        return {
            "title": pol.status_page.title,
            "company": pol.name,
            "status": "incident" if current else "operational",
            "components": [
                {"name": c, "status": "degraded" if current else "operational"}
                for c in pol.status_page.components
            ],
            "incidents": [self._incident(i, p) for i, p in items],
            "generated_at": now.isoformat(),
        }

    @staticmethod
    def _incident(i: Incident, pubs: list[Publication]) -> dict[str, Any]:
        return {
            "id": i.number,
            "title": pubs[0].public_title,
            "status": pubs[0].status if i.resolved_at is None else "resolved",
            "started_at": _iso(i.declared_at),
            "resolved_at": _iso(i.resolved_at),
            "updates": [
                {"status": p.status, "text": p.text, "published_at": _iso(p.published_at)}
                for p in pubs
            ],
        }

    async def html(self) -> str:
        d = await self.data()
        e = html.escape
        current = [i for i in d["incidents"] if i["resolved_at"] is None]
        recent = [i for i in d["incidents"] if i["resolved_at"] is not None]
        banner = (
            '<div class="banner ok">All systems operational</div>'
            if not current
            else f'<div class="banner incident">{len(current)} ongoing incident'
            f"{'s' if len(current) > 1 else ''}</div>"
        )
        parts = [
            f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f'<meta name=viewport content="width=device-width,initial-scale=1">'
            f"<title>{e(d['title'])}</title>"
            f'<link rel=stylesheet href="/status/style.css">'
            f'<link rel=alternate type="application/atom+xml" href="/status/feed.atom">'
            f"</head><body><main><h1>{e(d['title'])}</h1>"
            f"<p class=company>{e(d['company'])}</p>{banner}"
        ]
        if d["components"]:
            parts.append(
                "<ul class=components>"
                + "".join(
                    f'<li>{e(c["name"])}<span class="state {e(c["status"])}">'
                    f"{'Operational' if c['status'] == 'operational' else 'Degraded'}</span></li>"
                    for c in d["components"]
                )
                + "</ul>"
            )
        for heading, group in (
            ("Current incidents", current),
            (f"Resolved in the last {RECENT.days} days", recent),
        ):
            if not group:
                continue
            parts.append(f"<h2>{heading}</h2>")
            for i in group:
                parts.append(
                    f"<section><h3>{e(i['title'])}</h3>"
                    f'<span class="status {e(i["status"])}">{e(i["status"])}</span><ol>'
                    + "".join(
                        f'<li><time datetime="{e(u["published_at"])}">'
                        f"{e(_when(datetime.fromisoformat(u['published_at'])))} · "
                        f"{e(u['status'].capitalize())}</time><p class=text>{e(u['text'])}</p></li>"
                        for u in i["updates"]
                    )
                    + "</ol></section>"
                )
        parts.append(
            f"<footer>Updated {e(_when(datetime.fromisoformat(d['generated_at'])))} · "
            f'<a href="/status/feed.atom">Subscribe (Atom)</a> · '
            f'<a href="/status.json">JSON</a></footer></main></body></html>'
        )
        return "".join(parts)

    async def atom(self, base: str) -> bytes:
        """Atom 1.0 (RFC 4287), one entry per publication. Ids are urn:uuids derived from
        the company and the publication, not from the request's Host: they must not
        change when the page moves or is reached by another name (RFC 4287 4.2.6)."""
        now = self.clock.now()
        pol = self.policy.policy
        items = await public_incidents(self.store, now - RECENT)
        feed_id = uuid.uuid5(uuid.NAMESPACE_URL, f"incident-bot:status:{pol.name}")
        newest = max((p.published_at for _, pubs in items for p in pubs), default=now)

        def a(tag: str) -> str:
            return f"{{{ATOM}}}{tag}"

        ET.register_namespace("", ATOM)
        feed = ET.Element(a("feed"))
        ET.SubElement(feed, a("id")).text = feed_id.urn
        ET.SubElement(feed, a("title")).text = pol.status_page.title
        ET.SubElement(feed, a("updated")).text = newest.isoformat()
        ET.SubElement(feed, a("link"), rel="self", href=f"{base}/status/feed.atom")
        ET.SubElement(feed, a("link"), rel="alternate", href=f"{base}/status")
        ET.SubElement(ET.SubElement(feed, a("author")), a("name")).text = pol.name
        for inc, pubs in items:
            for p in pubs:
                entry = ET.SubElement(feed, a("entry"))
                # The publication's time is in the name too: a rebuilt database reuses ids.
                key = f"{p.id}:{p.published_at.isoformat()}"
                ET.SubElement(entry, a("id")).text = uuid.uuid5(feed_id, key).urn
                ET.SubElement(entry, a("title")).text = f"{p.status.capitalize()}: {p.public_title}"
                ET.SubElement(entry, a("updated")).text = p.published_at.isoformat()
                ET.SubElement(entry, a("link"), rel="alternate", href=f"{base}/status")
                ET.SubElement(entry, a("content"), type="text").text = p.text
                ET.SubElement(entry, a("category"), term=inc.number)
        return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


def add_routes(app: web.Application, page: StatusPage) -> None:
    async def status_html(_: web.Request) -> web.Response:
        return web.Response(text=await page.html(), content_type="text/html", headers=CACHE)

    async def status_json(_: web.Request) -> web.Response:
        return web.json_response(await page.data(), headers=CACHE)

    async def feed(request: web.Request) -> web.Response:
        base = f"{request.scheme}://{request.host}"
        return web.Response(
            body=await page.atom(base), content_type="application/atom+xml", headers=CACHE
        )

    async def css(_: web.Request) -> web.Response:
        return web.Response(text=CSS, content_type="text/css", headers=CACHE)

    app.router.add_get("/status", status_html)
    app.router.add_get("/status.json", status_json)
    app.router.add_get("/status/feed.atom", feed)
    app.router.add_get("/status/style.css", css)
