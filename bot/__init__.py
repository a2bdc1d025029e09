"""Incident-response bot for Slack: runs your runbook, written as YAML."""
