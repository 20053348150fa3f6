"""The HTTP/1.1 connection, as uvicorn's httptools protocol with errors in the API's own shape.

A request the server cannot parse never reaches the application, so uvicorn answers it itself —
as ``text/plain`` "Invalid HTTP request received.". Clients of this API read every error as an
RFC 9457 problem, so this protocol answers those too as ``application/problem+json``: a request
line longer than :data:`MAX_URL_BYTES` is a 414 (stopped as soon as the URL passes the limit; what
the client still sends is read and dropped for a few seconds, so that closing the connection does
not reset it before the client has read the answer), anything else malformed a 400.
"""

from __future__ import annotations

import re

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..text import DEFAULT_LANG, say

#: the longest request target (path and query) accepted, in bytes
MAX_URL_BYTES = 32_768

#: seconds the rest of a refused request is drained before the connection is closed
DRAIN_SECONDS = 5.0

_REASONS = {400: b"Bad Request", 414: b"URI Too Long"}


def problem_bytes(status: int, title: str, detail: str) -> bytes:
    """A complete ``Connection: close`` HTTP/1.1 response carrying one problem document."""
    body = orjson.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    head = b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])
    return (
        head
        + b"content-type: application/problem+json\r\n"
        + b"content-length: %d\r\n" % len(body)
        + b"connection: close\r\n\r\n"
        + body
    )


class Protocol(HttpToolsProtocol):
    """``uvicorn --http policy_kb.serve.wire:Protocol``: JSON problems for unparsable requests."""

    _draining = False

    def data_received(self, data: bytes) -> None:
        if not self._draining:
            super().data_received(data)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            raise httptools.HttpParserError("request target too long")

    def send_400_response(self, msg: str) -> None:
        if len(getattr(self, "url", b"")) > MAX_URL_BYTES:
            detail = say(_lang_of(self.url), "http.url_too_long", limit=f"{MAX_URL_BYTES:,}")
            answer = problem_bytes(414, "URI too long", detail)
            self._draining = True
            self.transport.write(answer)
            if self.transport.can_write_eof():
                self.transport.write_eof()
            self.loop.call_later(DRAIN_SECONDS, self.transport.close)
            return
        detail = say(DEFAULT_LANG, "http.not_valid")  # no request, so no language asked for
        self.transport.write(problem_bytes(400, "bad request", detail))
        self.transport.close()


def _lang_of(url: bytes) -> str:
    """The language a request target asks for with ``lang=`` (Chinese without one): a request
    too long to be parsed may still say it."""
    found = re.search(rb"[?&]lang=(zh|en)(?:&|$)", url)
    return found.group(1).decode() if found else DEFAULT_LANG
