"""Sendlane API v2: a destination is (list id, tag name); membership is carrying the tag.

    provider.py   the adapter: account, discovery, tags, adds, confirm, removes
    (options: ``batch_size``, contacts a list call, default 100; ``concurrency``, batches in
    flight, 1 to 4, default 2)
    errors.py     Sendlane's error shapes -> the provider error tree

Calls, and why (240 requests a minute per account; no bulk tag removal exists):

* ADD and UPDATE: ``POST /lists/{list_id}/contacts {contacts: [...]}``, ``batch_size`` contacts a
  call (default 100: the documented maximum per call is **unconfirmed**, hence a setting), each
  with ``tag_ids: [tag]``. The answer is 202 Accepted, queued, with no per-contact result, so the
  outcomes are ACCEPTED; ``confirm`` reads back who carries the tag (``GET /tags/{id}/contacts``,
  100 a page, read once and shared by every ``confirm`` call until the next add or ``cache_ttl``)
  and settles those found as APPLIED with their contact id (``c=<id>``); the others stay ACCEPTED
  and are confirmed on the next run. A 422 keyed ``contacts.N.field`` (validation errors are keyed
  by attribute) rejects those members; the rest is sent again.
* Consent, and never re-subscribing: ``email_consent: true`` is sent only for an ADD whose member
  consents; it is never sent false (that could unsubscribe an existing contact) and never for an
  UPDATE. Whether adding an existing unsubscribed contact to a list (with ``email_consent``)
  re-subscribes it is **not documented**, so members in the list's unsubscribed set (``GET
  /lists/{id}/unsubscribed``) or the account-wide one (``GET /contacts/unsubscribed``), each read
  once per ``cache_ttl``, are never sent to the list endpoint and never get ``email_consent``:
  they get the tag with ``POST /contacts/{id}/tags`` (and custom fields with ``POST
  /contacts/{id}/custom-fields``; their names are left as they are: the API has no other contact
  update). **Unconfirmed**: whether ``email_consent: true`` changes anything for an existing
  contact that is subscribed (it is still sent for those: only the unsubscribed are known
  without a per-contact lookup), and whether ``/contacts/unsubscribed`` lists every account-wide
  unsubscribe. Memory: the two sets are held per ``cache_ttl`` (about 100 bytes a contact), not
  per batch: the API filters neither by email, and the only per-contact lookup (``GET
  /contacts/search``) costs one call a member, which would double a 10,000-add run (100 list
  calls -> 10,100) under a 240-a-minute budget. The same holds for the tag's carriers that
  ``confirm`` reads back (email -> contact id, shared by every confirm chunk of a run): reading
  them again per chunk of 100 would make confirming N members cost N/100 full reads.
* UPDATE has no endpoint of its own (there is no contact update in v2), so names and custom fields
  go through the same list endpoint, without ``email_consent``.
* REMOVE: ``DELETE /contacts/{contact_id}/tags/{tag_id}`` (the tag's id), 1 call with a stored
  contact id, 2 without (``GET /contacts/search`` by email first). 404 = already gone: success.
  on_leave ``unsubscribe``: ``POST /contacts/{id}/unsubscribe`` (+1 call; the API names no list,
  so this is probably an account-wide unsubscribe: **unconfirmed**); ``archive``: leave the list,
  ``DELETE /lists/{list_id}/contacts/{contact_id}`` (+1 call; the contact itself is kept).
* A tag deleted in the UI while the process runs: a cached tag id answering 404 (tag reads) or
  a 422 keyed ``tag_ids`` (adds) is forgotten, the tag found or created again and the call
  retried once (``with_tag``); a second failure is raised. A removal answering 404 needs no
  retry: nothing carries a deleted tag.
* 401 (possibly an HTML page) is AuthenticationFailed; a 403 saying the account is blocked after
  many errors is RateLimited (retried with backoff, then the run ends partial), any other 403 is
  AuthenticationFailed; 429 comes without Retry-After: exponential backoff with jitter.

So 10,000 adds cost 100 list calls + 1 page each of the list's and the account's unsubscribed
sets + 100 read-back pages (one per 100 tag carriers) = 202 calls (measured against the
emulator; the minimum is 100 at 100 a call, or fewer if Sendlane takes more per call), and
2,000 removes after them 2,000 deletes (contact ids come from the read-back): the minimum, as
there is no bulk untag. 2,202 calls, about
9 minutes at 4 requests/s. A contact added without ``email_consent`` (members without consent,
when the destination sends them) is created on the list; whether Sendlane then counts it as
subscribed is **unconfirmed**. A member that Sendlane drops silently (nothing is reported per
contact) stays ACCEPTED and is looked for again at every confirm. A member who leaves while
still ACCEPTED is not removed yet: the sync engine holds the remove until the add is read back
(docs/providers.md, "Queued adds").
"""

from __future__ import annotations

from providers.refs import parse_ref
from providers.sendlane.errors import ValidationFailed, classify, reason_of
from providers.sendlane.provider import BASE_URL, DEFAULT_BATCH, Sendlane

__all__ = [
    "BASE_URL",
    "DEFAULT_BATCH",
    "Sendlane",
    "ValidationFailed",
    "classify",
    "parse_ref",
    "reason_of",
]
