"""``/profiles``: the provider accounts of profiles.yaml. Add or edit one (provider, the NAMES
of the environment variables holding its secrets, an optional API root), check its credentials,
discover its lists, tags and merge fields, and attach a destination to a segment by picking the
list and tag the provider returned. Secrets are never asked for, stored or shown."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from providers.errors import ProviderError
from providers.registry import PROVIDERS, provider_class
from syncer.errors import SyncerError
from syncer.profiles import REFERENCE, Profile, load_profiles, profile_named, provider_failed
from syncer.segments.loader import load_segments
from syncer.web.context import WebContext, web
from syncer.web.edits import ENV_NAME, attach_destination, save_profile
from syncer.web.render import page


def _variable(reference: str) -> str:
    """``${MAILCHIMP_API_KEY:-x}`` -> ``MAILCHIMP_API_KEY`` (the name only, never a value)."""
    match = REFERENCE.fullmatch(reference.strip())
    return match.group(1) if match else ""


def _listing(context: WebContext) -> list[dict[str, Any]]:
    path = context.settings.profiles_file
    if not path.exists():
        return []
    rows = []
    for p in load_profiles(path, {}, resolve=False).values():
        variables = {k: _variable(v) for k, v in p.references.items()}
        rows.append(
            {
                "name": p.name,
                "provider": p.provider,
                "variables": variables,
                "set": {v: v in context.env for v in variables.values()},
                "base_url": _variable(p.base_url or "") or p.base_url or "",
            }
        )
    return rows


async def profiles_page(request: Request) -> Response:
    rows = await run_in_threadpool(_listing, web(request))
    return page(request, "profiles.html", {"profiles": rows})


def _form(name: str = "", provider: str = "", variables: dict[str, str] | None = None,
          base_url: str = "", editing: bool = False) -> dict[str, Any]:  # fmt: skip
    provider = provider if provider in PROVIDERS else next(iter(PROVIDERS))
    return {
        "name": name,
        "provider": provider,
        "providers": list(PROVIDERS),
        "keys": provider_class(provider).credential_keys,
        "variables": variables or {},
        "base_url": base_url,
        "editing": editing,
    }


async def new_form(request: Request) -> Response:
    return page(
        request, "profiles/form.html", _form(provider=request.query_params.get("provider", ""))
    )


async def fields(request: Request) -> Response:
    """The credential inputs of the chosen provider (htmx swaps them when the provider changes)."""
    return page(
        request, "profiles/_fields.html", _form(provider=request.query_params.get("provider", ""))
    )


async def edit_form(request: Request) -> Response:
    name = request.path_params["name"]
    rows = await run_in_threadpool(_listing, web(request))
    row = next((r for r in rows if r["name"] == name), None)
    if row is None:
        known = ", ".join(r["name"] for r in rows) or "none"
        raise SyncerError(f"unknown profile {name!r} (known: {known})")
    return page(
        request,
        "profiles/form.html",
        _form(name, row["provider"], row["variables"], row["base_url"], True),
    )


async def save(request: Request) -> Response:
    form = await request.form()
    context = web(request)
    name, provider = str(form.get("name", "")), str(form.get("provider", ""))
    variables = {k[4:]: str(v) for k, v in form.items() if k.startswith("var_")}
    base_url = str(form.get("base_url", ""))
    try:
        await run_in_threadpool(
            save_profile, context.settings, context.env, name, provider, variables, base_url
        )
    except SyncerError as err:
        # only variable NAMES go back into the form: a value that is not one may be a secret
        names = {k: v for k, v in variables.items() if ENV_NAME.match(v.strip())}
        values = _form(name, provider, names, base_url, form.get("editing") == "1")
        return page(request, "profiles/form.html", {**values, "problem": str(err)}, status_code=400)
    return RedirectResponse(f"/profiles?saved={name}", status_code=303)


def _profile(context: WebContext, name: str) -> Profile:
    return profile_named(context.settings.profiles_file, context.env, name)


def _check(context: WebContext, name: str) -> dict[str, Any]:
    profile = _profile(context, name)
    try:
        info = profile.build().check()
    except ProviderError as err:
        raise provider_failed(profile, "credentials check", err) from err
    return {"name": name, "info": info}


async def check(request: Request) -> Response:
    result = await run_in_threadpool(_check, web(request), request.path_params["name"])
    return page(request, "profiles/_check.html", result)


def _discover(context: WebContext, name: str) -> dict[str, Any]:
    profile = _profile(context, name)
    try:
        found = profile.build().discover()
    except ProviderError as err:
        raise provider_failed(profile, "discovery", err) from err
    segments = load_segments(context.settings.segments_dir)
    return {"name": name, "found": found, "segments": list(segments)}


async def discover(request: Request) -> Response:
    result = await run_in_threadpool(_discover, web(request), request.path_params["name"])
    return page(request, "profiles/_discover.html", result)


async def attach(request: Request) -> Response:
    form = await request.form()
    context = web(request)
    tag = str(form.get("new_tag", "")).strip() or str(form.get("tag", ""))
    segment = await run_in_threadpool(
        attach_destination, context.settings, str(form.get("segment", "")),
        request.path_params["name"], str(form.get("list", "")), tag,
    )  # fmt: skip
    return page(request, "profiles/_attached.html", {"segment": segment})


routes = [
    Route("/profiles", profiles_page, methods=["GET"]),
    Route("/profiles", save, methods=["POST"]),
    Route("/profiles/new", new_form, methods=["GET"]),
    Route("/profiles/fields", fields, methods=["GET"]),
    Route("/profiles/{name}/edit", edit_form, methods=["GET"]),
    Route("/profiles/{name}/check", check, methods=["POST"]),
    Route("/profiles/{name}/discover", discover, methods=["POST"]),
    Route("/profiles/{name}/attach", attach, methods=["POST"]),
]
