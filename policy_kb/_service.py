"""The HTTP service: the knowledge base behind a small, standard, read-only JSON API.

FastAPI on uvicorn: the ecosystem's usual pair, an ASGI server with HTTP/1.1 keep-alive and an
OpenAPI document generated from the routes. The hot path — ``POST /v1/evaluate`` — reads the body
itself and validates the profile with policy_kb's own checks (the same messages as the CLI); the
answer is the very bytes ``policy-kb match --format json`` prints.

Concurrency: evaluation is a pure function over an immutable knowledge base and runs on the event
loop, so nothing is shared between requests; SPARQL runs in separate worker processes (rdflib is not
assumed thread-safe), each query with a time limit. Settings come from the environment so that every
uvicorn worker process builds the same app:

    POLICY_KB_MEASURES        a measures.yaml to serve instead of the shipped one
    POLICY_KB_CORS_ORIGINS    comma-separated origins allowed by CORS (default: CORS off)
    POLICY_KB_MAX_BODY        the largest request body, in bytes (default 1 MB)
    POLICY_KB_MAX_BATCH       the most profiles in one batch (default 1,000)
    POLICY_KB_SPARQL_TIMEOUT  seconds a SPARQL query may run (default 5)
    POLICY_KB_SPARQL_WORKERS  SPARQL worker processes (default 2)
    POLICY_KB_SPARQL_MAX_ROWS the most rows or triples a SPARQL answer may have (default 10,000)
    POLICY_KB_CACHE_SIZE      answers of /v1/evaluate kept per process for repeated requests (default 256)
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__
from ._errors import PolicyKBError, ProfileError, ProfileSyntaxError, UnknownNameError, YearError
from ._kb import KnowledgeBase, load
from ._profile import MAX_PROFILE_BYTES, parse_json_profile
from ._resources import schema
from ._serialize import benefit_detail, dumps, facts_form, measure_detail, towns_to_dict
from ._sparql import GRAPH_TYPES, SELECT_TYPES, SparqlWorkers, negotiate
from ._web import add_pages

JSON = "application/json"
#: request bodies up to this size are remembered by the answer cache
CACHEABLE_BYTES = 16_384


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
            cache_size=int(env.get("POLICY_KB_CACHE_SIZE", "256")),
        )


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    """An error answer: ``{"status", "title", "detail", …}`` as JSON, never a traceback."""
    return Response(
        dumps({"status": int(status), "title": title, "detail": detail, **extra}),
        int(status),
        media_type=JSON,
    )


def _json(data: Any, status: int = 200) -> Response:
    return Response(dumps(data) + b"\n", status, media_type=JSON)


class AnswerCache:
    """The last answers of ``/v1/evaluate``, by request bytes, year and language (LRU).

    An answer is a pure function of the request over an immutable knowledge base, so a repeated
    request can be answered from memory. Each server process has its own cache, used only from its
    event loop: nothing is shared between threads or processes.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[bytes, int | None, str], bytes] = OrderedDict()

    def get(self, key: tuple[bytes, int | None, str]) -> bytes | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: tuple[bytes, int | None, str], value: bytes) -> None:
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
        response = problem(
            413, "request too large", f"the request body is larger than {self.limit:,} bytes"
        )
        await response(scope, receive, send)


def _lang(lang: str) -> str:
    if lang not in ("zh", "en"):
        raise UnknownNameError("language", lang, [x for x in ("zh", "en") if x[0] == lang[:1]])
    return lang


def _profile_problem(exc: ProfileError) -> Response:
    issues = [{"fact": i.fact or None, "message": i.message} for i in exc.issues]
    return problem(422, "profile refused", str(exc), issues=issues)


def create_app(settings: Settings | None = None, kb: KnowledgeBase | None = None) -> FastAPI:
    """The ASGI application (``uvicorn --factory policy_kb._service:create_app``)."""
    settings = settings or Settings.from_env()
    kb = kb or load(settings.measures)
    sparql = SparqlWorkers(
        settings.measures,
        settings.sparql_workers,
        settings.sparql_timeout,
        settings.sparql_max_rows,
    )
    graph_bytes = {
        "text/turtle": kb.export("turtle").encode("utf-8"),
        "application/ld+json": kb.export("json-ld").encode("utf-8"),
    }

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await sparql.start()
        try:
            yield
        finally:
            await sparql.stop()

    app = FastAPI(
        title="policy_kb",
        version=__version__,
        summary="武进区科技型中小企业政策知识库 — which measures apply to an enterprise, why, and where the text says so",
        docs_url=None,  # the interactive docs page loads its script from a CDN; the OpenAPI document is enough
        redoc_url=None,
        lifespan=lifespan,
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

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "not found", 405: "method not allowed"}
        return problem(exc.status_code, titles.get(exc.status_code, "error"), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> Response:
        details = "; ".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return problem(422, "invalid request", details)

    @app.exception_handler(UnknownNameError)
    async def unknown_name(_: Request, exc: UnknownNameError) -> Response:
        status = 422 if exc.kind in ("language", "engine") else 404
        return problem(status, f"unknown {exc.kind}", str(exc))

    @app.exception_handler(YearError)
    async def bad_year(_: Request, exc: YearError) -> Response:
        return problem(422, "year not supported", str(exc))

    @app.exception_handler(ProfileError)
    async def bad_profile(_: Request, exc: ProfileError) -> Response:
        if isinstance(exc, ProfileSyntaxError):
            return problem(400, "malformed JSON", str(exc))
        return _profile_problem(exc)

    @app.exception_handler(PolicyKBError)
    async def policy_error(_: Request, exc: PolicyKBError) -> Response:
        return problem(400, "bad request", str(exc))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Response:
        return problem(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "internal error",
            "the service could not answer this request; it has been logged",
        )

    def parse_body(raw: bytes) -> Any:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ProfileSyntaxError("the request body is not UTF-8 text") from None
        return parse_json_profile(text, "<request>")

    async def read_json(request: Request) -> Any:
        return parse_body(await request.body())

    answers = AnswerCache(settings.cache_size)

    # ── evaluation ───────────────────────────────────────────────────────────────────────

    @app.post(
        "/v1/evaluate",
        tags=["evaluate"],
        summary="Evaluate one enterprise profile",
        response_class=Response,
        openapi_extra=_body("Profile"),
        responses={
            200: _content("Evaluation"),
            400: _content("Problem"),
            413: _content("Problem"),
            422: _content("Problem"),
        },
    )
    async def evaluate(
        request: Request,
        year: int | None = Query(
            None,
            ge=1949,
            le=2100,
            description="evaluation year (default: the profile's year, else 2021)",
        ),
        lang: str = Query("zh", pattern="^(zh|en)$", description="language of the texts"),
    ) -> Response:
        """The same JSON as ``policy-kb match --format json``, byte for byte."""
        raw = await request.body()
        key = (raw, year, lang)
        body = answers.get(key)
        if body is None:
            if len(raw) > MAX_PROFILE_BYTES:
                return problem(
                    413, "profile too large", f"a profile is at most {MAX_PROFILE_BYTES:,} bytes"
                )
            data = parse_body(raw)
            body = dumps(kb.evaluate(data, year=year).to_dict(lang)) + b"\n"
            if len(raw) <= CACHEABLE_BYTES:  # a profile is about 1 KB; larger bodies are not kept
                answers.put(key, body)
        return Response(body, media_type=JSON)

    @app.post(
        "/v1/evaluate/batch",
        tags=["evaluate"],
        summary="Evaluate a list of profiles; a bad one gets its own error entry",
        response_class=Response,
        openapi_extra=_body("ProfileList"),
        responses={
            200: _content("BatchAnswer"),
            400: _content("Problem"),
            413: _content("Problem"),
        },
    )
    async def evaluate_batch(
        request: Request,
        year: int | None = Query(None, ge=1949, le=2100),
        lang: str = Query("zh", pattern="^(zh|en)$"),
    ) -> Response:
        data = await read_json(request)
        if not isinstance(data, list):
            return problem(400, "not a list", "the body must be a JSON array of profiles")
        if len(data) > settings.max_batch:
            return problem(
                413,
                "batch too large",
                f"{len(data):,} profiles; at most {settings.max_batch:,} in one request",
            )
        results = []
        for index, profile in enumerate(data):
            try:
                ev = kb.evaluate(profile, year=year)
            except ProfileError as exc:
                results.append(
                    {
                        "index": index,
                        "ok": False,
                        "status": 422,
                        "detail": str(exc),
                        "issues": [
                            {"fact": i.fact or None, "message": i.message} for i in exc.issues
                        ],
                    }
                )
            except YearError as exc:
                results.append(
                    {"index": index, "ok": False, "status": 422, "detail": str(exc), "issues": []}
                )
            else:
                results.append({"index": index, "ok": True, "evaluation": ev.to_dict(lang)})
        errors = sum(1 for r in results if not r["ok"])
        return _json({"count": len(results), "errors": errors, "results": results})

    # ── the catalogue ────────────────────────────────────────────────────────────────────

    @app.get(
        "/v1/measures",
        tags=["catalogue"],
        summary="The measures, benefits, conditions and targets",
        response_class=Response,
        responses={200: _content("Catalogue")},
    )
    async def measures(lang: str = Query("zh", pattern="^(zh|en)$")) -> Response:
        return _json(kb.catalogue(lang))

    @app.get(
        "/v1/measures/{measure_id}",
        tags=["catalogue"],
        summary="One measure with its clause text and benefits",
        response_class=Response,
        responses={200: _content("MeasureDetail"), 404: _content("Problem")},
    )
    async def measure(measure_id: str, lang: str = Query("zh", pattern="^(zh|en)$")) -> Response:
        kb.measure(measure_id)
        return _json(measure_detail(kb.model, measure_id, lang))

    @app.get(
        "/v1/benefits/{benefit_id}",
        tags=["catalogue"],
        summary="One benefit: clause, conditions as written, parameters",
        response_class=Response,
        responses={200: _content("BenefitDetail"), 404: _content("Problem")},
    )
    async def benefit(benefit_id: str, lang: str = Query("zh", pattern="^(zh|en)$")) -> Response:
        kb.benefit(benefit_id)
        return _json(benefit_detail(kb.model, benefit_id, lang))

    @app.get(
        "/v1/facts",
        tags=["catalogue"],
        summary="The facts a profile may carry, by form group (what the calculator page draws)",
        response_class=Response,
        responses={200: _content("Facts")},
    )
    async def facts(lang: str = Query("zh", pattern="^(zh|en)$")) -> Response:
        return _json(facts_form(kb.model, lang))

    @app.get(
        "/v1/towns",
        tags=["catalogue"],
        summary="附件2: the targets of the 11 towns and zones",
        response_class=Response,
        responses={200: _content("Towns")},
    )
    async def towns(lang: str = Query("zh", pattern="^(zh|en)$")) -> Response:
        return _json(towns_to_dict(kb.model, lang))

    @app.get(
        "/v1/towns/{name}",
        tags=["catalogue"],
        summary="One town: its target and the measures addressed to it",
        response_class=Response,
        responses={200: _content("Town"), 404: _content("Problem")},
    )
    async def town(name: str, lang: str = Query("zh", pattern="^(zh|en)$")) -> Response:
        return _json(kb.town(name).to_dict(_lang(lang)))

    # ── linked data ──────────────────────────────────────────────────────────────────────

    @app.get(
        "/v1/graph",
        tags=["linked data"],
        summary="The whole knowledge graph, as Turtle or JSON-LD by Accept",
        response_class=Response,
        responses={
            200: {"content": {"text/turtle": {}, "application/ld+json": {}}},
            406: _content("Problem"),
        },
    )
    async def graph(request: Request) -> Response:
        media = negotiate(request.headers.get("accept"), {k: k for k in graph_bytes}, "text/turtle")
        if media is None:
            return problem(
                406, "not acceptable", "acceptable types: text/turtle, application/ld+json"
            )
        charset = "; charset=utf-8" if media == "text/turtle" else ""
        return Response(graph_bytes[media], media_type=media + charset)

    sparql_doc = {
        "parameters": [
            {
                "name": "query",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "a SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE)",
            }
        ],
        "responses": {
            "200": {
                "description": "SPARQL results (SELECT/ASK) or a graph (CONSTRUCT/DESCRIBE), by Accept",
                "content": {t: {} for t in [*SELECT_TYPES, *GRAPH_TYPES]},
            },
            "400": {
                "description": "refused or malformed query",
                "content": {JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            },
            "406": {
                "description": "no acceptable result format",
                "content": {JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            },
            "503": {
                "description": "timed out or busy",
                "content": {JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            },
        },
    }

    async def answer_sparql(text: str | None, request: Request) -> Response:
        if text is None:
            return problem(
                400, "no query", "send a SPARQL query in the 'query' parameter or as the body"
            )
        result = await sparql.query(text, request.headers.get("accept"))
        return Response(result.body, result.status, headers={"content-type": result.content_type})

    @app.get(
        "/v1/sparql",
        tags=["linked data"],
        summary="Read-only SPARQL 1.1 query",
        response_class=Response,
        openapi_extra=sparql_doc,
    )
    async def sparql_get(request: Request) -> Response:
        return await answer_sparql(request.query_params.get("query"), request)

    @app.post(
        "/v1/sparql",
        tags=["linked data"],
        summary="Read-only SPARQL 1.1 query (form or application/sparql-query body)",
        response_class=Response,
        openapi_extra={
            **sparql_doc,
            "requestBody": {
                "content": {
                    "application/sparql-query": {"schema": {"type": "string"}},
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {"query": {"type": "string"}},
                            "required": ["query"],
                        }
                    },
                }
            },
        },
    )
    async def sparql_post(request: Request) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = await request.body()
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return problem(400, "not UTF-8", "the query must be UTF-8 text")
        if ctype == "application/x-www-form-urlencoded":
            text = parse_qs(body).get("query", [None])[0]
        elif ctype in ("application/sparql-query", "text/plain", ""):
            text = body
        else:
            return problem(
                415,
                "unsupported media type",
                "send application/sparql-query or an HTML form with 'query'",
            )
        return await answer_sparql(text or request.query_params.get("query"), request)

    # ── health ───────────────────────────────────────────────────────────────────────────

    @app.get(
        "/healthz",
        tags=["service"],
        summary="Is the service up, and what does it serve",
        response_class=Response,
        responses={200: _content("Health")},
    )
    async def healthz() -> Response:
        model = kb.model
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

    add_pages(app)

    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = base_openapi()
            document.setdefault("components", {}).setdefault("schemas", {}).update(api_schemas(kb))
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _content(name: str) -> dict[str, Any]:
    return {
        "description": name,
        "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }


def _body(name: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    }


# ── the schemas of the OpenAPI document ──────────────────────────────────────────────────────


def _hoist(document: dict[str, Any], prefix: str) -> dict[str, Any]:
    """A JSON Schema with ``$defs`` as OpenAPI components: ``#/$defs/x`` → ``#/components/schemas/{prefix}x``."""
    text = json.dumps(document).replace('"#/$defs/', f'"#/components/schemas/{prefix}')
    moved = json.loads(text)
    defs = moved.pop("$defs", {})
    for key in ("$schema", "$id"):
        moved.pop(key, None)
    out = {f"{prefix}{name}": value for name, value in defs.items()}
    out[prefix.rstrip("_") or "Root"] = moved
    return out


def api_schemas(kb: KnowledgeBase) -> dict[str, Any]:
    """Every request and response model of the API, as OpenAPI 3.1 schemas."""
    schemas = _hoist(schema("evaluation"), "Evaluation_")
    schemas["Evaluation"] = schemas.pop("Evaluation")
    properties = {}
    types = {
        "bool": "boolean",
        "count": "integer",
        "year": "integer",
        "money": "number",
        "text": "string",
        "town": "string",
    }
    for fact in kb.model.facts.values():
        spec: dict[str, Any] = {
            "type": [types[fact.type.value], "null"],
            "description": f"{fact.label_zh} — {fact.label_en}",
        }
        if fact.unit:
            spec["description"] += f" ({fact.unit})"
        if isinstance(fact.minimum, (int, float)):
            spec["minimum"] = fact.minimum
        if fact.type.value == "town" and kb.model.targets:
            spec["enum"] = [t.name for t in kb.model.targets.towns] + [None]
        properties[fact.id] = spec
    schemas["Profile"] = {
        "type": "object",
        "description": "An enterprise profile (READING.md §2). A fact left out or null is unknown. Amounts in yuan.",
        "properties": properties,
        "additionalProperties": True,
    }
    schemas["ProfileList"] = {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Profile"},
        "maxItems": 1000,
    }
    schemas["Problem"] = {
        "type": "object",
        "required": ["status", "title", "detail"],
        "properties": {
            "status": {"type": "integer"},
            "title": {"type": "string"},
            "detail": {"type": "string"},
            "issues": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "fact": {"type": ["string", "null"]},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    }
    schemas["BatchAnswer"] = {
        "type": "object",
        "required": ["count", "errors", "results"],
        "properties": {
            "count": {"type": "integer"},
            "errors": {"type": "integer"},
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["index", "ok"],
                    "properties": {
                        "index": {"type": "integer"},
                        "ok": {"type": "boolean"},
                        "evaluation": {"$ref": "#/components/schemas/Evaluation"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "issues": {"type": "array"},
                    },
                },
            },
        },
    }
    condition = {"oneOf": [{"type": "string"}, {"type": "object"}]}
    parameter = {
        "type": "object",
        "required": ["id", "unit", "values"],
        "properties": {
            "id": {"type": "string"},
            "label": {"type": "string"},
            "unit": {"type": "string"},
            "clause": {"type": ["string", "null"]},
            "quote": {"type": ["string", "null"]},
            "reference": {"type": ["string", "null"]},
            "values": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["from"],
                    "properties": {
                        "from": {"type": "string"},
                        "until": {"type": ["string", "null"]},
                        "value": {"type": ["number", "null"]},
                        "tiers": {"type": ["array", "null"]},
                        "reference": {"type": ["string", "null"]},
                    },
                },
            },
        },
    }
    schemas["Parameter"] = parameter
    schemas["BenefitDetail"] = {
        "type": "object",
        "required": [
            "id",
            "measure",
            "number",
            "kind",
            "title",
            "quote",
            "clause",
            "conditions",
            "parameters",
            "citation",
        ],
        "properties": {
            "id": {"type": "string"},
            "measure": {"type": "string"},
            "number": {"type": "string"},
            "kind": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "quote": {"type": "string"},
            "clause": {"type": "string"},
            "citation": {"$ref": "#/components/schemas/Evaluation_citation"},
            "conditions": {"type": "array", "items": condition},
            "parameters": {"type": "array", "items": {"$ref": "#/components/schemas/Parameter"}},
            "estimate": {"type": ["object", "null"]},
            "implies": {"type": "array", "items": {"type": "string"}},
            "not_combinable_with": {"type": "array", "items": {"type": "string"}},
        },
    }
    schemas["MeasureDetail"] = {
        "type": "object",
        "required": ["id", "number", "kind", "audience", "title", "text", "benefits"],
        "properties": {
            "id": {"type": "string"},
            "number": {"type": "string"},
            "kind": {"enum": ["key", "safeguard"]},
            "audience": {"type": "string"},
            "title": {"type": "string"},
            "text": {"type": "string"},
            "citation": {"$ref": "#/components/schemas/Evaluation_citation"},
            "benefits": {"type": "array", "items": {"$ref": "#/components/schemas/BenefitDetail"}},
        },
    }
    schemas["Catalogue"] = {
        "type": "object",
        "required": ["policy", "measures", "targets"],
        "properties": {
            "policy": {"type": "object"},
            "measures": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "number", "kind", "title", "text", "benefits"],
                    "properties": {
                        "id": {"type": "string"},
                        "number": {"type": "string"},
                        "kind": {"enum": ["key", "safeguard"]},
                        "title": {"type": "string"},
                        "text": {"type": "string"},
                        "benefits": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["id", "conditions"],
                                "properties": {
                                    "id": {"type": "string"},
                                    "conditions": {"type": "array", "items": condition},
                                },
                            },
                        },
                    },
                },
            },
            "targets": {"type": ["object", "null"]},
        },
    }
    town_row = {
        "type": "object",
        "required": ["seq", "name", "target"],
        "properties": {
            "seq": {"type": "integer"},
            "name": {"type": "string"},
            "name_en": {"type": ["string", "null"]},
            "target": {"type": "integer"},
        },
    }
    schemas["Facts"] = {
        "type": "object",
        "required": ["lang", "groups"],
        "properties": {
            "lang": {"enum": ["zh", "en"]},
            "groups": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "label", "facts"],
                    "properties": {
                        "name": {"type": "string"},
                        "label": {"type": "string"},
                        "facts": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["id", "label", "type"],
                                "properties": {
                                    "id": {"type": "string"},
                                    "label": {"type": "string"},
                                    "type": {
                                        "enum": ["bool", "count", "money", "year", "text", "town"]
                                    },
                                    "unit": {"type": ["string", "null"]},
                                    "min": {"type": ["number", "null"]},
                                    "max": {"type": ["number", "string", "null"]},
                                    "help": {"type": ["string", "null"]},
                                    "choices": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["value", "label"],
                                            "properties": {
                                                "value": {"type": "string"},
                                                "label": {"type": "string"},
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    }
    schemas["Towns"] = {
        "type": "object",
        "required": ["towns", "total", "rows_sum"],
        "properties": {
            "annex": {"type": "string"},
            "title": {"type": "string"},
            "year": {"type": "integer"},
            "unit": {"type": "string"},
            "towns": {"type": "array", "items": town_row},
            "total": {"type": ["integer", "null"]},
            "rows_sum": {"type": "integer"},
        },
    }
    schemas["Town"] = {
        "type": "object",
        "required": ["town", "district", "measures"],
        "properties": {
            "policy": {"type": "object"},
            "town": {
                "type": "object",
                "required": ["name", "target"],
                "properties": {"name": {"type": "string"}, "target": {"type": "integer"}},
            },
            "district": {
                "type": "object",
                "properties": {
                    "towns": {"type": "integer"},
                    "total": {"type": "integer"},
                    "rows_sum": {"type": "integer"},
                },
            },
            "measures": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "status"],
                    "properties": {
                        "id": {"type": "string"},
                        "status": {"$ref": "#/components/schemas/Evaluation_status"},
                        "target": {"type": ["integer", "null"]},
                    },
                },
            },
        },
    }
    schemas["Health"] = {
        "type": "object",
        "required": ["status", "version", "measures", "benefits"],
        "properties": {
            "status": {"const": "ok"},
            "version": {"type": "string"},
            "policy": {"type": "string"},
            "measures": {"type": "integer"},
            "benefits": {"type": "integer"},
            "measures_sha256": {"type": "string"},
        },
    }
    return schemas
