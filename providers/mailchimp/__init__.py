"""Mailchimp Marketing API v3 through the official SDK: ``Mailchimp`` (``adapter``: account,
discovery, tags), ``members`` (the membership calls of a batch), ``calls`` (the SDK bound to one
account, paging), ``client`` (the SDK's transport and error translation)."""

from __future__ import annotations

from providers.mailchimp.adapter import Mailchimp

__all__ = ["Mailchimp"]
