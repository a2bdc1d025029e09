"""Settings come from the environment exactly as PRODUCT.md names them; serve fails clearly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import DEFAULT_DATABASE_URL, DEFAULT_SLACK_API_URL, Settings, SettingsError

ROOT = Path(__file__).resolve().parent.parent


def run_bot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    base.pop("INCIDENT_POLICY", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s.slack_api_url == DEFAULT_SLACK_API_URL
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.policy_path == "policies/default.yaml"
    assert s.port == 3000 and not s.socket_mode


def test_every_variable_is_read() -> None:
    s = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-a",
            "SLACK_SIGNING_SECRET": "sec",
            "SLACK_APP_TOKEN": "xapp-b",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "DATABASE_URL": "postgresql+asyncpg://u:pw@h/db",
            "INCIDENT_POLICY": "p.yaml",
            "PORT": "8080",
            "INCIDENT_CLAIM_LEASE": "30",
            "LOG_FORMAT": "JSON",
            "HEARTBEAT_URL": "https://hc.example/ping/k3y",
            "INCIDENT_SELF_CHECK_EVERY": "15",
            "INCIDENT_OVERDUE_AFTER": "300",
        }
    )
    assert (s.slack_bot_token, s.slack_signing_secret, s.slack_app_token) == (
        "xoxb-a",
        "sec",
        "xapp-b",
    )
    assert s.slack_api_url == "http://127.0.0.1:9/api/"
    assert s.policy_path == "p.yaml" and s.port == 8080 and s.socket_mode
    assert s.claim_lease == 30.0
    assert s.log_format == "json" and s.heartbeat_url == "https://hc.example/ping/k3y"
    assert s.self_check_every == 15.0 and s.overdue_after == 300.0
    assert "k3y" not in repr(s)
    assert "pw" not in repr(s) and "xoxb-a" not in repr(s) and "sec'" not in repr(s)


def test_bad_port_is_a_clear_error() -> None:
    with pytest.raises(SettingsError, match="PORT"):
        Settings.from_env({"PORT": "eighty"})


@pytest.mark.parametrize("lease", ["0", "-5", "soon", "nan"])
def test_bad_claim_lease_is_a_clear_error(lease: str) -> None:
    with pytest.raises(SettingsError, match="INCIDENT_CLAIM_LEASE"):
        Settings.from_env({"INCIDENT_CLAIM_LEASE": lease})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOG_FORMAT", "xml"),
        ("HEARTBEAT_URL", "hc.example/ping"),
        ("INCIDENT_SELF_CHECK_EVERY", "0"),
        ("INCIDENT_OVERDUE_AFTER", "soon"),
    ],
)
def test_bad_operations_settings_are_clear_errors(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_serve_without_tokens_says_what_to_set_and_exits_2() -> None:
    r = run_bot("serve")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "SLACK_BOT_TOKEN" in lines[0] and "SLACK_SIGNING_SECRET" in lines[0]
    assert "api.slack.com/apps" in lines[0] and "Traceback" not in r.stderr


def test_serve_socket_mode_needs_an_app_token() -> None:
    r = run_bot("serve", env={"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_APP_TOKEN": "not-an-app-token"})
    assert r.returncode == 2 and "xapp-" in r.stderr and "Traceback" not in r.stderr


def test_serve_refuses_a_broken_policy(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nseverities: [\n")
    r = run_bot(
        "serve",
        env={"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s", "INCIDENT_POLICY": str(bad)},
    )
    assert r.returncode == 1 and str(bad) in r.stderr and "Traceback" not in r.stderr


def test_validate_shipped_policy() -> None:
    r = run_bot("validate", "policies/default.yaml")
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout


def test_validate_broken_policy_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nnot_a_field: 1\n")
    r = run_bot("validate", str(bad))
    assert r.returncode == 1 and f"{bad}:" in r.stderr
