"""Calls to paging services (PagerDuty Events API v2, Opsgenie Alert API) for the
outbox's paging rows (bot/incidents/alerts.py writes them)."""
