"""Local issue trackers that answer like the documented APIs, on one aiohttp server:

- GitHub REST "Create an issue" (POST /repos/{owner}/{repo}/issues: 201 with number and
  html_url; 401 "Bad credentials", 404 "Not Found", 422 "Validation Failed") and "List
  repository issues" (GET, `state`, `since`);
- Jira Cloud REST v3 "Create issue" (POST /rest/api/3/issue: 201 {id, key, self}; 400
  {errorMessages, errors}; 401) and "Search for issues using JQL" (GET
  /rest/api/3/search/jql, `labels = "..."` only);
- a generic webhook (POST /hooks/{name}) that keeps one delivery per Idempotency-Key.

Any of them answers 429 (with Retry-After; GitHub also its rate-limit 403) or another
status when told to
(`answer_next`), and `on_create` runs when an issue is stored, before the answer goes
out (a test kills the bot there)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

GITHUB_TOKEN = "ghp_test_token"
JIRA_EMAIL = "bot@example.com"
JIRA_TOKEN = "jira-test-token"
REPO = "acme/incidents"
PROJECT = "OPS"


class TrackerServer:
    def __init__(self) -> None:
        self.github: list[dict[str, Any]] = []  # issues, in the order created
        self.jira: list[dict[str, Any]] = []
        self.hooks: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> first delivery
        self.hook_calls = 0
        self.creates: list[str] = []  # "github" / "jira" / "webhook" per accepted create
        self.queued: dict[str, list[int]] = {}  # kind -> statuses to answer next
        self.on_create: Callable[[str], None] | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    def answer_next(self, kind: str, *statuses: int) -> None:
        """Answer the next creates of `kind` with these statuses, then normally."""
        self.queued.setdefault(kind, []).extend(statuses)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/repos/{owner}/{repo}/issues", self._github_create)
        app.router.add_get("/repos/{owner}/{repo}/issues", self._github_list)
        app.router.add_post("/rest/api/3/issue", self._jira_create)
        app.router.add_get("/rest/api/3/search/jql", self._jira_search)
        app.router.add_post("/hooks/{name}", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _queued(self, kind: str) -> web.Response | None:
        statuses = self.queued.get(kind)
        if not statuses:
            return None
        status = statuses.pop(0)
        if status == 429:
            body = {"message": "API rate limit exceeded"} if kind == "github" else {}
            return web.json_response(body, status=429, headers={"Retry-After": "1"})
        if status == 403 and kind == "github":  # GitHub's primary rate limit
            return web.json_response(
                {"message": "API rate limit exceeded for user ID 1."},
                status=403,
                headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1767225600"},
            )
        return web.json_response({"message": f"status {status}"}, status=status)

    def _created(self, kind: str) -> None:
        self.creates.append(kind)
        if self.on_create is not None:
            self.on_create(kind)

    # -- GitHub ----------------------------------------------------------------------

    def _github_auth(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") not in (
            f"Bearer {GITHUB_TOKEN}",
            f"token {GITHUB_TOKEN}",
        ):
            return web.json_response(
                {
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/rest",
                },
                status=401,
            )
        if f"{request.match_info['owner']}/{request.match_info['repo']}" != REPO:
            return web.json_response({"message": "Not Found"}, status=404)
        return None

    async def _github_create(self, request: web.Request) -> web.Response:
        refused = self._github_auth(request) or self._queued("github")
        if refused is not None:
            return refused
        body = await request.json()
        if not isinstance(body.get("title"), str) or not body["title"]:
            return web.json_response(
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}],
                },
                status=422,
            )
        number = len(self.github) + 1
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        issue = {
            "id": 1000 + number,
            "number": number,
            "html_url": f"https://github.com/{REPO}/issues/{number}",
            "title": body["title"],
            "body": body.get("body"),
            "state": "open",
            "labels": [{"name": n} for n in body.get("labels") or []],
            "created_at": now,
            "updated_at": now,
        }
        self.github.append(issue)
        self._created("github")
        return web.json_response(issue, status=201)

    async def _github_list(self, request: web.Request) -> web.Response:
        refused = self._github_auth(request)
        if refused is not None:
            return refused
        since = request.query.get("since")
        issues = [
            i
            for i in self.github
            if since is None or datetime.fromisoformat(i["updated_at"]) >= _at(since)
        ]
        return web.json_response(list(reversed(issues)))

    # -- Jira Cloud ------------------------------------------------------------------

    def _jira_auth(self, request: web.Request) -> web.Response | None:
        expected = base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.Response(status=401, text="Client must be authenticated")
        return None

    async def _jira_create(self, request: web.Request) -> web.Response:
        refused = self._jira_auth(request) or self._queued("jira")
        if refused is not None:
            return refused
        fields = (await request.json()).get("fields") or {}
        errors: dict[str, str] = {}
        if (fields.get("project") or {}).get("key") != PROJECT:
            errors["project"] = "valid project is required"
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        if not (fields.get("issuetype") or {}).get("name"):
            errors["issuetype"] = "valid issue type is required"
        description = fields.get("description")
        if description is not None and not (
            isinstance(description, dict) and description.get("type") == "doc"
        ):
            errors["description"] = "Operation value must be an Atlassian Document (see ADF)."
        due = fields.get("duedate")
        if due is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(due)):
            errors["duedate"] = "Error parsing date string: " + str(due)
        if errors:
            return web.json_response({"errorMessages": [], "errors": errors}, status=400)
        n = len(self.jira) + 1
        issue = {"id": str(10000 + n), "key": f"{PROJECT}-{n}", "fields": fields}
        self.jira.append(issue)
        self._created("jira")
        return web.json_response(
            {
                "id": issue["id"],
                "key": issue["key"],
                "self": f"{self.url}/rest/api/3/issue/{issue['id']}",
            },
            status=201,
        )

    async def _jira_search(self, request: web.Request) -> web.Response:
        refused = self._jira_auth(request)
        if refused is not None:
            return refused
        m = re.fullmatch(r'labels\s*=\s*"([^"]+)"', request.query.get("jql", "").strip())
        if m is None:
            return web.json_response(
                {"errorMessages": ['Only labels = "..." is understood here']}, status=400
            )
        found = [
            {"id": i["id"], "key": i["key"]}
            for i in self.jira
            if m.group(1) in (i["fields"].get("labels") or [])
        ]
        return web.json_response({"issues": found, "isLast": True})

    # -- a webhook -------------------------------------------------------------------

    async def _hook(self, request: web.Request) -> web.Response:
        queued = self._queued("webhook")
        if queued is not None:
            return queued
        self.hook_calls += 1
        key = request.headers.get("Idempotency-Key")
        if not key:
            return web.json_response({"error": "Idempotency-Key header required"}, status=400)
        if key not in self.hooks:
            self.hooks[key] = {
                "body": await request.json(),
                "authorization": request.headers.get("Authorization"),
                "id": f"T-{len(self.hooks) + 1}",
            }
            self._created("webhook")
        first = self.hooks[key]
        return web.json_response({"id": first["id"], "url": f"{self.url}/tickets/{first['id']}"})


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
