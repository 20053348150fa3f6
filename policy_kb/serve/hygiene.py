"""HTTP as caches and clients expect it: HEAD wherever GET is allowed, strong ETags and 304.

Two small ASGI middlewares wrapped around the whole application (compression is Starlette's
``GZipMiddleware``, inside them):

- :class:`HeadAsGet` answers ``HEAD`` as the ``GET`` of the same address would be answered, with
  the same status and headers (``Content-Length`` included) and no body;
- :class:`Validators` gives every successful ``GET`` answer a strong ``ETag`` — a hash of the
  bytes sent, so the compressed and the plain form of an answer have different tags, as
  RFC 9110 §8.8.3 asks of a strong validator — and answers a matching ``If-None-Match`` with
  ``304 Not Modified`` and no body. The answers are pure functions of the request over an
  immutable knowledge base, so the tag changes exactly when the answer does (another policy,
  another version, another request).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

#: headers a 304 repeats from the answer it stands for (RFC 9110 §15.4.5)
_KEPT_ON_304 = frozenset(
    {b"cache-control", b"content-location", b"date", b"etag", b"expires", b"vary"}
)


class HeadAsGet:
    """``HEAD`` is ``GET`` without the body (RFC 9110 §9.3.2)."""

    def __init__(self, app: ASGI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


def etag_of(body: bytes) -> bytes:
    """A strong entity tag for these bytes."""
    return b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode("ascii") + b'"'


def _matches(header: bytes, tag: bytes) -> bool:
    """``If-None-Match`` against a tag: ``*`` or any listed tag, compared weakly (§13.1.2)."""
    if header.strip() == b"*":
        return True
    plain = tag.removeprefix(b"W/")
    return any(t.strip().removeprefix(b"W/") == plain for t in header.split(b","))


class Validators:
    """A strong ``ETag`` on every ``200`` answer to ``GET``, and ``304`` when the client has it."""

    def __init__(self, app: ASGI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        asked = next((v for k, v in scope["headers"] if k == b"if-none-match"), None)
        start: Message | None = None
        parts: list[bytes] = []

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if message["status"] != 200:
                    await send(message)
                    return
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            parts.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(parts)
            headers = [(k, v) for k, v in start["headers"]]
            tag = next((v for k, v in headers if k == b"etag"), None)
            if tag is None:
                tag = etag_of(body)
                headers.append((b"etag", tag))
            if asked is not None and _matches(asked, tag):
                kept = [(k, v) for k, v in headers if k in _KEPT_ON_304]
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered)


__all__ = ["HeadAsGet", "Validators", "etag_of"]
