"""Read-only SPARQL for the HTTP service: checked, time-limited, size-limited, isolated.

A query is checked before it runs: it must parse as a SPARQL 1.1 *query* (SELECT, ASK, CONSTRUCT,
DESCRIBE); updates (INSERT, DELETE, LOAD, CLEAR, CREATE, DROP …), ``SERVICE`` (federation) and
``FROM`` / ``FROM NAMED`` (which could make the server fetch a URL) are refused. Results larger
than the row limit, or whose answer is larger than the byte limit, are refused rather than
truncated.

Queries run in separate worker processes, each holding its own copy of the graph: rdflib is not
assumed thread-safe, and a query that runs past the time limit is stopped by killing its worker and
starting a fresh one, so a timed-out query never harms the next. Each worker runs under an
address-space limit (``resource.RLIMIT_AS``, what it uses once the graph is loaded plus a budget):
a query that would build a huge string or table meets ``MemoryError`` inside its own worker, gets
a 400, and the worker is replaced. An error raised inside the SPARQL library (an assertion, an
unsupported property path) is a 400 in words, never the library's message.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import sys
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import orjson

from ..errors import EnvironmentProblem
from ..graph.vocab import PREFIXES
from ..text import DEFAULT_LANG, Msg, say

#: The longest query text accepted, in characters.
MAX_QUERY_CHARS = 20_000

#: what SELECT and ASK answers can be sent as, by media type (SPARQL 1.1 Query Results formats)
SELECT_TYPES = {  # most preferred first (a tie between acceptable types goes to the earlier)
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "application/json": "json",
    "application/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
#: ASK has a boolean, which the CSV and TSV formats cannot carry
ASK_TYPES = {k: v for k, v in SELECT_TYPES.items() if v not in ("csv", "tsv")}
#: what CONSTRUCT and DESCRIBE answers (and the whole graph) can be sent as
GRAPH_TYPES = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
}


@dataclass(frozen=True)
class SparqlAnswer:
    """What the endpoint answers: an HTTP status, a content type and the body."""

    status: int
    content_type: str
    body: bytes
    #: the worker that produced this answer should be replaced (it ran out of memory)
    retire: bool = False


def _error(status: int, title: str, detail: str) -> SparqlAnswer:
    body = orjson.dumps(
        {"type": "about:blank", "title": title, "status": int(status), "detail": detail}
    )
    return SparqlAnswer(int(status), "application/problem+json", body)


def negotiate(accept: str | None, choices: dict[str, str], default: str) -> str | None:
    """The media type of ``choices`` that an ``Accept`` header prefers (RFC 9110 §12.5.1, by
    python-mimeparse: quality, then specificity; ``q=0`` refuses a type; ``text/*`` only text).

    None when nothing fits (the caller answers 406); ``default`` for no header, ``*/*``, or a
    header that cannot be parsed (which RFC 9110 lets a server disregard)."""
    import mimeparse

    if not accept or not accept.strip():
        return default
    # mimeparse gives a tie to the last type listed: the default, then the order of ``choices``
    ranked = [m for m in reversed(choices) if m != default] + [default]
    try:
        found = mimeparse.best_match(ranked, accept)
    except (ValueError, mimeparse.MimeTypeParseException):
        return default
    return found or None


def tsv_results(result: Any) -> bytes:
    """SELECT results as SPARQL 1.1 TSV: a header of ``?names``, then one row per solution with
    each term as in Turtle (an unbound variable is an empty field)."""
    names = [str(v) for v in result.vars]
    lines = ["\t".join("?" + n for n in names)]
    for row in result:
        lines.append("\t".join(_tsv_term(row[i]) for i in range(len(names))))
    return ("\n".join(lines) + "\n").encode("utf-8")


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _tsv_term(term: Any) -> str:
    from rdflib import BNode, Literal, URIRef

    if term is None:
        return ""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    if isinstance(term, Literal):
        text = '"' + str(term).translate(_TSV_ESCAPES) + '"'
        if term.language:
            return f"{text}@{term.language}"
        if term.datatype is not None and str(term.datatype) != XSD_STRING:
            return f"{text}^^<{term.datatype}>"
        return text
    return str(term)


XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def check_query(text: str, lang: str = DEFAULT_LANG) -> tuple[Any, str] | SparqlAnswer:
    """Parse and check a query: ``(query, form)`` or the refusal to send back (in ``lang``)."""
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    if not text.strip():
        return _error(400, "empty query", say(lang, "http.no_query"))
    if len(text) > MAX_QUERY_CHARS:
        return _error(
            400,
            "query too long",
            say(lang, "sparql.too_long", n=f"{len(text):,}", limit=f"{MAX_QUERY_CHARS:,}"),
        )
    try:
        parsed = parseQuery(text)
    except RecursionError:  # brackets inside brackets, hundreds deep
        return _error(400, "query too deep", say(lang, "sparql.too_deep"))
    except Exception as exc:  # pyparsing raises its own exception types
        try:
            parseUpdate(text)
        except Exception:
            return _error(400, "query does not parse", _syntax(exc, text, lang))
        return _error(
            400,
            "updates are not allowed",
            say(lang, "sparql.read_only"),
        )
    try:
        query = translateQuery(parsed)
    except Exception as exc:
        detail = say(lang, "sparql.cannot_evaluate", detail=exc)
        return _error(400, "query does not parse", detail)
    names = _node_names(query.algebra)
    if "ServiceGraphPattern" in names:
        return _error(
            400,
            "SERVICE is not allowed",
            say(lang, "sparql.federated"),
        )
    if "DatasetClause" in names or getattr(query.algebra, "datasetClause", None):
        return _error(
            400,
            "FROM is not allowed",
            say(lang, "sparql.from"),
        )
    _clamp_slices(query.algebra)
    return query, query.algebra.name


def _clamp_slices(node: Any) -> None:
    """LIMIT and OFFSET above what an index can be (``LIMIT 99999999999999999999999``) are
    taken as that many — the answer is the same, and the row limit still applies — where
    rdflib's slicing failed with Python's own message (found by a hostile-input review)."""
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, CompValue):
            if item.name == "Slice":
                for key in ("start", "length"):  # each at most half: their sum is an index too
                    if isinstance(item.get(key), int) and item[key] > sys.maxsize // 2:
                        item[key] = sys.maxsize // 2
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def _node_names(node: Any) -> set[str]:
    from rdflib.plugins.sparql.parserutils import CompValue

    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, CompValue):
            found.add(item.name)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return found


#: the most characters of a SPARQL function's own error message passed on
MAX_DETAIL_CHARS = 240

#: the largest answer body sent back, in bytes
MAX_RESULT_BYTES = 20_000_000


def run_query(
    graph: Any,
    text: str,
    accept: str | None,
    max_rows: int,
    max_bytes: int = MAX_RESULT_BYTES,
    lang: str = DEFAULT_LANG,
) -> SparqlAnswer:
    """Check and run one query over ``graph``; never raises (a refusal says why in ``lang``)."""
    checked = check_query(text, lang)
    if isinstance(checked, SparqlAnswer):
        return checked
    query, form = checked
    graph_form = form in ("ConstructQuery", "DescribeQuery")
    choices = GRAPH_TYPES if graph_form else ASK_TYPES if form == "AskQuery" else SELECT_TYPES
    default = "text/turtle" if graph_form else "application/sparql-results+json"
    media = negotiate(accept, choices, default)
    if media is None:
        return _error(
            406, "not acceptable", say(lang, "http.not_acceptable", types=", ".join(choices))
        )
    try:
        result = graph.query(query)
        if graph_form:
            size = len(result.graph)
            if size > max_rows:
                return _error(
                    400,
                    "result too large",
                    say(lang, "sparql.too_many_triples", n=f"{size:,}", limit=f"{max_rows:,}"),
                )
            for prefix, namespace in PREFIXES.items():
                result.graph.bind(prefix, namespace, override=True)
            body = result.graph.serialize(format=choices[media], encoding="utf-8")
        else:
            if form == "SelectQuery":
                for rows, _ in enumerate(result, start=1):
                    if rows > max_rows:
                        return _error(
                            400,
                            "result too large",
                            say(lang, "sparql.too_many_rows", limit=f"{max_rows:,}"),
                        )
            if choices[media] == "tsv":
                body = tsv_results(result)
            else:
                body = result.serialize(format=choices[media], encoding="utf-8")
    except MemoryError:
        answer = _error(
            400,
            "query needs too much memory",
            say(lang, "sparql.memory"),
        )
        return SparqlAnswer(answer.status, answer.content_type, answer.body, retire=True)
    except RecursionError:
        return _error(400, "query too deep", say(lang, "sparql.too_deep"))
    except Exception as exc:
        return _error(400, "query failed", _library_failure(exc, lang))
    if len(body) > max_bytes:
        return _error(
            400,
            "result too large",
            say(lang, "sparql.too_many_bytes", n=f"{len(body):,}", limit=f"{max_bytes:,}"),
        )
    content_type = media + ("; charset=utf-8" if media.startswith("text/") else "")
    return SparqlAnswer(
        200, content_type, body if isinstance(body, bytes) else str(body).encode("utf-8")
    )


def _syntax(exc: Exception, text: str, lang: str) -> str:
    """Where a query stops being SPARQL, in the reader's language: the line, the column and the
    words there (the parser's own English, "Expected SelectQuery, found end of text", was quoted
    in the Chinese answer). The words are read from the text the parser saw (rdflib expands
    ``\\uXXXX`` escapes first, so its positions count in that text)."""
    line, column, at = (getattr(exc, k, None) for k in ("lineno", "col", "loc"))
    if not isinstance(line, int) or not isinstance(column, int) or not isinstance(at, int):
        return say(lang, "sparql.not_sparql")
    seen = getattr(exc, "pstr", None)
    rest = (seen if isinstance(seen, str) else text)[at:].strip()
    near = f"'{rest[:30]}…'" if len(rest) > 30 else f"'{rest}'" if rest else None
    return say(
        lang,
        "sparql.syntax_at",
        line=line,
        column=column,
        near=near if near is not None else say(lang, "sparql.ends_here"),
    )


def _library_failure(exc: Exception, lang: str) -> str:
    """Words for an error raised while rdflib evaluated a query: what happened, not its internals."""
    message = str(exc)
    if "NegatedPath" in message:
        return say(lang, "sparql.negated_path")
    if isinstance(exc, (TypeError, ValueError, ZeroDivisionError, OverflowError)) and message:
        # value errors from SPARQL functions (a bad datatype, a division by zero) are the query's
        return say(lang, "sparql.cannot_evaluate", detail=message[:MAX_DETAIL_CHARS])
    return say(lang, "sparql.engine_failed")


def limit_memory(budget_bytes: int) -> bool:
    """Cap this process's address space at what it uses now plus ``budget_bytes`` (Linux).

    Returns False where the limit cannot be set (no ``resource`` module or no /proc)."""
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as statm:
            in_use = int(statm.read().split()[0]) * resource.getpagesize()
        limit = in_use + budget_bytes
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):
        return False
    return True


# ── worker processes ─────────────────────────────────────────────────────────────────────────


def _worker_main(
    conn: multiprocessing.connection.Connection, measures: str | None, memory_bytes: int
) -> None:
    """A worker: load the knowledge base once, then answer queries until told to stop."""
    import rdflib.plugins.sparql as sparql_settings

    from ..api import load

    sparql_settings.SPARQL_LOAD_GRAPHS = False  # never load a graph named in a query
    graph = load(measures).graph
    if memory_bytes > 0:
        limit_memory(memory_bytes)
    conn.send("ready")
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        text, accept, max_rows, max_bytes, lang = message
        try:
            answer = run_query(graph, text, accept, max_rows, max_bytes, lang)
        except Exception as exc:  # pragma: no cover - run_query catches what it can
            answer = _error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error", type(exc).__name__)
        conn.send(answer)
        if answer.retire:
            return


@dataclass
class _Worker:
    process: Any
    conn: multiprocessing.connection.Connection


class SparqlWorkers:
    """A small pool of query processes with a per-query time limit."""

    def __init__(
        self,
        measures: str | None,
        size: int = 2,
        timeout: float = 5.0,
        max_rows: int = 10_000,
        memory_mb: int = 1024,
        max_bytes: int = MAX_RESULT_BYTES,
    ) -> None:
        self.measures = measures
        self.size = size
        self.timeout = timeout
        self.max_rows = max_rows
        self.memory_bytes = memory_mb * 1024 * 1024
        self.max_bytes = max_bytes
        self._context = multiprocessing.get_context("spawn")
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: list[_Worker] = []
        self._starting: set[asyncio.Task[None]] = set()

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main, args=(child, self.measures, self.memory_bytes), daemon=True
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self._all.append(worker)
        return worker

    async def _ready(self, worker: _Worker) -> None:
        loop = asyncio.get_running_loop()
        ok = await loop.run_in_executor(None, worker.conn.poll, 60.0)
        if not ok or worker.conn.recv() != "ready":
            raise EnvironmentProblem(Msg("sparql.worker_start"))
        assert self._idle is not None
        await self._idle.put(worker)

    async def start(self) -> None:
        """Start the workers and wait until each has loaded the graph."""
        self._idle = asyncio.Queue()
        await asyncio.gather(*(self._ready(self._spawn()) for _ in range(self.size)))

    async def stop(self) -> None:
        for worker in self._all:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in self._all:
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
        self._all.clear()

    def _retire(self, worker: _Worker) -> None:
        worker.process.kill()
        worker.process.join(timeout=2)
        worker.conn.close()
        if worker in self._all:
            self._all.remove(worker)

    def _replace(self, worker: _Worker) -> None:
        """Kill a worker and start a fresh one in the background (it joins the pool when ready)."""
        self._retire(worker)
        task = asyncio.get_running_loop().create_task(self._ready(self._spawn()))
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def query(self, text: str, accept: str | None, lang: str = DEFAULT_LANG) -> SparqlAnswer:
        """Run one query in a worker; 503 when it runs past the time limit or all are busy (a
        refusal says why in ``lang``)."""
        assert self._idle is not None, "start() the workers first"
        try:
            worker = await asyncio.wait_for(self._idle.get(), timeout=self.timeout)
        except TimeoutError:
            return _error(503, "busy", say(lang, "sparql.busy"))
        loop = asyncio.get_running_loop()
        try:
            worker.conn.send((text, accept, self.max_rows, self.max_bytes, lang))
            done = await loop.run_in_executor(None, worker.conn.poll, self.timeout)
            if not done:
                self._retire(worker)
                asyncio.get_running_loop().create_task(self._ready(self._spawn()))
                detail = say(lang, "sparql.timed_out", seconds=f"{self.timeout:g}")
                return _error(503, "query timed out", detail)
            answer: SparqlAnswer = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._replace(worker)
            return _error(503, "query worker failed", say(lang, "sparql.worker_failed"))
        if answer.retire:
            self._replace(worker)
        else:
            await self._idle.put(worker)
        return answer
