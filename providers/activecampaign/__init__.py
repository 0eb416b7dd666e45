"""ActiveCampaign API v3: a destination is (list id, tag name); membership is carrying the tag.

    provider.py   the adapter: account, discovery, tags, one-member upserts, removes
    bulk.py       the bulk importer path (and ``confirm`` of imports still running)
    errors.py     ActiveCampaign's error shapes -> the provider error tree

Calls, and why (5 requests/s per account is the whole budget, so calls are what we count):

* ADD and UPDATE go through the bulk importer when a batch holds at least ``bulk_min`` (10, the
  documented suggested minimum) of them: 1 import + 1 status poll (more while it runs) + 1 id
  page per 100 contacts, so 250 adds cost 5 calls (0.02 a member). See ``bulk.py``.
* Fewer than ``bulk_min``: one member at a time: ``POST /contact/sync`` (contact id),
  ``GET /contacts/{id}/contactLists`` (never overwrite a status: an unsubscribed contact stays
  unsubscribed), ``POST /contactLists`` status 1 only when the contact is not in the list at all
  and has consent, ``POST /contactTags`` (association id): 3-4 calls, ``c=<id>;ct=<assoc id>``.
  UPDATE alone: 1 call.
* REMOVE: there is no bulk tag removal, so one ``DELETE /contactTags/{association id}`` per member
  (never the tag id). Without a stored association id, ``GET /contacts/{id}/contactTags`` first
  (2 calls; 3 with ``GET /contacts?email=`` when the contact id is unknown too). Reading the
  association ids at add time would cost that call for every member, not only the leavers, so
  the lookup is deferred to the remove. A 404 (already gone) is success. Before the first
  lookup of a batch, ``GET /tags/{id}`` checks the cached tag id (+1 call a batch): a tag deleted
  in the UI and created again (the bulk importer adds tags by name) has a new id, and filtering
  associations by the old one would find nothing and look like success.
* A cached tag id answering NotFound (tag deleted in the UI while the process runs) is forgotten,
  the tag found or created again and the call retried once (``with_tag``); a second NotFound is
  raised.
* on_leave ``unsubscribe``: ``GET /contacts/{id}/contactLists``, then ``POST /contactLists``
  status 2 only for a contact on the list and not unsubscribed yet (+1-2 calls): status 2 for a
  contact never on the list would add it, as unsubscribed. ``archive``: there is
  no per-list archive in ActiveCampaign (only deleting the contact, which Syncer never does), so
  it raises Unsupported from ``ensure_tag`` (destination setup) and ``apply_batch``.

So 10,000 adds cost 40 imports + 40 status polls + 120 id pages (3 per import of 250) = 200
calls (measured against the emulator; the minimum is 40: 250 contacts per import; the polls
settle each member from the importer's own answer, the id pages save one lookup per later
remove), and 2,000 removes after them 4,008 calls (association lookup + delete, + 1 tag check
per batch of 250; the minimum is 2,000 deletes, reached only for members added one at a time,
whose association id is stored): 4,208 calls, about 14 minutes at 5 requests/s.

Members without consent are created and tagged but not added to the list (the list statuses the
API documents are subscribed and unsubscribed only). ``merge_fields`` keys are custom field ids
or personalization tags (``GET /fields``, read once when first needed).

Unconfirmed: whether ``failureReasons[].contact`` counts from 0 or 1 (handled either way, see
``bulk.py``); the import status while running (anything but "completed" counts as running);
whether ``POST /contactTags`` for a tag the contact already carries answers 422 or the existing
association (both handled); ``GET /contacts/{id}/contactTags`` is in the public reference but not
in the OpenAPI copy under provider-specs.
"""

from __future__ import annotations

from providers.activecampaign.errors import ImportRefused, classify, error_reason
from providers.activecampaign.provider import ActiveCampaign
from providers.refs import make_ref, parse_ref

__all__ = ["ActiveCampaign", "ImportRefused", "classify", "error_reason", "make_ref", "parse_ref"]
