"""What an operator sees: start-up checks, the self-check, /healthz, /metrics, the logs."""
