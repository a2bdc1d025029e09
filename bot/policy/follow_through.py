"""The policy's `follow_through` section: what is owed after an incident is resolved
(the review, the postmortem, the action items) and where action items are tracked.

The runbooks set these deadlines (000: schedule the review within 24 h, hold it within
48 h, publish within a week, finish the action items within two weeks; 004: 2 h), and
each step reminds the commander once it is due, again every `repeat_every`, until it is
marked done."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal, Self

from pydantic import model_validator

from .fields import Duration, Key, MaybeDuration, PolicyModel, SeverityName, Text, problem

ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


class FollowStep(PolicyModel):
    """One thing owed after resolution, with its deadline."""

    name: Key
    """Identifies the step (in buttons and the store), e.g. schedule_review."""
    label: Text
    """What the commander is asked to do, e.g. Schedule the post-incident review."""
    within: Duration
    """How long after resolution it is due; the first reminder goes then."""
    repeat_every: MaybeDuration = timedelta(days=1)
    """Remind again at this interval until it is marked done; null: once."""
    severities: tuple[SeverityName, ...] = ()
    """Only for these severities (names or aliases); empty: every severity."""


class Tracker(PolicyModel):
    """Where each new action item is also filed. Tokens come from environment variables
    the policy names (never from the file); base URLs are settings (GITHUB_API_URL,
    JIRA_URL)."""

    kind: Literal["github", "jira", "webhook"]
    """github: an issue in `repo`; jira: an issue in `project` (Cloud REST v3);
    webhook: a JSON POST to `url`."""
    repo: str | None = None
    """github: owner/name."""
    project: str | None = None
    """jira: the project key, e.g. OPS."""
    issue_type: str = "Task"
    """jira: the issue type's name."""
    url: str | None = None
    """webhook: where to POST."""
    token_env: str | None = None
    """The environment variable holding the token (github: a token with issues:write;
    jira: an API token; webhook: sent as a Bearer token, if set)."""
    email_env: str | None = None
    """jira: the environment variable holding the account e-mail the token belongs to."""
    labels: tuple[str, ...] = ()
    """github and jira: labels given to each issue."""

    @model_validator(mode="after")
    def _complete(self) -> Self:
        needs = {"github": ("repo", "token_env"), "jira": ("project", "token_env", "email_env")}
        needs["webhook"] = ("url",)
        missing = [k for k in needs[self.kind] if getattr(self, k) is None]
        if missing:
            raise problem(f"a {self.kind} tracker needs {', '.join(missing)}")
        if self.repo is not None and not re.fullmatch(r"[\w.-]+/[\w.-]+", self.repo):
            raise problem(f'repo "{self.repo}" is not owner/name, e.g. acme/incidents')
        for key in ("token_env", "email_env"):
            value = getattr(self, key)
            if value is not None and not ENV_NAME.fullmatch(value):
                raise problem(
                    f'{key} "{value}" is not an environment variable name, e.g. GITHUB_TOKEN'
                )
        if self.url is not None and not re.match(r"https?://", self.url):
            raise problem(f'url "{self.url}" is not an http(s) URL')
        return self


class FollowThrough(PolicyModel):
    """After the incident: the commander's deadlines, action items and their tracker."""

    steps: tuple[FollowStep, ...] = ()
    """In the order they are owed."""
    remind_owner_before: Duration = timedelta(days=1)
    """An action item's owner is reminded this long before its due date (half way there
    when it was given less time than that)."""
    tracker: Tracker | None = None
    """null: action items stay in the bot."""

    @model_validator(mode="after")
    def _unique(self) -> Self:
        names = [s.name for s in self.steps]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise problem(f'step "{twice[0]}" is listed twice; give each step its own name')
        return self
