"""What the worker shows of itself: Prometheus metrics, a health check, and its JSON log lines."""
