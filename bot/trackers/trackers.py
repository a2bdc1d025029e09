"""The `file_issue` sender: files an action item in the tracker its row names.

Never twice: a row tried before (its process died after the tracker answered, before
the row was marked done) first looks for its marker in the tracker, and takes the
issue it finds. GitHub keeps the marker in the issue body, Jira as a label, a webhook
receives it as the Idempotency-Key header."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from bot.incidents.chat import ChatError
from bot.store.tables import OutboxRow
from bot.trackers.http import Http

# The tracker's clock is not ours: look a little further back for a first attempt.
SKEW = timedelta(minutes=5)


class Trackers:
    def __init__(
        self,
        *,
        github_api_url: str,
        jira_url: str | None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.github_api_url = github_api_url.rstrip("/")
        self.jira_url = jira_url.rstrip("/") if jira_url else None
        self.env = os.environ if env is None else env
        self.http = Http()

    def _secret(self, name: str | None) -> str:
        value = self.env.get(name or "", "").strip()
        if not name or not value:
            raise ChatError(f"missing_token: set {name} in the bot's environment")
        return value

    async def file(self, row: OutboxRow) -> dict[str, Any]:
        payload = row.payload
        tracker = dict(payload["tracker"])
        kind = tracker["kind"]
        retried = row.attempts > 1
        since = (row.first_claimed_at or row.created_at) - SKEW
        if kind == "github":
            return await self._github(tracker, payload, retried, since.isoformat())
        if kind == "jira":
            return await self._jira(tracker, payload, retried)
        return await self._webhook(tracker, payload)

    # -- GitHub: POST /repos/{owner}/{repo}/issues ------------------------------------

    async def _github(
        self, tracker: dict[str, Any], payload: dict[str, Any], retried: bool, since: str
    ) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {self._secret(tracker.get('token_env'))}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        url = f"{self.github_api_url}/repos/{tracker['repo']}/issues"
        marker = str(payload["marker"])
        if retried:
            found = await self.http.call(
                "GET",
                url,
                headers=headers,
                params={"state": "all", "since": since, "per_page": "100"},
            )
            for issue in found.body if isinstance(found.body, list) else []:
                if marker in str(issue.get("body") or ""):
                    return {"url": issue.get("html_url"), "ref": str(issue.get("number"))}
        issue = payload["issue"]
        body = f"{issue['body']}\n\n<!-- {marker} -->"
        made = await self.http.call(
            "POST",
            url,
            headers=headers,
            json_body={
                "title": issue["title"],
                "body": body,
                "labels": tracker.get("labels") or [],
            },
        )
        return {"url": made.body.get("html_url"), "ref": str(made.body.get("number"))}

    # -- Jira Cloud: POST /rest/api/3/issue -------------------------------------------

    async def _jira(
        self, tracker: dict[str, Any], payload: dict[str, Any], retried: bool
    ) -> dict[str, Any]:
        if self.jira_url is None:
            raise ChatError("missing_setting: set JIRA_URL (e.g. https://acme.atlassian.net)")
        # Jira Cloud's basic auth: the account's e-mail and an API token.
        pair = f"{self._secret(tracker.get('email_env'))}:{self._secret(tracker.get('token_env'))}"
        headers = {
            "Accept": "application/json",
            "Authorization": "Basic " + base64.b64encode(pair.encode()).decode(),
        }
        marker = str(payload["marker"])
        if retried:
            found = await self.http.call(
                "GET",
                f"{self.jira_url}/rest/api/3/search/jql",
                headers=headers,
                params={"jql": f'labels = "{marker}"', "fields": "key"},
            )
            issues = found.body.get("issues") if isinstance(found.body, dict) else None
            if issues:
                key = str(issues[0]["key"])
                return {"url": f"{self.jira_url}/browse/{key}", "ref": key}
        issue = payload["issue"]
        fields: dict[str, Any] = {
            "project": {"key": tracker["project"]},
            "issuetype": {"name": tracker.get("issue_type") or "Task"},
            "summary": issue["title"][:255],
            "description": {
                "type": "doc",
                "version": 1,
                "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": issue["body"]}]}
                ],
            },
            "labels": [*(tracker.get("labels") or []), marker],
        }
        if issue.get("due"):
            fields["duedate"] = issue["due"]
        made = await self.http.call(
            "POST",
            f"{self.jira_url}/rest/api/3/issue",
            headers=headers,
            json_body={"fields": fields},
        )
        key = str(made.body.get("key"))
        return {"url": f"{self.jira_url}/browse/{key}", "ref": key}

    # -- a generic webhook: POST <url> ------------------------------------------------

    async def _webhook(self, tracker: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        headers = {"Idempotency-Key": str(payload["marker"])}
        if tracker.get("token_env"):
            headers["Authorization"] = f"Bearer {self._secret(tracker['token_env'])}"
        made = await self.http.call(
            "POST",
            str(tracker["url"]),
            headers=headers,
            json_body={"action_item": payload["issue"], "id": payload["marker"]},
        )
        body = made.body if isinstance(made.body, dict) else {}
        return {"url": body.get("url"), "ref": str(body.get("id") or "")}

    async def close(self) -> None:
        await self.http.close()
