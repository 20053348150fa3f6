"""The calculator pages: ``/`` (政策计算器) and ``/targets`` (附件2 and the measures' text).

The pages are static files shipped in ``policy_kb/serve/web`` (plain HTML, CSS and one script, no build
step); they draw themselves from the ``/v1`` API, so a fact added to measures.yaml appears in the
form without touching them, and say their own sentences from the message catalogue (``web.*``
keys, served as ``/static/words.js``). Every page and file is sent with a strict Content-Security-Policy: only
this server's own scripts, styles and requests; no inline script, no ``eval``, no frames.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles

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
PAGES = {"/": "index.html", "/targets": "targets.html", "/docs": "docs.html"}
ASSETS = ("app.js", "style.css", "favicon.svg", "docs.js")
#: the page's sentences, made from the message catalogue when the app is made (not a file)
WORDS_ASSET = "words.js"
#: Swagger UI, from the installed fastapi-offline package (no CDN): the two files /docs loads
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")
#: Swagger UI sets styles from its script and draws icons as data: images; nothing else changes
DOCS_SECURITY_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": CONTENT_SECURITY_POLICY.replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'"
    ).replace("img-src 'self'", "img-src 'self' data:"),
}
#: an asset asked for by its content hash never changes: caches may keep it for a year
IMMUTABLE = "public, max-age=31536000, immutable"


def _read(name: str) -> bytes:
    return files("policy_kb.serve").joinpath("web").joinpath(name).read_bytes()


@cache
def page_words() -> bytes:
    """``/static/words.js``: the page's own sentences, from the message catalogue (their keys
    start with ``web.``), so that the page, the command line and the service say things from
    one catalogue; the script sets ``window.POLICY_KB_WORDS`` for app.js."""
    import json

    from ..text import LANGUAGES, catalogue

    words = {
        lang: {k[4:]: v for k, v in catalogue(lang).items() if k.startswith("web.")}
        for lang in LANGUAGES
    }
    return ("window.POLICY_KB_WORDS = " + json.dumps(words, ensure_ascii=False) + ";\n").encode()


@cache
def asset_versions() -> dict[str, str]:
    """Each asset's content hash, as the pages ask for it (``/static/app.js?v=…``)."""
    found = {name: hashlib.sha256(_read(name)).hexdigest()[:16] for name in ASSETS}
    found[WORDS_ASSET] = hashlib.sha256(page_words()).hexdigest()[:16]
    return found


def swagger_versions() -> dict[str, str]:
    """The content hash of each Swagger UI file /docs loads."""
    folder = files("fastapi_offline").joinpath("static")
    return {
        n: hashlib.sha256(folder.joinpath(n).read_bytes()).hexdigest()[:16] for n in SWAGGER_FILES
    }


class _Assets:
    """The page's files through Starlette's ``StaticFiles`` (paths checked, ETag, HEAD, 304),
    with the security headers; cached for a year when asked for by their current hash, else
    revalidated each time."""

    def __init__(
        self,
        versions: dict[str, str],
        package: tuple[str, str] = ("policy_kb.serve", "web"),
        headers: dict[str, str] = SECURITY_HEADERS,
    ) -> None:
        self.files = StaticFiles(packages=[package])
        self.versions = versions
        self.headers = headers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        name = scope["path"].rsplit("/", 1)[-1]
        if name not in self.versions:  # a fixed list: the pages' own files and nothing else
            raise HTTPException(404)  # said as every 404 is (the error handler)
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v")
        hashed = asked == [self.versions[name]]

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in self.headers.items():
                    headers[key] = value
                headers["Cache-Control"] = IMMUTABLE if hashed else "no-cache"
            await send(message)

        await self.files(scope, receive, with_headers)


def add_pages(app: FastAPI) -> None:
    """Serve the calculator pages and their files (read once, when the app is made)."""
    versions, swagger = asset_versions(), swagger_versions()
    pages = {path: _hashed(_read(name), versions) for path, name in PAGES.items()}
    pages["/docs"] = _hashed(pages["/docs"], swagger, "/docs/static")

    def page(path: str) -> Response:
        headers = DOCS_SECURITY_HEADERS if path == "/docs" else SECURITY_HEADERS
        return Response(pages[path], media_type="text/html; charset=utf-8", headers=headers)

    @app.get("/", include_in_schema=False)
    async def calculator() -> Response:
        return page("/")

    @app.get("/targets", include_in_schema=False)
    async def targets() -> Response:
        return page("/targets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return page("/docs")

    @app.get(f"/static/{WORDS_ASSET}", include_in_schema=False)
    async def words(v: str | None = None) -> Response:
        headers = {
            **SECURITY_HEADERS,
            "Cache-Control": IMMUTABLE if v == versions[WORDS_ASSET] else "no-cache",
        }
        return Response(page_words(), media_type="text/javascript; charset=utf-8", headers=headers)

    # longest prefix first: /docs/static is Swagger UI's files, /static the pages' own
    app.mount(
        "/docs/static",
        _Assets(swagger, ("fastapi_offline", "static"), DOCS_SECURITY_HEADERS),
        name="swagger",
    )
    files = {n: v for n, v in versions.items() if n != WORDS_ASSET}
    app.mount("/static", _Assets(files), name="static")


def _hashed(html: bytes, versions: dict[str, str], folder: str = "/static") -> bytes:
    """The page with each asset's address carrying its hash (a new file is a new address)."""
    for name, version in versions.items():
        old, new = f'"{folder}/{name}"', f'"{folder}/{name}?v={version}"'
        html = html.replace(old.encode(), new.encode())
    return html


def resource_page(graph: Any, subject: Any, root: str, local: str) -> bytes:
    """A resource of the knowledge graph as a small HTML page for a browser: its labels, then
    every statement, with the graph's own IRIs linked to where they dereference here. Every
    value is escaped; no script."""
    from html import escape

    from rdflib import Literal, URIRef
    from rdflib.namespace import RDFS, SKOS

    def name(term: Any) -> str:
        try:
            return str(graph.namespace_manager.normalizeUri(term))
        except Exception:  # an IRI rdflib cannot shorten: shown whole
            return str(term)

    def link(term: Any) -> str:
        text = escape(name(term))
        iri = str(term)
        href = local + iri[len(root) :] if iri.startswith(root) else iri
        label = next(iter(graph.objects(term, RDFS.label)), None) or next(
            iter(graph.objects(term, SKOS.prefLabel)), None
        )
        shown = f"{text} <small>{escape(str(label))}</small>" if label is not None else text
        return f'<a href="{escape(href, quote=True)}">{shown}</a>'

    def value(term: Any) -> str:
        if isinstance(term, URIRef):
            return link(term)
        if isinstance(term, Literal) and term.language:
            return f'<span lang="{escape(term.language, quote=True)}">{escape(str(term))}</span>'
        return escape(str(term))

    rows = sorted(graph.predicate_objects(subject), key=lambda po: (str(po[0]), str(po[1])))
    titles = [str(t) for t in graph.objects(subject, RDFS.label)] or [str(subject)]
    body = "".join(f"<tr><th>{link(p)}</th><td>{value(o)}</td></tr>" for p, o in rows)
    page = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(' · '.join(titles))}</title>"
        f'<link rel="stylesheet" href="/static/style.css?v={asset_versions()["style.css"]}"></head>'
        f'<body><main class="wrap resource"><h1>{escape(" · ".join(titles))}</h1>'
        f"<p><code>{escape(str(subject))}</code></p>"
        f'<table class="statements"><tbody>{body}</tbody></table></main></body></html>'
    )
    return page.encode("utf-8")
