"""The indexers' page: served by ``fahras serve`` at ``/``.

A page plug-in of the service (entry-point group ``fahras.service.pages``):
:func:`mount` adds the page route and its static files to the service's
FastAPI app.  The page is a server-rendered Jinja2 template plus a small
plain-JavaScript file that talks to the service only through its HTTP API
(``/v1/...`` and ``/v1/fahras/...``); nothing in the library imports this
package.  Every asset is served from the package itself.
"""

import hashlib
import json
import logging
from pathlib import Path
from urllib.parse import urlencode

from fahras.web.strings import LANGUAGE_NAMES, STRINGS, choose_language

__all__ = ["mount", "STATIC_PREFIX"]

log = logging.getLogger("fahras.web")

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"
#: where the page's script, style sheet and icon are served
STATIC_PREFIX = "/web/static"

#: the page may fetch from, run scripts of and style itself with its own server only
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")


def _asset_version() -> str:
    """A short hash of the static files, so that browsers fetch them anew after an upgrade."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _projects(config) -> "list[dict]":
    return [{"id": p.project_id, "name": p.name or p.project_id, "corpus": p.corpus is not None}
            for p in getattr(config, "projects", ())]


def mount(app, config) -> None:
    """Add the indexers' page (``GET /``) and its static files to the service's ``app``."""
    from fastapi import Request
    from fastapi.responses import HTMLResponse, PlainTextResponse
    from fastapi.staticfiles import StaticFiles

    try:
        import jinja2
    except ImportError:  # the service runs without the page's extra
        log.warning("the indexers' page needs Jinja2: pip install 'fahras[web]'")

        @app.get("/", include_in_schema=False)
        def page_missing() -> PlainTextResponse:
            return PlainTextResponse("The indexers' page needs Jinja2: pip install 'fahras[web]'.\n"
                                     "The API is at /v1/ (documentation at /docs).", status_code=503)
        return

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                                     autoescape=jinja2.select_autoescape(["html"]),
                                     undefined=jinja2.StrictUndefined)
    template = environment.get_template("index.html")
    version = _asset_version()
    projects = _projects(config)
    languages = [{"code": code, "name": name, "dir": direction}
                 for code, (name, direction) in LANGUAGE_NAMES.items()]

    app.mount(STATIC_PREFIX, StaticFiles(directory=str(STATIC_DIR)), name="fahras-web-static")

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    def indexers_page(request: Request) -> HTMLResponse:
        lang = choose_language(request.query_params.get("lang"), request.headers.get("accept-language"))
        wanted = request.query_params.get("project")
        project = next((p for p in projects if p["id"] == wanted), projects[0] if projects else None)

        def link(code: str) -> str:
            params = {"lang": code}
            if project:
                params["project"] = project["id"]
            return "/?" + urlencode(params)

        page_config = {
            "lang": lang,
            "project": project["id"] if project else None,
            "projects": projects,
            "strings": STRINGS,
            "languages": {item["code"]: {"name": item["name"], "dir": item["dir"]} for item in languages},
        }
        html = template.render(
            lang=lang, dir=LANGUAGE_NAMES[lang][1], t=STRINGS[lang], languages=languages, link=link,
            projects=projects, project=project, static=f"{STATIC_PREFIX}", version=version,
            # a data block, not a script: "</" cannot end it early once escaped
            page_config=json.dumps(page_config, ensure_ascii=False).replace("</", "<\\/"),
        )
        return HTMLResponse(html, headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-cache",
        })
