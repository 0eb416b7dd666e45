"""``syncer web``: the admin UI, server-rendered pages over the same library as the CLI.

    app.py       create_app(settings, env, users=...): the Starlette app, its middleware and routes
    auth.py      users, roles (viewer / editor), password hashes, login required
    csrf.py      a CSRF token per session, checked on every state-changing request
    context.py   what a handler needs: settings, environment, users, engines, background jobs
    render.py    page(request, template, ...) and the navigation every page shows
    jobs.py      runs started from the browser: a thread calling SyncService.sync, its progress
    yaml_files.py  round-trip YAML (comments and key order kept) written atomically
    pages/       one module per page: its routes, its full page and its htmx partials
    templates/   Jinja2: base.html (navigation), one template per page, partials in a folder
    static/      htmx (vendored, with its licence) and the style sheet

The YAML files stay the source of truth: pages read them with the CLI's loaders and write them
back keeping comments, after checking the new text with the CLI's validators. Nothing here loads
a segment's members into memory: counts and runs come from the database and the sync engine.
"""
