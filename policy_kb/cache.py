"""The cache folder: results that depend only on bytes shipped or given, kept between runs.

A kept result is a JSON file named by the SHA-256 of everything it depends on: always the
package version and the files of the code that makes it (their names, sizes and times), so
nothing is used across versions, nor by code changed in a checkout whose version did not move
(a measures file found sound by older checks was trusted by newer ones). It is read with the
JSON parser, never as
code, ignored when it cannot be read or is not what the caller expects, written atomically
(temporary file + rename) and may be deleted at any time. ``POLICY_KB_CACHE_DIR`` chooses the
folder (default ``$XDG_CACHE_HOME/policy_kb``, else ``~/.cache/policy_kb``);
``POLICY_KB_CACHE_DIR=off`` turns it off. A folder that cannot be written is simply not used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import cache
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


_PACKAGE = Path(__file__).resolve().parent


#: the folders whose code makes what is kept: the reading and checking of measures.yaml (a
#: verdict of "sound") and the message catalogues
_MAKERS = ("policy", "rules", "schemas", "text")


@cache
def code_stamp() -> bytes:
    """The code that makes what is kept, as installed: each file's name, size and modification
    time in :data:`_MAKERS` (stat, not read: about 0.3 ms once per process)."""
    found: list[str] = []
    for name in _MAKERS:
        with os.scandir(_PACKAGE / name) as entries:
            for item in entries:
                if item.name.endswith((".py", ".json", ".yaml")) and item.is_file():
                    stat = item.stat()
                    found.append(f"{item.path}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(sorted(found)).encode()


def entry(kind: str, *inputs: bytes) -> Path | None:
    """Where the result of ``kind`` for these inputs is kept (None: the cache is off)."""
    where = folder()
    if where is None:
        return None
    key = sha256_hex(b"\0".join((__version__.encode(), code_stamp(), kind.encode(), *inputs)))
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
