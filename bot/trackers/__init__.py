"""Filing action items in an issue tracker (GitHub issues, Jira, a generic webhook):
the sender of the outbox's `file_issue` rows (bot/incidents/action_items.py)."""
