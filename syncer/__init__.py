"""Syncer: keeps email-provider audiences equal to segments of a commerce database."""

__version__ = "0.1.0"
