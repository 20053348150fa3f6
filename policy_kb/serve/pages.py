"""The calculator pages: ``/`` (政策计算器) and ``/targets`` (附件2 and the measures' text).

The pages are static files shipped in ``policy_kb/serve/web`` (plain HTML, CSS and one script, no build
step); they draw themselves from the ``/v1`` API, so a fact added to measures.yaml appears in the
form without touching them. Every page and file is sent with a strict Content-Security-Policy: only
this server's own scripts, styles and requests; no inline script, no ``eval``, no frames.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.exceptions import HTTPException

#: only this origin, and nothing inline: the page works offline and injected markup cannot run
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
PAGES = {"/": "index.html", "/targets": "targets.html"}
STATIC = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


def _read(name: str) -> bytes:
    return files("policy_kb.serve").joinpath("web").joinpath(name).read_bytes()


def add_pages(app: FastAPI) -> None:
    """Serve the calculator pages and their files (read once, when the app is made)."""
    pages = {path: _read(name) for path, name in PAGES.items()}
    static = {name: (_read(name), kind) for name, kind in STATIC.items()}

    def page(path: str) -> Response:
        return Response(
            pages[path], media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS
        )

    @app.get("/", include_in_schema=False)
    async def calculator() -> Response:
        return page("/")

    @app.get("/targets", include_in_schema=False)
    async def targets() -> Response:
        return page("/targets")

    @app.get("/static/{name}", include_in_schema=False)
    async def static_file(name: str) -> Response:
        found = static.get(name)  # a fixed list: no path from the request reaches the disk
        if found is None:
            raise HTTPException(404, f"no file {name!r} here")
        body, kind = found
        return Response(body, media_type=kind, headers=SECURITY_HEADERS)
