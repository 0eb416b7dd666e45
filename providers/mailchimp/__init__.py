"""Mailchimp Marketing API v3 through the official SDK: ``Mailchimp`` (the adapter), and
``client`` (the SDK's transport and error translation)."""

from __future__ import annotations

from providers.mailchimp.adapter import Mailchimp

__all__ = ["Mailchimp"]
