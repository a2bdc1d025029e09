"""The incident policy: an organisation's runbook as YAML, validated into a model.

Usage::

    loaded = load_policy("policies/default.yaml")  # PolicyInvalid lists every problem
    loaded.version                                 # sha256 of the file's bytes
    p1 = loaded.policy.severity("sev-1")           # by name or alias, any case
"""

from .durations import format_duration, parse_duration
from .errors import PolicyError, PolicyInvalid
from .loader import LoadedPolicy, load_policy, parse_policy
from .model import Policy
from .permissions import Grant, Permissions
from .sections import (
    Channel,
    Contact,
    Escalation,
    Level,
    Severity,
    Statuses,
    StatusPage,
    Templates,
    When,
)
from .templates import PLACEHOLDERS, render, template_fields

__all__ = [
    "PLACEHOLDERS",
    "Channel",
    "Contact",
    "Escalation",
    "Grant",
    "Level",
    "LoadedPolicy",
    "Permissions",
    "Policy",
    "PolicyError",
    "PolicyInvalid",
    "Severity",
    "StatusPage",
    "Statuses",
    "Templates",
    "When",
    "format_duration",
    "load_policy",
    "parse_duration",
    "parse_policy",
    "render",
    "template_fields",
]
