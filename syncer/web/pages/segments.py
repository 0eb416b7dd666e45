"""``/segments``: the list (search, tag filter); the builder (``/segments/edit?name=`` or
``/segments/new``) whose form posts to ``/segments/draft`` on every change and gets back the
builder with the live count, funnel and sentence, or the CLI's message at the condition it
belongs to; save, copy, delete; ``/segments/preview``, ``/segments/customer``,
``/segments/insights`` and ``/segments/suggest`` (a datalist of names from the database).

Segments are found by name through the loader, never by a path from the browser.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape
from ruamel.yaml.comments import CommentedMap
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from syncer.errors import ConfigError, SyncerError
from syncer.segments.catalog import FIELDS, OPERATORS
from syncer.segments.create import copy_segment, new_from_template, slug
from syncer.segments.insights import SAMPLE, insights
from syncer.segments.loader import load_segments
from syncer.segments.model import Segment
from syncer.segments.tags import check_tags, has_any_tag, known_tags
from syncer.segments.template import load_templates
from syncer.source.active import active
from syncer.state.history import audience_history
from syncer.state.migrate import current_revision
from syncer.web import segment_draft, segment_queries, yaml_files
from syncer.web.context import WebContext, web
from syncer.web.render import error, is_htmx, page
from syncer.web.segment_files import Listing

BAD_NAME = re.compile(r"[/\\\x00-\x1f\x7f]|\.\.")


def _segments_dir(context: WebContext) -> Path:
    return context.settings.segments_dir


def _segment(context: WebContext, name: str) -> Segment:
    return load_segments(_segments_dir(context)).get_or_error(name)


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or BAD_NAME.search(name) or len(name) > 200:
        raise ConfigError(
            f"segment name {name[:60]!r} is not allowed",
            hint="a name is words, without '/', '\\', '..' or line breaks (max 200 characters).",
        )
    return name


def _fields() -> list[dict[str, Any]]:
    source = active()
    return [
        {"name": s.name, "label": s.label, "type": s.value_type.value,
         "operators": list(s.operators), "window": s.window}
        for s in FIELDS.values() if source.missing(s.name) is None
    ]  # fmt: skip


@lru_cache(maxsize=8)
def _option_tags(fields: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str, str], ...]:
    """Each field's ``<option>`` of the builder's field picker, as the template wrote it
    (escaped the same way), unselected and selected: made once, not per condition and edit."""
    tags = []
    for name, label in fields:
        value, shown = escape(name), f"{escape(label)} ({escape(name)})"
        tags.append((name, f'<option value="{value}" >{shown}</option>',
                     f'<option value="{value}" selected>{shown}</option>'))  # fmt: skip
    return tuple(tags)


def _field_options(fields: list[dict[str, Any]]) -> Callable[[str], Markup]:
    """``options(field)``: the picker's options with ``field`` selected."""
    tags = _option_tags(tuple((f["name"], f["label"]) for f in fields))

    def options(selected: str) -> Markup:
        return Markup("".join(on if name == selected else off for name, off, on in tags))

    return options


async def list_page(request: Request) -> Response:
    q = request.query_params.get("q", "").strip().lower()
    tags = [t for t in request.query_params.getlist("tag") if t]
    loaded = await run_in_threadpool(load_segments, _segments_dir(web(request)))
    check_tags(loaded.values(), tags)
    rows = [
        s for s in loaded.values()
        if has_any_tag(s, tags) and (not q or q in s.name.lower() or q in s.description.lower())
    ]  # fmt: skip
    return page(
        request,
        "segments.html",
        {"segments": rows, "q": q, "tags": tags, "all_tags": known_tags(loaded.values()),
         "templates": load_templates()},
    )  # fmt: skip


def _target(context: WebContext, original: str, name: str, listing: Listing | None = None) -> Path:
    """The file the draft is (or will be): the original segment's, else a new one from the
    name (checked: no path can come from the browser)."""
    if original:
        found = context.segment_files.source_of(original, _segments_dir(context), listing)
        if found is not None:
            return found
        segment = _segment(context, original)  # not found: the loader says why
        assert segment.source is not None
        return Path(segment.source)
    stem = slug(_check_name(name)) or "segment"
    return _segments_dir(context) / f"{stem}.yaml"


def _builder_context(
    context: WebContext,
    name: str,
    original: str,
    description: str,
    rule: Any,
    *,
    funnel: bool = False,
) -> dict[str, Any]:
    try:  # any problem stays inside the builder, which keeps the draft
        listing = context.segment_files.listing(_segments_dir(context))  # once a request
        path = _target(context, original, name or "new segment", listing)
        text = segment_queries.draft_text(name, description, rule)
        result = segment_queries.live(
            context.commerce,
            context.segment_files,
            _segments_dir(context),
            path,
            text,
            funnel=funnel,
            listing=listing,
            now=context.now(),
        )
    except SyncerError as err:
        result = segment_queries.Live(error=str(err))
    return {
        "name": name, "original": original, "description": description, "rule": rule,
        "live": result, "field_options": _field_options(_fields()), "specs": FIELDS,
        "operators": OPERATORS, "draft": segment_draft, "suggest": segment_queries.SUGGEST,
    }  # fmt: skip


async def edit_page(request: Request) -> Response:
    context = web(request)
    name = request.query_params.get("name", "")
    segment = await run_in_threadpool(_segment, context, name)
    assert segment.source is not None
    data = await run_in_threadpool(yaml_files.load, Path(segment.source))
    rule = segment_draft.plain(data.get("rules"))
    ctx = await run_in_threadpool(
        _builder_context, context, segment.name, segment.name, segment.description, rule
    )
    return page(request, "segment_builder.html", ctx)


async def new_page(request: Request) -> Response:
    ctx = await run_in_threadpool(
        _builder_context, web(request), "", "", "", {"all": [segment_draft.empty_condition()]}
    )
    return page(request, "segment_builder.html", ctx)


def _draft_of(form: FormData) -> tuple[str, str, str, Any]:
    fields = {k: str(v) for k, v in form.items()}
    rule = segment_draft.from_form(fields)
    action = fields.get("action", "")
    if action:
        rule = segment_draft.apply(rule, action)
    return (
        fields.get("name", "").strip(),
        fields.get("original", ""),
        fields.get("description", "").strip(),
        rule,
    )


async def draft(request: Request) -> Response:
    name, original, description, rule = _draft_of(await request.form())
    ctx = await run_in_threadpool(_builder_context, web(request), name, original, description, rule)
    return page(request, "segments/_builder.html", ctx)


async def funnel(request: Request) -> Response:
    """The per-condition funnel of the posted draft (loaded after the count: a query a node)."""
    name, original, description, rule = _draft_of(await request.form())
    ctx = await run_in_threadpool(
        partial(_builder_context, funnel=True), web(request), name, original, description, rule
    )
    return page(request, "segments/_funnel.html", ctx)


def _save(context: WebContext, name: str, original: str, description: str, rule: Any) -> Path:
    name = _check_name(name)
    directory = _segments_dir(context)
    path = _target(context, original, name)
    if original:
        data = yaml_files.load(path)
        if not isinstance(data, CommentedMap):
            raise ConfigError(
                "a segment file must be a mapping with name and rules", where=str(path)
            )
    else:
        if path.exists() or name in load_segments(directory):
            raise ConfigError(
                f"segment {name!r} or its file {path.name} exists already; nothing was overwritten",
                hint="choose another name, or open the segment to edit it.",
            )
        data = CommentedMap()
    data["name"] = name
    if description:
        data["description"] = description
    else:
        data.pop("description", None)
    data["rules"] = rule
    text = yaml_files.dump(data)
    segment_queries.check_draft(directory, path, text)
    yaml_files.replace(path, text)
    return path


async def save(request: Request) -> Response:
    name, original, description, rule = _draft_of(await request.form())
    await run_in_threadpool(_save, web(request), name, original, description, rule)
    target = f"/segments/edit?name={_quote(name.strip())}&saved=1"
    if is_htmx(request):  # the builder's Save button: the browser goes to the saved segment
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


async def copy(request: Request) -> Response:
    form = await request.form()
    new = _check_name(str(form.get("new", "")))
    created = await run_in_threadpool(
        copy_segment, _segments_dir(web(request)), str(form.get("name", "")), new
    )
    return RedirectResponse(f"/segments/edit?name={_quote(created.segment.name)}", status_code=303)


async def delete(request: Request) -> Response:
    form = await request.form()
    segment = await run_in_threadpool(_segment, web(request), str(form.get("name", "")))
    if segment.destinations:
        raise ConfigError(
            f"segment {segment.name!r} has {len(segment.destinations)} destination(s)",
            hint="remove its destinations first (their members would stay in the provider).",
        )
    assert segment.source is not None
    Path(segment.source).unlink()
    return RedirectResponse("/segments", status_code=303)


async def from_template(request: Request) -> Response:
    form = await request.form()
    name = _check_name(str(form.get("name", "")))
    given = {k.removeprefix("p:"): str(v) for k, v in form.items() if k.startswith("p:") and str(v)}
    created = await run_in_threadpool(
        new_from_template, _segments_dir(web(request)), name, str(form.get("template", "")), given
    )
    return RedirectResponse(f"/segments/edit?name={_quote(created.segment.name)}", status_code=303)


async def preview_page(request: Request) -> Response:
    context = web(request)
    segment = await run_in_threadpool(_segment, context, request.query_params.get("name", ""))
    rows = await run_in_threadpool(
        segment_queries.preview,
        context.commerce,
        segment,
        _segments_dir(context),
        now=context.now(),
    )
    return page(request, "segment_preview.html", {"segment": segment, "rows": rows})


async def customer_page(request: Request) -> Response:
    context = web(request)
    try:
        customer_id = int(request.query_params.get("id", ""))
    except ValueError:
        return error(request, "a customer id is a whole number", status_code=400)
    found = await run_in_threadpool(
        segment_queries.customer,
        context.commerce,
        _segments_dir(context),
        customer_id,
        now=context.now(),
    )
    if found is None:
        return error(request, f"no customer with id {customer_id}", status_code=404)
    return page(request, "segment_customer.html", found)


def _insights(context: WebContext, name: str, *, exact: bool) -> dict[str, Any]:
    segments = load_segments(_segments_dir(context))
    segment = segments.get_or_error(name)
    now = context.now()
    sample = None if exact else SAMPLE
    with context.commerce.connect() as conn:
        result = insights(conn, segment, dict(segments), as_of=now, sample=sample).to_json()
    history = (
        audience_history(context.state, name, until=now)
        if current_revision(context.state) is not None
        else {}
    )
    return {"segment": segment, "data": result, "history": history}


async def insights_page(request: Request) -> Response:
    context = web(request)
    name = request.query_params.get("name", "")
    exact = request.query_params.get("exact") == "1"
    try:
        data = await run_in_threadpool(_insights, context, name, exact=exact)
    except ConfigError as err:
        return page(request, "segment_insights.html", {"problem": str(err), "name": name})
    return page(request, "segment_insights.html", {**data, "name": name, "problem": None})


async def suggest(request: Request) -> Response:
    field = request.query_params.get("field", "")
    typed = request.query_params.get("q", "")[:100]
    names = await run_in_threadpool(segment_queries.suggest, web(request).commerce, field, typed)
    return page(request, "segments/_suggest.html", {"names": names})


routes = [
    Route("/segments", list_page, methods=["GET"]),
    Route("/segments/edit", edit_page, methods=["GET"]),
    Route("/segments/new", new_page, methods=["GET"]),
    Route("/segments/draft", draft, methods=["POST"]),
    Route("/segments/funnel", funnel, methods=["POST"]),
    Route("/segments/save", save, methods=["POST"]),
    Route("/segments/copy", copy, methods=["POST"]),
    Route("/segments/delete", delete, methods=["POST"]),
    Route("/segments/from-template", from_template, methods=["POST"]),
    Route("/segments/preview", preview_page, methods=["GET"]),
    Route("/segments/customer", customer_page, methods=["GET"]),
    Route("/segments/insights", insights_page, methods=["GET"]),
    Route("/segments/suggest", suggest, methods=["GET"]),
]
