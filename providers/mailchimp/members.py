"""Membership calls for one batch against one audience and its tag's static segment: adds
(batch subscribe, then the segment's ``members_to_add``, read back where Mailchimp did not say),
updates (one batch subscribe without status for the batch), removes (``members_to_remove``,
then the ``on_leave`` extra).
The adapter's docstring counts the calls and says why."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from providers.base import Change, ChangeKind, Member, OnLeave, Outcome, OutcomeStatus
from providers.errors import MemberRejected, NotFound, RefusedRequest
from providers.mailchimp.answers import (
    ABSENT,
    ALREADY,
    APPLIED,
    Audience,
    BatchAnswer,
    MemberTags,
    SegmentCount,
    Verdict,
    emails_in,
    error_reason,
    member_errors,
    merge_fields,
    rejected,
    segment_errors,
    subscriber_hash,
)
from providers.mailchimp.calls import TRUE, Calls
from providers.mailchimp.fields import MergeTypes

# A batch subscribe member error on ``status``: the address is not in the audience (an update
# sends no status, so Mailchimp does not create it).
ABSENT_MEMBER = "not in the audience (archived or deleted in Mailchimp)"


class Members:
    """``calls`` of the account; ``audience(list id)`` the audience as read once (its
    ``double_optin``); ``merge_types(list id)`` its merge fields, read once, when a member
    first carries mapped fields."""

    def __init__(
        self,
        calls: Calls,
        audience: Callable[[str], Audience],
        merge_types: Callable[[str], MergeTypes] | None = None,
    ) -> None:
        self.calls = calls
        self.lists = calls.lists
        self.audience = audience
        self.merge_types = merge_types

    def fields(self, list_id: str, member: Member, *, clear: bool = False) -> dict[str, str]:
        """FNAME/LNAME (``clear``: "" for a missing name) and the member's mapped fields, each
        formatted for its merge field's type."""
        names = merge_fields(Member(member.email, "", member.first_name, member.last_name),
                             clear=clear)  # fmt: skip
        if member.merge_fields:
            if self.merge_types is None:
                names.update(member.merge_fields)
            else:
                names.update(self.merge_types(list_id).format(member.merge_fields))
        return names

    def apply(
        self, list_id: str, on_leave: OnLeave, seg: str, changes: Sequence[Change]
    ) -> list[Outcome]:
        groups: dict[ChangeKind, dict[str, Member]] = {k: {} for k in ChangeKind}
        for change in changes:
            groups[change.kind].setdefault(change.member.email.strip().lower(), change.member)
        verdicts: dict[tuple[ChangeKind, str], Verdict] = {}
        if groups[ChangeKind.REMOVE]:
            found = self.remove(list_id, seg, list(groups[ChangeKind.REMOVE]), on_leave)
            verdicts.update({(ChangeKind.REMOVE, e): v for e, v in found.items()})
        if groups[ChangeKind.ADD]:
            found = self.add(list_id, seg, groups[ChangeKind.ADD])
            verdicts.update({(ChangeKind.ADD, e): v for e, v in found.items()})
        if groups[ChangeKind.UPDATE]:
            found = self.update_many(list_id, groups[ChangeKind.UPDATE])
            verdicts.update({(ChangeKind.UPDATE, e): v for e, v in found.items()})
        outcomes = []
        for change in changes:
            v = verdicts[(change.kind, change.member.email.strip().lower())]
            outcomes.append(Outcome(change, v.status, v.reason, v.retryable))
        return outcomes

    def add(self, list_id: str, seg: str, members: dict[str, Member]) -> dict[str, Verdict]:
        double = self.audience(list_id).double_optin
        body = {
            "members": [
                self.new_member(m, double, self.fields(list_id, m)) for m in members.values()
            ],
            "update_existing": False,
        }
        answer = self.calls.answer(
            BatchAnswer,
            f"POST /lists/{list_id}",
            lambda: self.lists.batch_list_members(list_id, body, skip_merge_validation=TRUE),
        )
        verdicts: dict[str, Verdict] = {}
        existing: dict[str, Member] = {}
        for email, (code, reason) in member_errors(answer).items():
            if email in members and code != "ERROR_CONTACT_EXISTS":
                verdicts[email] = rejected(reason)
            elif email in members and members[email].merge_fields:
                existing[email] = members[email]
        if existing:  # contacts already there get the mapped fields (never a status)
            for email, verdict in self.update_many(list_id, existing, names=False).items():
                if verdict.status is not OutcomeStatus.APPLIED:
                    verdicts[email] = verdict
        to_tag = [e for e in members if e not in verdicts]
        if not to_tag:
            return verdicts
        tagged = self.calls.segment(
            list_id, seg, {"members_to_add": [members[e].email for e in to_tag]}
        )
        added = emails_in(tagged.members_added)
        refused = segment_errors(tagged)
        unanswered: list[str] = []
        for email in to_tag:
            if email in added:
                verdicts[email] = APPLIED
            elif email in refused:
                already = ALREADY.search(refused[email])
                verdicts[email] = APPLIED if already else rejected(refused[email])
            else:
                unanswered.append(email)
        verdicts.update(self.verify_tags(list_id, seg, unanswered))
        return verdicts

    def verify_tags(self, list_id: str, seg: str, emails: list[str]) -> dict[str, Verdict]:
        """Ask Mailchimp whether each address carries the tag (the segment call did not say;
        a replay after a crash meets members already tagged). One read per address, or one
        paged read of the tag's members when that takes fewer calls."""
        if len(emails) <= 2:
            return {e: self.verify_tag(list_id, seg, e) for e in emails}
        info = self.calls.answer(
            SegmentCount,
            f"GET /lists/{list_id}/segments/{seg}",
            lambda: self.lists.get_segment(list_id, seg, fields=["member_count"]),
        )
        pages = -(-info.member_count // self.calls.page_size)
        if pages >= len(emails):
            return {e: self.verify_tag(list_id, seg, e) for e in emails}
        wanted = set(emails)
        found = {e for e in self.calls.segment_emails(list_id, seg) if e in wanted}
        missing = rejected("Mailchimp did not confirm the tag", retryable=True)
        return {e: APPLIED if e in found else missing for e in emails}

    @staticmethod
    def new_member(
        member: Member, double_optin: bool, fields: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        status = "transactional"
        if member.consent:
            status = "pending" if double_optin else "subscribed"
        entry: dict[str, Any] = {"email_address": member.email, "status": status}
        fields = merge_fields(member) if fields is None else fields
        if fields:
            entry["merge_fields"] = fields
        return entry

    def verify_tag(self, list_id: str, seg: str, email: str) -> Verdict:
        """Ask Mailchimp whether ``email`` carries the tag (the segment call did not say)."""
        try:
            member = self.calls.answer(
                MemberTags,
                f"GET /lists/{list_id}/members/{subscriber_hash(email)}",
                lambda: self.lists.get_list_member(
                    list_id, subscriber_hash(email), fields=["email_address", "status", "tags"]
                ),
            )
        except NotFound:
            return rejected("not in the audience after the add", retryable=True)
        if any(str(t.id) == seg for t in member.tags):
            return APPLIED
        return rejected("Mailchimp did not confirm the tag", retryable=True)

    def update_many(
        self, list_id: str, members: Mapping[str, Member], *, names: bool = True
    ) -> dict[str, Verdict]:
        """One batch subscribe, ``update_existing`` and no ``status`` (so no member's
        subscription changes and none is created): names ("" clears one; not with ``names``
        false) and mapped fields. Mailchimp's per-member errors are rejections with its words."""

        def values(m: Member) -> dict[str, str]:
            if names:
                return self.fields(list_id, m, clear=True)
            return self.fields(list_id, Member(m.email, "", merge_fields=m.merge_fields))

        body = {
            "members": [
                {"email_address": m.email, "merge_fields": values(m)} for m in members.values()
            ],
            "update_existing": True,
        }
        answer = self.calls.answer(
            BatchAnswer,
            f"POST /lists/{list_id}",
            lambda: self.lists.batch_list_members(list_id, body, skip_merge_validation=TRUE),
        )
        verdicts = dict.fromkeys(members, APPLIED)
        for err in answer.errors:
            email = err.email_address.lower()
            if email in verdicts:
                absent = (err.field or "").lower() == "status"
                verdicts[email] = rejected(ABSENT_MEMBER if absent else error_reason(err))
        return verdicts

    def update(self, list_id: str, member: Member) -> Verdict:
        body = {"merge_fields": self.fields(list_id, member, clear=True)}
        try:
            self.calls.call(
                f"PATCH /lists/{list_id}/members/{subscriber_hash(member.email)}",
                lambda: self.lists.update_list_member(
                    list_id, subscriber_hash(member.email), body, skip_merge_validation=TRUE
                ),
            )
        except NotFound:
            return rejected("not in the audience (archived or deleted in Mailchimp)")
        except (MemberRejected, RefusedRequest) as err:
            if err.status != 400:
                raise
            return rejected(err.message)
        return APPLIED

    def remove(
        self, list_id: str, seg: str, emails: list[str], on_leave: OnLeave
    ) -> dict[str, Verdict]:
        answer = self.calls.segment(list_id, seg, {"members_to_remove": emails})
        removed = emails_in(answer.members_removed)
        refused = segment_errors(answer)
        verdicts: dict[str, Verdict] = {}
        for email in emails:
            reason = refused.get(email)
            if email in removed or reason is None or ABSENT.search(reason):
                verdicts[email] = APPLIED  # untagged, or never tagged / not in the audience
            else:
                verdicts[email] = rejected(reason, retryable=True)
        done = [e for e in emails if verdicts[e].status is OutcomeStatus.APPLIED]
        if done and on_leave is OnLeave.UNSUBSCRIBE:
            absent = {e for e in done if e in refused}  # "not a member of this list"
            verdicts.update(self.unsubscribe(list_id, [e for e in done if e in removed]))
            for email in done:
                if email not in removed and email not in absent:
                    verdicts[email] = self.unsubscribe_one(list_id, email)
        elif done and on_leave is OnLeave.ARCHIVE:
            verdicts.update({e: self.archive(list_id, e) for e in done})
        return verdicts

    def unsubscribe(self, list_id: str, emails: list[str]) -> dict[str, Verdict]:
        """One batch call for members just untagged (so they exist: ``update_existing`` would
        create an absent address as an unsubscribed member)."""
        if not emails:
            return {}
        body = {
            "members": [{"email_address": e, "status": "unsubscribed"} for e in emails],
            "update_existing": True,
        }
        answer = self.calls.answer(
            BatchAnswer,
            f"POST /lists/{list_id}",
            lambda: self.lists.batch_list_members(list_id, body),
        )
        return {
            email: rejected(f"untagged, but not unsubscribed: {reason}")
            for email, (_code, reason) in member_errors(answer).items()
            if email in emails
        }

    def unsubscribe_one(self, list_id: str, email: str) -> Verdict:
        """A member the segment call did not untag: ``PATCH`` (never creates; 404 = absent,
        nothing to unsubscribe)."""
        try:
            self.calls.call(
                f"PATCH /lists/{list_id}/members/{subscriber_hash(email)}",
                lambda: self.lists.update_list_member(
                    list_id, subscriber_hash(email), {"status": "unsubscribed"}
                ),
            )
        except NotFound:
            return APPLIED
        except (MemberRejected, RefusedRequest) as err:
            if err.status != 400:
                raise
            return rejected(f"untagged, but not unsubscribed: {err.message}")
        return APPLIED

    def archive(self, list_id: str, email: str) -> Verdict:
        try:
            self.calls.call(
                f"DELETE /lists/{list_id}/members/{subscriber_hash(email)}",
                lambda: self.lists.delete_list_member(list_id, subscriber_hash(email)),
            )
        except NotFound:
            return APPLIED  # already archived or never there
        except (MemberRejected, RefusedRequest) as err:
            if err.status != 400:
                raise
            return rejected(f"untagged, but not archived: {err.message}")
        return APPLIED
