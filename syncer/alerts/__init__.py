"""Alerts: failed, partial, STALE, rejection spikes and recoveries to webhooks, Slack and email."""
