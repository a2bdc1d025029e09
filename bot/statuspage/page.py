"""GET /status (HTML), /status.json, /status/feed.atom: only what was published.

Server-rendered, escaped, readable on a phone, no JavaScript. Never shows internal
fields: no channel, no people, no internal updates, never a private incident.
Every absolute link starts with PUBLIC_URL, never with the request's Host header
(behind a reverse proxy that is the proxy's upstream, e.g. 127.0.0.1:3000).
"""

from __future__ import annotations

import hashlib
import html
import json
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
# Revalidated on every visit (the ETag makes that cheap): an incident withdrawn (made
# private) must leave the page at once, not after a cache's max-age.
CACHE = {"Cache-Control": "public, no-cache"}
CSS = (Path(__file__).parent / "style.css").read_text(encoding="utf-8")


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _when(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def affected(pub: Publication, components: tuple[str, ...]) -> list[str]:
    """The components an update marks; one from before components were picked: all."""
    return list(components) if pub.components is None else list(pub.components)


class StatusPage:
    def __init__(self, store: Store, policy: PolicyBook, clock: Clock, base_url: str) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self.base = base_url.rstrip("/")

    async def data(self) -> dict[str, Any]:
        now = self.clock.now()
        items = await public_incidents(self.store, now - RECENT)
        pol = self.policy.policy
        names = pol.status_page.components
        current = [(i, p) for i, p in items if i.resolved_at is None]
        # A component is degraded while an open incident's latest update marks it.
        hit = {c.lower() for _, pubs in current for c in affected(pubs[0], names)}
        return {
            "title": pol.status_page.title,
            "company": pol.name,
            "url": f"{self.base}/status",
            "feed_url": f"{self.base}/status/feed.atom",
            "status": "incident" if current else "operational",
            "components": [
                {"name": c, "status": "degraded" if c.lower() in hit else "operational"}
                for c in names
            ],
            "incidents": [self._incident(i, p, names) for i, p in items],
            "generated_at": now.isoformat(),
        }

    def _incident(
        self, i: Incident, pubs: list[Publication], names: tuple[str, ...]
    ) -> dict[str, Any]:
        return {
            "id": i.number,
            "url": f"{self.base}/status#{i.number}",
            "title": pubs[0].public_title,
            "status": pubs[0].status if i.resolved_at is None else "resolved",
            "components": affected(pubs[0], names),
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
            f'<link rel=stylesheet href="{e(self.base)}/status/style.css">'
            f'<link rel=alternate type="application/atom+xml" '
            f'href="{e(self.base)}/status/feed.atom">'
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
                hit = ", ".join(i["components"])
                parts.append(
                    f'<section id="{e(i["id"])}"><h3>{e(i["title"])}</h3>'
                    f'<span class="status {e(i["status"])}">{e(i["status"])}</span>'
                    + (f"<p class=affected>Affected: {e(hit)}</p>" if hit else "")
                    + "<ol>"
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
            f'<a href="{e(self.base)}/status/feed.atom">Subscribe (Atom)</a> · '
            f'<a href="{e(self.base)}/status.json">JSON</a></footer></main></body></html>'
        )
        return "".join(parts)

    async def atom(self) -> bytes:
        """Atom 1.0 (RFC 4287), one entry per publication. Ids are urn:uuids derived from
        the company and the publication, not from the request's Host: they must not
        change when the page moves or is reached by another name (RFC 4287 4.2.6)."""
        now = self.clock.now()
        pol = self.policy.policy
        base = self.base
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
                ET.SubElement(entry, a("link"), rel="alternate", href=f"{base}/status#{inc.number}")
                ET.SubElement(entry, a("content"), type="text").text = p.text
                ET.SubElement(entry, a("category"), term=inc.number)
        return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


def _answer(request: web.Request, body: bytes, content_type: str) -> web.Response:
    """The body, or 304 when the visitor's copy (its ETag) is still the current one."""
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {**CACHE, "ETag": tag}
    if tag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)


def add_routes(app: web.Application, page: StatusPage) -> None:
    async def status_html(request: web.Request) -> web.Response:
        return _answer(request, (await page.html()).encode(), "text/html")

    async def status_json(request: web.Request) -> web.Response:
        return _answer(request, json.dumps(await page.data()).encode(), "application/json")

    async def feed(request: web.Request) -> web.Response:
        return _answer(request, await page.atom(), "application/atom+xml")

    async def css(request: web.Request) -> web.Response:
        return _answer(request, CSS.encode(), "text/css")

    app.router.add_get("/status", status_html)
    app.router.add_get("/status.json", status_json)
    app.router.add_get("/status/feed.atom", feed)
    app.router.add_get("/status/style.css", css)
