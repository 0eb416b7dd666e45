"""The Mailchimp emulator's member routes (batch subscribe, members, member tags) and helpers.

Split from ``emulators.mailchimp`` (which documents sources and unconfirmed facts);
``MailchimpEmulator`` inherits these routes.
"""

from __future__ import annotations

from typing import Any

from emulators.base import Emulator, Reply, Request
from emulators.mailchimp_model import (
    COMPLIANCE_STATES,
    EMAIL,
    STATUSES,
    Audience,
    Member,
    Segment,
    compliance_message,
    csv_arg,
    fake_email_message,
    forgotten_message,
    invalid,
    now,
    problem,
    project,
    subscriber_hash,
    truthy,
)

MAX_PAGE = 1000
MAX_BATCH = 500
V3 = r"/3\.0"
LIST = V3 + r"/lists/(?P<list_id>[^/]+)"
MEMBER = LIST + r"/members/(?P<hash>[^/]+)"
NOT_FOUND = "The requested resource could not be found."
NOT_VALID = (
    "The resource submitted could not be validated. "
    "For field-specific details, see the 'errors' array."
)


def member_error(
    email: str, message: str, code: str = "ERROR_GENERIC", **extra: str
) -> dict[str, str]:
    """One entry of a batch subscribe's ``errors``."""
    return {"email_address": email, "error": message, "error_code": code} | extra


class MemberRoutes(Emulator):
    """Members of an audience; the state lives in ``audiences`` (set up by the subclass)."""

    audiences: dict[str, Audience]
    _required: set[str]
    _next_segment: int

    # -- helpers shared with the audience and segment routes -------------------------------

    def _tag(self, audience: Audience, name: str) -> Segment:
        seg = audience.segment_by_name(name)
        if seg is None:
            seg = Segment(self._next_segment, name)
            self._next_segment += 1
            audience.segments[seg.id] = seg
        return seg

    def _ok(self, req: Request, body: Any) -> Reply:
        fields = csv_arg(req.query.get("fields"))
        exclude = csv_arg(req.query.get("exclude_fields"))
        return Reply(200, project(body, fields, exclude), content_type="application/json")

    def _page(self, req: Request, items: list[Any]) -> list[Any] | Reply:
        try:
            count = req.int_arg("count", 10)
            offset = req.int_arg("offset", 0)
        except ValueError:
            return invalid("count and offset must be integers.")
        if count < 0 or count > MAX_PAGE or offset < 0:
            return invalid(
                "The resource submitted could not be validated.",
                [{"field": "count", "message": f"count must be between 0 and {MAX_PAGE}."}],
            )
        return items[offset : offset + count]

    def _audience(self, req: Request) -> Audience | Reply:
        audience = self.audiences.get(req.params["list_id"])
        if audience is None:
            return problem(404, NOT_FOUND)
        return audience

    def _segment(self, audience: Audience, raw_id: str, status: int = 404) -> Segment | Reply:
        seg = audience.segments.get(int(raw_id)) if raw_id.isdigit() else None
        if seg is not None:
            return seg
        if status == 404:
            return problem(404, NOT_FOUND)
        return invalid(f'A Static Segment with an id of "{raw_id}" does not exist for this list.')

    def _refusal(
        self, audience: Audience, email: str, status: str | None
    ) -> tuple[str, str] | None:
        """(title, detail) when ``email`` may not get ``status``; None when it may."""
        kind = self.faults.reject.get(email.lower())
        if kind == "forgotten":
            return "Forgotten Email Not Subscribed", forgotten_message(email)
        if kind == "compliance":
            return "Member In Compliance State", compliance_message(email)
        if kind is not None or not EMAIL.match(email):
            return "Invalid Resource", fake_email_message(email)
        existing = audience.member(email)
        if (
            existing is not None
            and status in ("subscribed", "pending")
            and existing.status in COMPLIANCE_STATES
        ):
            return "Member In Compliance State", compliance_message(email)
        return None

    def _missing_fields(self, merge_fields: Any, skip: bool) -> list[dict[str, str]]:
        if skip:
            return []
        given = merge_fields if isinstance(merge_fields, dict) else {}
        return [
            {"field": tag, "message": "Please enter a value"}
            for tag in sorted(self._required)
            if not str(given.get(tag) or "").strip()
        ]

    @staticmethod
    def _bad_values(audience: Audience, merge_fields: Any) -> list[dict[str, str]]:
        """Merge field values that do not fit their field's type (``MergeField.problem``);
        tags the audience does not have are ignored."""
        given = merge_fields if isinstance(merge_fields, dict) else {}
        by_tag = {f.tag.upper(): f for f in audience.merge_fields}
        found = []
        for tag, value in given.items():
            spec = by_tag.get(str(tag).upper())
            why = spec.problem(value) if spec is not None else None
            if why is not None:
                found.append({"field": str(tag), "message": why})
        return found

    @staticmethod
    def _apply(member: Member, body: dict[str, Any], status: str | None) -> None:
        if isinstance(body.get("merge_fields"), dict):
            member.merge_fields.update(body["merge_fields"])
        if status is not None:
            member.status = status
        member.archived = False
        member.last_changed = now()

    # -- batch subscribe ------------------------------------------------------------------

    @Emulator.route("POST", LIST + r"/?")
    def batch_subscribe(self, req: Request) -> Reply:
        audience = self._audience(req)
        if isinstance(audience, Reply):
            return audience
        body = req.body
        members = body.get("members") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(members, list):
            return invalid(NOT_VALID, [{"field": "members", "message": "Required array."}])
        if len(members) > MAX_BATCH:
            message = f"Up to {MAX_BATCH} members may be added or updated in one call."
            return invalid(NOT_VALID, [{"field": "members", "message": message}])
        for i, m in enumerate(members):
            if not isinstance(m, dict) or not isinstance(m.get("email_address"), str):
                field = f"members.item:{i}.email_address"
                return invalid(NOT_VALID, [{"field": field, "message": "Required string."}])
            if m.get("status") is not None and m.get("status") not in STATUSES:
                field = f"members.item:{i}.status"
                return invalid(NOT_VALID, [{"field": field, "message": "Not an allowed value."}])
        update = bool(body.get("update_existing"))
        skip = truthy(req.arg("skip_merge_validation"))
        new: list[dict[str, Any]] = []
        updated: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for m in members:
            kind, entry = self._subscribe_one(audience, m, update, skip)
            {"new": new, "updated": updated, "error": errors}[kind].append(entry)
        return self._ok(
            req,
            {
                "new_members": new,
                "updated_members": updated,
                "errors": errors,
                "total_created": len(new),
                "total_updated": len(updated),
                "error_count": len(errors),
                "_links": [],
            },
        )

    def _subscribe_one(
        self, audience: Audience, m: dict[str, Any], update: bool, skip: bool
    ) -> tuple[str, dict[str, Any]]:
        """("new" | "updated", member view) or ("error", error entry) for one batch member."""
        email, status = m["email_address"].strip(), m.get("status")
        existing = audience.present(email)
        if existing is not None and not update:
            message = (
                f"{email} is already a list member, do you want to update? please provide "
                "update_existing:true in the request body"
            )
            return "error", member_error(email, message, "ERROR_CONTACT_EXISTS")
        refusal = self._refusal(audience, email, status)
        if refusal is not None:
            return "error", member_error(
                email, refusal[1], field="email_address", field_message=refusal[0]
            )
        bad = self._bad_values(audience, m.get("merge_fields"))
        if bad:
            return "error", member_error(
                email,
                "Your merge fields were invalid.",
                field=bad[0]["field"],
                field_message=bad[0]["message"],
            )
        if existing is not None:
            self._apply(existing, m, status)
            return "updated", audience.member_view(existing)
        if status is None:
            message = "A status is required for a new member."
            return "error", member_error(email, message, field="status", field_message="Required")
        missing = self._missing_fields(m.get("merge_fields"), skip)
        if missing:
            return "error", member_error(
                email,
                "Your merge fields were invalid.",
                field=missing[0]["field"],
                field_message=missing[0]["message"],
            )
        member = audience.member(email) or Member(email, status)
        audience.members[member.id] = member
        self._apply(member, m, status)
        return "new", audience.member_view(member)

    # -- one member -----------------------------------------------------------------------

    def _member(self, req: Request) -> tuple[Audience, Member] | Reply:
        audience = self._audience(req)
        if isinstance(audience, Reply):
            return audience
        member = audience.member(req.params["hash"])
        if member is None:
            return problem(404, NOT_FOUND)
        return audience, member

    @Emulator.route("GET", LIST + r"/members/?")
    def get_members(self, req: Request) -> Reply:
        audience = self._audience(req)
        if isinstance(audience, Reply):
            return audience
        wanted = req.arg("status")
        members = [
            m
            for m in audience.members.values()
            if (m.archived if wanted == "archived" else not m.archived)
            and wanted in (None, "", "archived", m.status)
        ]
        page = self._page(req, members)
        if isinstance(page, Reply):
            return page
        views = [audience.member_view(m) for m in page]
        body = {"members": views, "list_id": audience.id, "total_items": len(members)}
        return self._ok(req, body)

    @Emulator.route("POST", LIST + r"/members/?")
    def add_member(self, req: Request) -> Reply:
        audience = self._audience(req)
        if isinstance(audience, Reply):
            return audience
        body = req.body if isinstance(req.body, dict) else {}
        email = body.get("email_address")
        if not isinstance(email, str) or body.get("status") not in STATUSES:
            return invalid(NOT_VALID, [{"field": "email_address/status", "message": "Required."}])
        if audience.present(email) is not None:
            return problem(
                400,
                f"{email} is already a list member. Use PUT to insert or update list members.",
                "Member Exists",
            )
        return self._create(req, audience, email, body, str(body["status"]))

    def _create(
        self, req: Request, audience: Audience, email: str, body: dict[str, Any], status: str
    ) -> Reply:
        refusal = self._refusal(audience, email, status)
        if refusal is not None:
            return problem(400, refusal[1], refusal[0])
        missing = self._missing_fields(
            body.get("merge_fields"), truthy(req.arg("skip_merge_validation"))
        )
        missing += self._bad_values(audience, body.get("merge_fields"))
        if missing:
            return invalid("Your merge fields were invalid.", missing)
        member = audience.member(email) or Member(email, status)
        audience.members[member.id] = member
        self._apply(member, body, status)
        return self._ok(req, audience.member_view(member))

    @Emulator.route("GET", MEMBER + r"/?")
    def get_member(self, req: Request) -> Reply:
        found = self._member(req)
        if isinstance(found, Reply):
            return found
        audience, member = found
        return self._ok(req, audience.member_view(member))

    @Emulator.route("PUT", MEMBER + r"/?")
    def put_member(self, req: Request) -> Reply:
        audience = self._audience(req)
        if isinstance(audience, Reply):
            return audience
        body = req.body if isinstance(req.body, dict) else {}
        email = body.get("email_address")
        status_if_new = body.get("status_if_new")
        if not isinstance(email, str) or status_if_new not in STATUSES:
            return invalid(
                NOT_VALID,
                [{"field": "email_address/status_if_new", "message": "Required for PUT."}],
            )
        status = body.get("status")
        if status is not None and status not in STATUSES:
            return invalid(NOT_VALID, [{"field": "status", "message": "Not an allowed value."}])
        if subscriber_hash(email) != req.params["hash"].lower():
            return problem(
                400,
                f"The subscriber hash in the URL is not the MD5 of the lower-cased {email}.",
                "Member Exists",
            )
        existing = audience.present(email)
        if existing is None:
            return self._create(req, audience, email, body, str(status or status_if_new))
        if status is not None:
            refusal = self._refusal(audience, email, status)
            if refusal is not None:
                return problem(400, refusal[1], refusal[0])
        bad = self._bad_values(audience, body.get("merge_fields"))
        if bad:
            return invalid("Your merge fields were invalid.", bad)
        self._apply(existing, body, status)
        return self._ok(req, audience.member_view(existing))

    @Emulator.route("PATCH", MEMBER + r"/?")
    def patch_member(self, req: Request) -> Reply:
        found = self._member(req)
        if isinstance(found, Reply):
            return found
        audience, member = found
        if member.archived:
            return problem(404, NOT_FOUND)
        body = req.body if isinstance(req.body, dict) else {}
        status = body.get("status")
        if status is not None:
            if status not in STATUSES or status == "transactional":
                return invalid(NOT_VALID, [{"field": "status", "message": "Not allowed."}])
            refusal = self._refusal(audience, member.email, status)
            if refusal is not None:
                return problem(400, refusal[1], refusal[0])
        bad = self._bad_values(audience, body.get("merge_fields"))
        if bad:
            return invalid("Your merge fields were invalid.", bad)
        self._apply(member, body, status)
        return self._ok(req, audience.member_view(member))

    @Emulator.route("DELETE", MEMBER + r"/?")
    def archive_member(self, req: Request) -> Reply:
        found = self._member(req)
        if isinstance(found, Reply):
            return found
        _audience, member = found
        if member.archived:
            return problem(404, NOT_FOUND)
        member.archived = True
        member.last_changed = now()
        return Reply(204)

    # -- member tags ----------------------------------------------------------------------

    @Emulator.route("GET", MEMBER + r"/tags/?")
    def get_member_tags(self, req: Request) -> Reply:
        found = self._member(req)
        if isinstance(found, Reply):
            return found
        audience, member = found
        tags = [
            {"id": s.id, "name": s.name, "date_added": s.created_at}
            for t in sorted(member.tags)
            if (s := audience.segments.get(t)) is not None
        ]
        page = self._page(req, tags)
        if isinstance(page, Reply):
            return page
        return self._ok(req, {"tags": page, "total_items": len(tags)})

    @Emulator.route("POST", MEMBER + r"/tags/?")
    def post_member_tags(self, req: Request) -> Reply:
        found = self._member(req)
        if isinstance(found, Reply):
            return found
        audience, member = found
        if member.archived:
            return problem(404, NOT_FOUND)
        tags = req.body.get("tags") if isinstance(req.body, dict) else None
        valid = isinstance(tags, list) and all(
            isinstance(t, dict)
            and isinstance(t.get("name"), str)
            and t["name"].strip()
            and t.get("status") in ("active", "inactive")
            for t in tags
        )
        if not valid or not isinstance(tags, list):
            return invalid(NOT_VALID, [{"field": "tags", "message": "[{name, status}] required."}])
        for tag in tags:
            if tag["status"] == "active":
                member.tags.add(self._tag(audience, tag["name"]).id)
            elif (seg := audience.segment_by_name(tag["name"])) is not None:
                member.tags.discard(seg.id)
        return Reply(204)
