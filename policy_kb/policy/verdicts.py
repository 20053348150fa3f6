"""Which measures files this version of policy_kb has already found structurally sound.

Checking a measures file against its JSON Schema is most of the cost of loading it (the schema
library alone takes longer to import than the rest of the package). A file whose bytes were
checked before, by the same version of policy_kb and the same schema, gives the same verdict, so
the verdict is remembered as an empty marker file named by the SHA-256 of those three things.

Only "no structural problem" is remembered; the model itself is always rebuilt from the file and
every other check runs each time. The markers hold no data (nothing is read back from them but
their existence), are never trusted across versions (the version and the schema are in the name),
and may be deleted at any time. ``POLICY_KB_CACHE_DIR`` chooses the folder (default
``$XDG_CACHE_HOME/policy_kb``, else ``~/.cache/policy_kb``); ``POLICY_KB_CACHE_DIR=off`` turns
it off. A folder that cannot be written is simply not used.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..version import __version__
from .resources import schema_bytes


def _folder() -> Path | None:
    chosen = os.environ.get("POLICY_KB_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "policy_kb"


def _marker(file_sha256: str) -> Path | None:
    folder = _folder()
    if folder is None:
        return None
    key = hashlib.sha256(
        b"\0".join((__version__.encode(), schema_bytes("measures"), file_sha256.encode()))
    ).hexdigest()
    return folder / "sound" / key


def known_sound(file_sha256: str) -> bool:
    """True when this version has checked these bytes against this schema and found no problem."""
    marker = _marker(file_sha256)
    return marker is not None and marker.is_file()


def remember_sound(file_sha256: str) -> None:
    """Remember that these bytes passed the structural check (best effort, never an error)."""
    marker = _marker(file_sha256)
    if marker is None:
        return
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        partial = marker.with_name(f".{marker.name}.{os.getpid()}")
        partial.write_bytes(b"")
        os.replace(partial, marker)  # appears whole or not at all
    except OSError:
        pass
