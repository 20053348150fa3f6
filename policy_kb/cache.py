"""The cache folder: results that depend only on bytes shipped or given, kept between runs.

A kept result is a JSON file named by the SHA-256 of everything it depends on (always the
package version, so nothing is used across versions). It is read with the JSON parser, never as
code, ignored when it cannot be read or is not what the caller expects, written atomically
(temporary file + rename) and may be deleted at any time. ``POLICY_KB_CACHE_DIR`` chooses the
folder (default ``$XDG_CACHE_HOME/policy_kb``, else ``~/.cache/policy_kb``);
``POLICY_KB_CACHE_DIR=off`` turns it off. A folder that cannot be written is simply not used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .version import __version__


def _sha256() -> Callable[[bytes], Any]:
    """CPython's own SHA-256 (``import hashlib`` first loads OpenSSL: 10 ms of every start)."""
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]  # CPython 3.12 and later
    except ImportError:
        try:
            from _sha256 import sha256  # type: ignore[import-not-found]  # CPython 3.11
        except ImportError:  # another interpreter
            from hashlib import sha256
    return sha256  # type: ignore[no-any-return]


_SHA256 = _sha256()


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data``, in hexadecimal."""
    return str(_SHA256(data).hexdigest())


def folder() -> Path | None:
    """The cache folder, or None when the cache is turned off."""
    chosen = os.environ.get("POLICY_KB_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "policy_kb"


def entry(kind: str, *inputs: bytes) -> Path | None:
    """Where the result of ``kind`` for these inputs is kept (None: the cache is off)."""
    where = folder()
    if where is None:
        return None
    key = sha256_hex(b"\0".join((__version__.encode(), kind.encode(), *inputs)))
    return where / kind / f"{key}.json"


def read(path: Path | None) -> Any:
    """The kept value, or None when there is none that can be read."""
    if path is None:
        return None
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def write(path: Path | None, value: Any) -> None:
    """Keep ``value`` (best effort: a folder that cannot be written is no error)."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, path)  # appears whole or not at all
    except OSError:
        pass
