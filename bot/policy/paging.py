"""Paging services as contacts: PagerDuty (Events API v2) and Opsgenie (Alert API).
The policy names the environment variable that holds the key, never the key itself."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator

from .fields import PolicyModel, problem


def _env_name(value: str) -> str:
    import re

    if not re.fullmatch(r"[A-Z_][A-Z0-9_]{0,127}", value):
        raise problem(
            f'"{value}" is not an environment variable name; write e.g. PAGERDUTY_KEY '
            "(the key itself goes in the environment, never in the policy)"
        )
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]


class PagerDuty(PolicyModel):
    """A PagerDuty service, through its Events API v2 integration."""

    routing_key_env: EnvName
    """The environment variable holding the integration's routing key."""
    severity: Literal["critical", "error", "warning", "info"] = "critical"
    """The PagerDuty severity of the alert."""


class Opsgenie(PolicyModel):
    """An Opsgenie team or integration, through its Alert API."""

    api_key_env: EnvName
    """The environment variable holding the API key (sent as GenieKey)."""
    priority: Literal["P1", "P2", "P3", "P4", "P5"] = "P1"
