"""The HTTP service: the knowledge base behind a small, standard, read-only JSON API.

FastAPI on uvicorn; the OpenAPI document is written by FastAPI from the models of
:mod:`.models`. The hot path — ``POST /v1/evaluate`` — reads the body itself and validates the
profile with policy_kb's own checks (the same messages as the CLI, in the request's ``lang``); the
answer is the very bytes ``policy-kb match --format json`` prints. Every error is an RFC 9457
problem (``application/problem+json``) with the documented shape, never a stack trace.

Evaluation is a pure function over an immutable knowledge base; SPARQL runs in separate worker
processes, each query with a time limit. Settings come from the environment so that every uvicorn
worker process builds the same app:

    POLICY_KB_MEASURES        a measures.yaml to serve instead of the shipped one
    POLICY_KB_CORS_ORIGINS    comma-separated origins allowed by CORS (default: CORS off)
    POLICY_KB_MAX_BODY        the largest request body, in bytes (default 1 MB)
    POLICY_KB_MAX_BATCH       the most profiles in one batch (default 1,000)
    POLICY_KB_SPARQL_TIMEOUT  seconds a SPARQL query may run (default 5)
    POLICY_KB_SPARQL_WORKERS  SPARQL worker processes (default 2)
    POLICY_KB_SPARQL_MAX_ROWS the most rows or triples a SPARQL answer may have (default 10,000)
    POLICY_KB_SPARQL_MAX_BYTES the largest SPARQL answer body, in bytes (default 20,000,000)
    POLICY_KB_SPARQL_MEMORY_MB memory a SPARQL worker may use beyond the loaded graph (default 1024)
    POLICY_KB_CACHE_SIZE      answers of /v1/evaluate kept per process for repeated requests (default 256)
"""

from __future__ import annotations

import gc
import json
import os
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from rdflib import URIRef
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from ..api import KnowledgeBase, load
from ..errors import PolicyKBError, ProfileError, ProfileSyntaxError, UnknownNameError, YearError
from ..graph.rdf import describe, load_tbox, serialize
from ..graph.vocab import ONTOLOGY_IRI
from ..policy.model import YEAR_RANGE
from ..policy.profile import MAX_PROFILE_BYTES, parse_json_profile
from ..policy.resources import schema
from ..text import DEFAULT_LANG, LANGUAGES, Msg, Words, label, say
from ..version import __version__
from ..views import document
from . import models
from .hygiene import HeadAsGet, Validators
from .pages import SECURITY_HEADERS, add_pages, resource_page
from .sparql import GRAPH_TYPES, SELECT_TYPES, SparqlWorkers, negotiate

JSON = "application/json"
PROBLEM = "application/problem+json"
#: request bodies up to this size are remembered by the answer cache
CACHEABLE_BYTES = 16_384
#: answers at least this long are compressed for a client that accepts gzip, at zlib's level 1:
#: a 134 KB answer becomes 21 KB in 0.6 ms (level 9: 14 KB in 5.8 ms, longer than the answer)
GZIP_MIN_BYTES, GZIP_LEVEL = 1024, 1


@dataclass(frozen=True)
class Settings:
    """How the service runs (see the module docstring for the environment variables)."""

    measures: str | None = None
    cors_origins: tuple[str, ...] = ()
    max_body: int = 1_000_000
    max_batch: int = 1_000
    sparql_timeout: float = 5.0
    sparql_workers: int = 2
    sparql_max_rows: int = 10_000
    sparql_memory_mb: int = 1024
    sparql_max_bytes: int = 20_000_000
    cache_size: int = 256

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        origins = tuple(
            o.strip() for o in env.get("POLICY_KB_CORS_ORIGINS", "").split(",") if o.strip()
        )
        return cls(
            measures=env.get("POLICY_KB_MEASURES") or None,
            cors_origins=origins,
            max_body=int(env.get("POLICY_KB_MAX_BODY", "1000000")),
            max_batch=int(env.get("POLICY_KB_MAX_BATCH", "1000")),
            sparql_timeout=float(env.get("POLICY_KB_SPARQL_TIMEOUT", "5")),
            sparql_workers=int(env.get("POLICY_KB_SPARQL_WORKERS", "2")),
            sparql_max_rows=int(env.get("POLICY_KB_SPARQL_MAX_ROWS", "10000")),
            sparql_memory_mb=int(env.get("POLICY_KB_SPARQL_MEMORY_MB", "1024")),
            sparql_max_bytes=int(env.get("POLICY_KB_SPARQL_MAX_BYTES", "20000000")),
            cache_size=int(env.get("POLICY_KB_CACHE_SIZE", "256")),
        )


def problem(
    status: int,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """An error answer: ``{"type", "title", "status", "detail", …}``, never a traceback."""
    body = {"type": "about:blank", "title": title, "status": int(status), "detail": detail, **extra}
    return Response(document.dumps(body), int(status), headers=headers, media_type=PROBLEM)


def known_lang(asked: str | None) -> str:
    """The language asked for when it is one of :data:`LANGUAGES`, else the default (an
    unknown ``lang`` is refused by the routes that take it; an error says it in Chinese)."""
    return asked if asked in LANGUAGES else DEFAULT_LANG


def request_lang(request: Request) -> str:
    """The language of a request's answers and errors: its ``lang`` parameter (Chinese when it
    has none)."""
    return known_lang(request.query_params.get("lang"))


def _json(data: Any, status: int = 200) -> Response:
    return Response(document.dumps(data) + b"\n", status, media_type=JSON)


def _issues(exc: ProfileError, lang: str) -> list[dict[str, Any]]:
    return [{"fact": i.fact or None, "message": i.message.render(lang)} for i in exc.issues]


class AnswerCache:
    """The last answers of ``/v1/evaluate``, by request bytes, year and language (LRU).

    An answer is a pure function of the request over an immutable knowledge base, so a repeated
    request can be answered from memory. Each server process has its own cache, used only from its
    event loop: nothing is shared between threads or processes.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[bytes, int | None, str, str], bytes] = OrderedDict()

    def get(self, key: tuple[bytes, int | None, str, str]) -> bytes | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: tuple[bytes, int | None, str, str], value: bytes) -> None:
        if self.size <= 0:
            return
        self._items[key] = value
        if len(self._items) > self.size:
            self._items.popitem(last=False)


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``limit`` bytes with 413, declared or streamed."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counting() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counting, send)
        except _BodyTooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Any, receive: Any, send: Any) -> None:
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang", [""])
        detail = say(known_lang(asked[0]), "http.too_large", limit=f"{self.limit:,}")
        response = problem(413, "request too large", detail)
        await response(scope, receive, send)


def _documented(
    model: type[Any] | None, *errors: int, media: tuple[str, ...] = (JSON,)
) -> dict[int | str, Any]:
    """The ``responses`` of a route: the model of its 200 answer and the problems it can send."""
    out: dict[int | str, Any] = {}
    if model is not None:
        out[200] = {
            "model": model,
            "description": model.__doc__.splitlines()[0] if model.__doc__ else model.__name__,
        }
    for code in errors:
        out[code] = {
            "description": _ERROR_WORDS[code],
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return out


_ERROR_WORDS = {
    400: "malformed request (not JSON, not UTF-8, or a refused SPARQL query)",
    404: "unknown measure, benefit or town",
    406: "no acceptable result format",
    413: "request too large",
    415: "unsupported media type",
    422: "a request value refused: a profile, a year, a language",
    503: "the SPARQL query timed out, or every worker is busy",
}


def supported_years(kb: KnowledgeBase) -> tuple[int, int]:
    """The first and last year in which every parameter a condition needs has a value."""
    years = []
    for year in range(YEAR_RANGE[0], YEAR_RANGE[1] + 1):
        try:
            kb.parameters_for_year(year)
        except YearError:
            continue
        years.append(year)
    return (min(years), max(years)) if years else (kb.model.document.year, kb.model.document.year)


async def strict_query(request: Request) -> None:
    """Refuse a query parameter given twice (``?year=2021&year=2022`` answered for the last one)
    or one the route does not take (``?yeer=2022`` answered as if absent): each was a silent
    guess at what the caller meant. For the routes whose parameters are all declared."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    taken = [p.alias for p in dependant.query_params]
    lang = request_lang(request)
    seen: set[str] = set()
    for name, value in request.query_params.multi_items():
        if name in seen:
            raise StarletteHTTPException(422, say(lang, "http.query_twice", name=repr(name)))
        seen.add(name)
        if name not in taken:
            names = ", ".join(taken) if taken else say(lang, "http.query_none")
            raise StarletteHTTPException(
                422, say(lang, "http.query_unknown", name=repr(name), names=names)
            )
        if name == "year" and not _YEAR.fullmatch(value):  # '2_022', ' 2022', '2021.0', '２０２２'
            raise StarletteHTTPException(422, say(lang, "http.year_digits", value=repr(value)))


_YEAR = re.compile(r"[0-9]{4}")  # a year as a profile writes one: four ASCII digits


def create_app(settings: Settings | None = None, kb: KnowledgeBase | None = None) -> FastAPI:
    """The ASGI application (``uvicorn --factory policy_kb.serve.http:create_app``)."""
    settings = settings or Settings.from_env()
    kb = kb or load(settings.measures)
    sparql = SparqlWorkers(
        settings.measures,
        settings.sparql_workers,
        settings.sparql_timeout,
        settings.sparql_max_rows,
        settings.sparql_memory_mb,
        settings.sparql_max_bytes,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await sparql.start()
        kb.plan  # noqa: B018 -- compiled now, not by the first request (and frozen with the rest)
        # The knowledge base, the compiled plan and the imported libraries live as long as the
        # process: moved out of the collector's reach, a full collection during a large batch
        # no longer walks them, which kept every thread (and /healthz) waiting.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await sparql.stop()

    app = FastAPI(
        # no slash-redirects: they copied the Host header into Location, and every route has one
        # spelling anyway (a trailing slash is a 404 with a JSON problem body)
        redirect_slashes=False,
        title="policy_kb",
        version=__version__,
        summary="武进区科技型中小企业政策知识库 — which measures apply to an enterprise, why, and where the text says so",
        docs_url=None,  # the interactive docs page loads its script from a CDN; the OpenAPI document is enough
        redoc_url=None,
        lifespan=lifespan,
        # readable operation ids: the route's function name (evaluate, evaluate_batch, measure …)
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.kb = kb
    app.state.settings = settings
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Accept"],
        )
    app.add_middleware(BodyLimit, limit=settings.max_body)
    years = supported_years(kb)
    answers = Answers(kb, settings.cache_size)
    if not settings.cors_origins:  # with CORS every answer goes through its middleware
        app.add_middleware(FastEvaluate, answers=answers, years=years, limit=settings.max_body)
    # outermost last: HEAD as GET, then ETag / 304 over the bytes sent, then compression
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=GZIP_LEVEL)
    app.add_middleware(Validators)
    app.add_middleware(HeadAsGet)
    _error_handlers(app)
    app.include_router(evaluate_routes(kb, settings, years, answers))
    app.include_router(catalogue_routes(kb))
    app.include_router(linked_data_routes(kb, sparql))
    add_pages(app)
    _extend_openapi(app, kb)
    return app


def allowed_methods(app: FastAPI, scope: MutableMapping[str, Any]) -> list[str]:
    """The methods the routes at this request's path answer (HEAD wherever GET is: see
    :class:`~policy_kb.serve.hygiene.HeadAsGet`), for a 405's ``Allow``: each method is tried
    against the router, as it would route a request with it."""
    from starlette.routing import Match

    found = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        probe = {**scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in app.router.routes):
            found.append(method)
    if "GET" in found:
        found.insert(1, "HEAD")
    return found


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "not found", 405: "method not allowed", 422: "invalid request"}
        headers = dict(exc.headers or {})
        lang = request_lang(request)
        detail = str(exc.detail)
        if exc.status_code == 404:
            detail = say(lang, "http.not_found", path=request.url.path)
        if exc.status_code == 405:  # every method of every route at this path, not the first's
            headers["Allow"] = ", ".join(allowed_methods(app, request.scope))
            detail = say(lang, "http.method", method=request.method, allow=headers["Allow"])
        title = titles.get(exc.status_code, "error")
        return problem(exc.status_code, title, detail, headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        lang = request_lang(request)
        details = say(lang, "join.semi").join(_invalid(e, lang) for e in exc.errors())
        return problem(422, "invalid request", details)

    @app.exception_handler(PolicyKBError)
    async def policy_error(request: Request, exc: PolicyKBError) -> Response:
        lang = request_lang(request)
        if isinstance(exc, ProfileSyntaxError):
            return problem(400, "malformed JSON", exc.render(lang))
        if isinstance(exc, ProfileError):
            return problem(422, "profile refused", exc.render(lang), issues=_issues(exc, lang))
        if isinstance(exc, YearError):
            return problem(422, "year not supported", exc.render(lang))
        if isinstance(exc, UnknownNameError):
            status = 422 if exc.kind in ("language", "engine") else 404
            return problem(status, f"unknown {exc.kind}", exc.render(lang))
        return problem(400, "bad request", exc.render(lang))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return problem(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "internal error",
            say(request_lang(request), "http.internal"),
        )


def _parse_body(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProfileSyntaxError(Msg("http.not_utf8")) from None
    return parse_json_profile(text, "<request>")


class Answers:
    """The bytes of ``POST /v1/evaluate`` for a request body, year, language and detail: kept for
    repeated requests, computed on the event loop otherwise. One answer takes a fraction of a
    millisecond — less than handing it to a thread and back — and a worker then answers its
    requests in the order they came (a thread pool let late requests overtake early ones, which
    made the slowest 1 % ten times the median). A bad profile raises; the caller says why."""

    def __init__(self, kb: KnowledgeBase, size: int) -> None:
        self.kb = kb
        self.cache = AnswerCache(size)

    def of(self, raw: bytes, year: int | None, lang: str, detail: str) -> bytes:
        key = (raw, year, lang, detail)
        answer = self.cache.get(key)
        if answer is None:
            evaluation = self.kb.evaluate(_parse_body(raw), year=year)
            answer = evaluation.to_bytes(lang, detail=detail) + b"\n"
            if len(raw) <= CACHEABLE_BYTES:  # a profile is about 1 KB; larger bodies are not kept
                self.cache.put(key, answer)
        return answer


class FastEvaluate:
    """ASGI middleware: ``POST /v1/evaluate`` on its plain path without the framework around it.

    A request whose query holds only a valid ``year`` / ``lang`` / ``detail`` (each at most once),
    whose body is declared as JSON (or not declared) and fits the limits, and whose profile is
    accepted, is answered here with the very bytes and headers the route sends. Anything else —
    another route, an unusual query, a refused profile, an error of any kind — goes on to the
    application untouched (with the body it sent), which answers it as always. The routing,
    dependency and exception layers cost about as much as the evaluation itself.
    """

    def __init__(self, app: Any, answers: Answers, years: tuple[int, int], limit: int) -> None:
        self.app = app
        self.answers = answers
        self.years = years
        self.limit = min(limit, MAX_PROFILE_BYTES)

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != "/v1/evaluate"
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        query = self._query(scope.get("query_string", b""))
        if query is None or not self._declared_json(scope.get("headers") or ()):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([], message), send)
                return
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > self.limit:
                await self.app(scope, _replay(chunks, None, receive), send)
                return
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        try:
            answer = self.answers.of(raw, *query)
        except Exception:  # the application says why, in its own words
            await self.app(scope, _replay([raw], None), send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(answer)).encode()),
                    (b"content-type", JSON.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    def _query(self, query_string: bytes) -> tuple[int | None, str, str] | None:
        year: int | None = None
        lang, detail = "zh", "full"
        seen: set[bytes] = set()
        for pair in query_string.split(b"&") if query_string else ():
            name, _, value = pair.partition(b"=")
            if name in seen:
                return None
            seen.add(name)
            if name == b"year" and len(value) == 4 and value.isdigit():
                year = int(value)
                if not self.years[0] <= year <= self.years[1]:
                    return None
            elif name == b"lang" and value in (b"zh", b"en"):
                lang = value.decode()
            elif name == b"detail" and value in (b"full", b"summary"):
                detail = value.decode()
            else:
                return None
        return year, lang, detail

    @staticmethod
    def _declared_json(headers: Any) -> bool:
        """Plain JSON: no content encoding, and a JSON media type in UTF-8 (or none); anything
        else is the application's to answer (see :func:`_not_json`)."""
        for name, value in headers:
            if name == b"content-encoding" and value.strip().lower() not in (b"", b"identity"):
                return False
            if name == b"content-type":
                media, _, rest = value.partition(b";")
                media = media.strip().lower()
                if media != JSON.encode() and not media.endswith(b"+json"):
                    return False
                spelled = rest.replace(b" ", b"").replace(b'"', b"").lower()
                if spelled and spelled.removeprefix(b"charset=").decode("latin-1") not in _UTF8:
                    return False
        return True


def _replay(
    chunks: list[bytes], last: Any, rest: Callable[[], Awaitable[Any]] | None = None
) -> Callable[[], Awaitable[Any]]:
    """A ``receive`` that gives back what was already read, then what is left to read."""
    pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": rest is not None}]
    if last is not None:
        pending = [last]

    async def receive() -> Any:
        if pending:
            return pending.pop(0)
        if rest is not None:
            return await rest()
        return {"type": "http.disconnect"}

    return receive


def evaluate_routes(
    kb: KnowledgeBase, settings: Settings, years: tuple[int, int], answers: Answers
) -> APIRouter:
    """``POST /v1/evaluate`` and ``/v1/evaluate/batch``."""
    router = APIRouter(tags=["evaluate"], dependencies=[Depends(strict_query)])
    first, last = years
    body = {
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/Profile"}}},
        }
    }
    batch_body = {
        "requestBody": {
            "required": True,
            "content": {
                JSON: {
                    "schema": {
                        "type": "array",
                        "maxItems": settings.max_batch,
                        # any JSON value: each item is checked on its own, and one that is not a
                        # valid Profile gets its own error entry while the batch answers 200
                        "items": {
                            "description": "a profile (see Profile); an item that is not a "
                            "valid profile gets its own error entry (ok: false, status 422)"
                        },
                    }
                }
            },
        }
    }
    year_query = Query(
        None,
        ge=first,
        le=last,
        description="evaluation year (default: the profile's year, else the policy year)",
    )

    @router.post(
        "/v1/evaluate",
        summary="Evaluate one enterprise profile",
        response_class=Response,
        openapi_extra=body,
        responses={
            **_documented(None, 400, 413, 415, 422),
            200: {
                "description": "the evaluation (the JSON contract); with detail=summary the short"
                " answer (statuses, missing facts, amounts, citation ids)",
                "content": {
                    JSON: {
                        "schema": {
                            "oneOf": [
                                {"$ref": "#/components/schemas/Evaluation"},
                                {"$ref": "#/components/schemas/EvaluationSummary"},
                            ]
                        }
                    }
                },
            },
        },
    )
    async def evaluate(
        request: Request,
        year: int | None = year_query,
        lang: models.Lang = "zh",
        detail: models.Detail = "full",
    ) -> Response:
        """The same JSON as ``policy-kb match --format json [--detail summary]``, byte for byte."""
        refused = _not_json(request)
        if refused is not None:
            return refused
        raw = await request.body()
        if len(raw) > MAX_PROFILE_BYTES:
            limit = f"{MAX_PROFILE_BYTES:,}"
            return problem(
                413, "profile too large", say(lang, "http.profile_too_large", limit=limit)
            )
        return Response(answers.of(raw, year, lang, detail), media_type=JSON)

    @router.post(
        "/v1/evaluate/batch",
        summary="Evaluate a list of profiles; a bad one gets its own error entry",
        response_class=Response,
        openapi_extra=batch_body,
        responses=_documented(models.BatchAnswer, 400, 413, 415, 422),
    )
    async def evaluate_batch(
        request: Request,
        year: int | None = year_query,
        lang: models.Lang = "zh",
        detail: models.Detail = "full",
    ) -> Response:
        """Each profile's answer as ``POST /v1/evaluate`` gives it (``detail=summary`` too); a
        bad profile gets its own error entry."""
        refused = _not_json(request)
        if refused is not None:
            return refused
        data = _parse_body(await request.body())
        if not isinstance(data, list):
            return problem(400, "not a list", say(lang, "http.not_list"))
        if len(data) > settings.max_batch:
            return problem(  # a limit on the array the schema states (maxItems): 422, like any
                422,
                "batch too large",
                say(
                    lang,
                    "http.batch_too_large",
                    n=f"{len(data):,}",
                    limit=f"{settings.max_batch:,}",
                ),
            )

        def answers_of() -> bytes:
            # Each answer is serialised on its own (compact JSON): one serialisation of the whole
            # batch would hold the interpreter lock for the length of a 100 MB document.
            items, errors = [], 0
            for i, profile in enumerate(data):
                result = _batch_item(kb, i, profile, year, lang, detail)
                errors += not result["ok"]
                items.append(document.dumps(result, indent=None))
            head = b'{"count":%d,"errors":%d,"results":[' % (len(items), errors)
            return head + b",".join(items) + b"]}\n"

        # evaluated and serialised in a worker thread, so /healthz and other requests are
        # answered while a batch runs
        return Response(await run_in_threadpool(answers_of), media_type=JSON)

    return router


def _invalid(error: Mapping[str, Any], lang: str) -> str:
    """One of the request's refused parameters in ``lang`` (pydantic says it in English): a
    value not among the choices, not a whole number, out of range, or missing; any other as
    pydantic wrote it."""
    field = ".".join(str(x) for x in error["loc"])
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "literal_error":
        return _not_a_choice(field, value, re.findall(r"'([^']*)'", str(ctx["expected"])), lang)
    if kind in ("int_parsing", "int_parsing_size"):
        return say(lang, "http.invalid.whole", field=field, value=repr(value))
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = ctx.get("ge", ctx.get("le"))
        key = "http.invalid.at_least" if kind == "greater_than_equal" else "http.invalid.at_most"
        return say(lang, key, field=field, value=value, bound=bound)
    if kind == "missing":
        return say(lang, "http.invalid.missing", field=field)
    return f"{field}: {error['msg']}"


def _not_a_choice(field: str, value: Any, choices: Sequence[str], lang: str) -> str:
    """A parameter's value that is not one of its choices, said in ``lang``."""
    expected = Words([f"'{x}'" for x in choices], "or")
    return say(lang, "http.invalid.choice", field=field, value=repr(value), expected=expected)


#: the character sets a body may be declared in: UTF-8, and ASCII, which is a part of it
_UTF8 = ("utf-8", "utf8", "us-ascii", "ascii")


def _not_json(request: Request) -> Response | None:
    """415 for a body declared as something other than JSON (a form, plain text…), compressed
    (``Content-Encoding: gzip`` was read as text and refused as "not UTF-8") or in another
    character set than UTF-8 (``charset=utf-16`` was read as UTF-8 without a word); a request
    without a content type is read as JSON."""
    lang = request_lang(request)
    coding = request.headers.get("content-encoding", "").strip().lower()
    if coding not in ("", "identity"):
        return problem(
            415, "unsupported content encoding", say(lang, "http.encoding", coding=coding)
        )
    declared = request.headers.get("content-type")
    if declared is None:
        return None
    media, _, rest = declared.partition(";")
    media = media.strip().lower()
    if media != JSON and not media.endswith("+json"):
        return problem(415, "not JSON", say(lang, "http.not_json", media=media, json=JSON))
    for param in rest.split(";"):
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in _UTF8:
            return problem(415, "unsupported charset", say(lang, "http.charset", charset=charset))
    return None


def _batch_item(
    kb: KnowledgeBase, index: int, profile: Any, year: int | None, lang: str, detail: str
) -> dict[str, Any]:
    try:
        ev = kb.evaluate(profile, year=year)
    except ProfileError as exc:
        return {
            "index": index,
            "ok": False,
            "status": 422,
            "detail": exc.render(lang),
            "issues": _issues(exc, lang),
        }
    except YearError as exc:
        return {
            "index": index,
            "ok": False,
            "status": 422,
            "detail": exc.render(lang),
            "issues": [],
        }
    return {"index": index, "ok": True, "evaluation": ev.to_dict(lang, detail)}


def catalogue_routes(kb: KnowledgeBase) -> APIRouter:
    """The measures, benefits, facts and 附件2 targets."""
    router = APIRouter(tags=["catalogue"], dependencies=[Depends(strict_query)])
    model = kb.model

    @router.get(
        "/v1/measures",
        summary="The measures, benefits, conditions and targets",
        response_class=Response,
        responses=_documented(models.Catalogue, 422),
    )
    async def measures(lang: models.Lang = "zh") -> Response:
        return _json(kb.catalogue(lang))

    @router.get(
        "/v1/measures/{measure_id}",
        summary="One measure with its clause text and benefits",
        response_class=Response,
        responses=_documented(models.MeasureDetail, 404, 422),
    )
    async def measure(measure_id: str, lang: models.Lang = "zh") -> Response:
        kb.measure(measure_id)
        return _json(document.measure_detail(model, measure_id, lang))

    @router.get(
        "/v1/benefits/{benefit_id}",
        summary="One benefit: clause, conditions as written, parameters",
        response_class=Response,
        responses=_documented(models.BenefitDetail, 404, 422),
    )
    async def benefit(benefit_id: str, lang: models.Lang = "zh") -> Response:
        kb.benefit(benefit_id)
        return _json(document.benefit_detail(model, benefit_id, lang))

    @router.get(
        "/v1/facts",
        summary="The facts a profile may carry, by form group (what the calculator page draws)",
        response_class=Response,
        responses=_documented(models.Facts, 422),
    )
    async def facts(lang: models.Lang = "zh") -> Response:
        return _json(document.facts_form(model, lang))

    @router.get(
        "/v1/towns",
        summary="附件2: the targets of the 11 towns and zones",
        response_class=Response,
        responses=_documented(models.Towns, 422),
    )
    async def towns(lang: models.Lang = "zh") -> Response:
        return _json(document.towns_to_dict(model, lang))

    @router.get(
        "/v1/towns/{name}",
        summary="One town: its target and the measures addressed to it",
        response_class=Response,
        responses=_documented(models.Town, 404, 422),
    )
    async def town(name: str, lang: models.Lang = "zh") -> Response:
        return _json(kb.town(name).to_dict(lang))

    @router.get(
        "/healthz",
        tags=["service"],
        summary="Is the service up, and what does it serve",
        response_class=Response,
        responses=_documented(models.Health),
    )
    async def healthz() -> Response:
        return _json(
            {
                "status": "ok",
                "version": __version__,
                "policy": model.document.id,
                "measures": len(model.measures),
                "benefits": len(model.benefits),
                "measures_sha256": model.sha256,
            }
        )

    return router


def _shared_folder(a: str, b: str) -> str:
    """The longest folder (ending in ``/``) two IRIs share."""
    n = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return a[: a[:n].rfind("/") + 1]


def linked_data_routes(kb: KnowledgeBase, sparql: SparqlWorkers) -> APIRouter:
    """The whole graph, and read-only SPARQL over it."""
    router = APIRouter(tags=["linked data"])
    graph_bytes = {
        "text/turtle": kb.export("turtle").encode("utf-8"),
        "application/ld+json": kb.export("json-ld").encode("utf-8"),
        "application/n-triples": kb.export("nt").encode("utf-8"),
        "application/rdf+xml": kb.export("xml").encode("utf-8"),
    }
    graph_doc = {
        200: {
            "description": "the knowledge graph",
            "content": {media: {"schema": {"type": "string"}} for media in graph_bytes},
        },
        **_documented(None, 406),
    }
    vary = {"Vary": "Accept"}

    @router.get(
        "/v1/graph",
        summary="The whole knowledge graph, as Turtle, JSON-LD, N-Triples or RDF/XML by Accept",
        response_class=Response,
        responses=graph_doc,
    )
    async def graph(request: Request) -> Response:
        media = negotiate(request.headers.get("accept"), {k: k for k in graph_bytes}, "text/turtle")
        if media is None:
            detail = say(request_lang(request), "http.not_acceptable", types=", ".join(graph_bytes))
            return problem(406, "not acceptable", detail, headers=vary)
        return Response(
            graph_bytes[media],
            media_type=media + ("; charset=utf-8" if media.startswith("text/") else ""),
            headers=vary,
        )

    # every IRI of the graph dereferences here (w3id.org/policy-kb/… redirects to this service):
    # HTML for a browser, RDF for a client, by Accept
    root = _shared_folder(ONTOLOGY_IRI, kb.model.document.iri)  # https://w3id.org/policy-kb/
    kinds = {
        "text/turtle": "turtle",
        "application/ld+json": "json-ld",
        "application/n-triples": "nt",
        "application/rdf+xml": "xml",
        "text/html": "html",
    }
    whole, tbox = kb.graph, load_tbox()
    local = urlsplit(root).path
    if local in ("", "/"):  # the IRIs share no folder: never a catch-all over the service
        local = "/resource/"

    @router.get(
        local + "{rest:path}",
        summary="Dereference an IRI of the knowledge graph (HTML or RDF by Accept)",
        response_class=Response,
        responses={
            200: {
                "description": "what the graph says about the resource",
                "content": {media: {"schema": {"type": "string"}} for media in kinds},
            },
            **_documented(None, 404, 406),
        },
    )
    async def resource(rest: str, request: Request) -> Response:
        iri = URIRef(root + rest)
        # the ontology's own IRI answers the whole TBox; any other, what the graph says of it
        found = tbox if str(iri) == ONTOLOGY_IRI else describe(whole, iri)
        if not len(found):
            detail = say(request_lang(request), "http.not_graph", iri=str(iri))
            return problem(404, "not found", detail, headers=vary)
        media = negotiate(request.headers.get("accept"), kinds, "text/turtle")
        if media is None:
            detail = say(request_lang(request), "http.not_acceptable", types=", ".join(kinds))
            return problem(406, "not acceptable", detail, headers=vary)
        if media == "text/html":
            body = resource_page(found, iri, root, local)
            return Response(
                body, media_type="text/html; charset=utf-8", headers={**vary, **SECURITY_HEADERS}
            )
        text = serialize(found, kinds[media], kb.model.document.iri)
        charset = "; charset=utf-8" if media.startswith("text/") else ""
        return Response(text.encode("utf-8"), media_type=media + charset, headers=vary)

    sparql_doc = {
        "parameters": [
            {
                "name": "query",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "minLength": 1},
                "example": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1",
                "description": "a SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE); without "
                "it, GET answers the SPARQL service description",
            }
        ],
        "responses": {
            "200": {
                "description": "SPARQL results (SELECT/ASK) or a graph (CONSTRUCT/DESCRIBE), by "
                "Accept; the service description (Turtle) for a GET without a query",
                "content": {
                    t: {"schema": {"type": "object"} if "json" in t else {"type": "string"}}
                    for t in [*SELECT_TYPES, *GRAPH_TYPES]
                },
            },
            **{str(k): v for k, v in _documented(None, 400, 406, 415, 503).items()},
        },
    }

    described = service_description()

    async def answer(params: Mapping[str, list[str]], request: Request) -> Response:
        asked = params.get("lang", [])  # in the address, or in a form's body
        lang = known_lang(asked[-1] if asked else None)
        if asked and asked[-1] not in LANGUAGES:  # refused, as by every other route
            detail = _not_a_choice("lang", asked[-1], LANGUAGES, lang)
            return problem(422, "invalid request", detail, headers=vary)
        for name in DATASET_PARAMETERS:
            if name in params:
                detail = say(lang, "http.dataset", name=name)
                return problem(400, "dataset not supported", detail, headers=vary)
        given = params.get("query", [])
        if len(given) > 1:
            return problem(400, "more than one query", say(lang, "http.one_query"), headers=vary)
        if not given:
            return problem(400, "no query", say(lang, "http.no_query"), headers=vary)
        result = await sparql.query(given[0], request.headers.get("accept"), lang)
        headers = {"content-type": result.content_type, **vary}
        if result.status == 503:
            headers["Retry-After"] = "1"
        return Response(result.body, result.status, headers=headers)

    @router.get(
        "/v1/sparql",
        summary="Read-only SPARQL 1.1 query (without a query: the service description)",
        response_class=Response,
        openapi_extra=sparql_doc,
    )
    async def sparql_get(request: Request) -> Response:
        params = parse_qs(request.url.query, keep_blank_values=True)
        if not params.keys() - {"lang"}:  # no query: the service description
            return Response(described, media_type="text/turtle; charset=utf-8", headers=vary)
        return await answer(params, request)

    form = {
        "type": "object",
        "properties": {"query": {"type": "string", "minLength": 1}},
        "required": ["query"],
    }
    post_doc = {
        **sparql_doc,
        "requestBody": {
            "content": {
                "application/sparql-query": {"schema": {"type": "string", "minLength": 1}},
                "application/x-www-form-urlencoded": {"schema": form},
            }
        },
    }

    @router.post(
        "/v1/sparql",
        summary="Read-only SPARQL 1.1 query (form or application/sparql-query body)",
        response_class=Response,
        openapi_extra=post_doc,
    )
    async def sparql_post(request: Request) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            body = (await request.body()).decode("utf-8")
        except UnicodeDecodeError:
            return problem(400, "not UTF-8", say(request_lang(request), "http.query_not_utf8"))
        # as the protocol has it: a POSTed query is in the body (the form's 'query' or the whole
        # body), never in the address, which may carry only the (refused) dataset parameters
        params = parse_qs(request.url.query, keep_blank_values=True)
        if "query" in params:
            detail = say(request_lang(request), "http.query_in_address")
            return problem(400, "query in the address", detail, headers=vary)
        if ctype == "application/x-www-form-urlencoded":
            for key, values in parse_qs(body, keep_blank_values=True).items():
                params.setdefault(key, []).extend(values)
        elif ctype in ("application/sparql-query", "text/plain", ""):
            params["query"] = [body]
        else:
            detail = say(request_lang(request), "http.sparql_media")
            return problem(415, "unsupported media type", detail)
        return await answer(params, request)

    return router


#: the SPARQL 1.1 Protocol's dataset parameters: refused, as FROM and FROM NAMED are
DATASET_PARAMETERS = ("default-graph-uri", "named-graph-uri")

#: the SPARQL 1.1 Service Description of the endpoint (``<>`` is the endpoint's own address)
_SERVICE_DESCRIPTION = """@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix formats: <http://www.w3.org/ns/formats/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .

[] a sd:Service ;
    rdfs:label {en}@en , {zh}@zh ;
    sd:endpoint <> ;
    sd:supportedLanguage sd:SPARQL11Query ;
    sd:resultFormat formats:SPARQL_Results_JSON , formats:SPARQL_Results_XML ,
        formats:SPARQL_Results_CSV , formats:SPARQL_Results_TSV ,
        formats:Turtle , formats:N-Triples , formats:RDF_XML , formats:JSON-LD ;
    sd:defaultDataset [ a sd:Dataset ; sd:defaultGraph [ a sd:Graph ] ] .
"""


def service_description() -> bytes:
    """The SPARQL service description (Turtle) a GET without a query answers; its name from the
    catalogue, in both languages."""
    name = label("http.sparql_service")
    quoted = {lang: json.dumps(name[lang], ensure_ascii=False) for lang in ("zh", "en")}
    return _SERVICE_DESCRIPTION.replace("{en}", quoted["en"]).replace("{zh}", quoted["zh"]).encode()


def _extend_openapi(app: FastAPI, kb: KnowledgeBase) -> None:
    """FastAPI writes the document from the routes' models; the evaluation schema, the request-body
    model and the problem model are added to its components (the routes read their bodies)."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = base()
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(models.evaluation_components(schema("evaluation")))
            summary = dict(schema("evaluation-summary"))
            for key in ("$schema", "$id"):
                summary.pop(key, None)
            schemas["EvaluationSummary"] = summary
            for model in (models.profile_model(kb.model), models.Problem):
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(found.pop("$defs", {}))
                schemas[model.__name__] = found
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
