"""'Did you mean …?' suggestions for misspelt names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_matches(name: str, candidates: Iterable[str], limit: int = 2) -> list[str]:
    """The known names closest to ``name``, best first (at most ``limit``)."""
    pool = list(dict.fromkeys(candidates))
    matches = difflib.get_close_matches(name, pool, n=limit, cutoff=0.6)
    if not matches:
        folded = name.casefold()
        matches = [c for c in pool if c.casefold() == folded][:limit]
    return matches


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` or an empty string when nothing is close."""
    matches = close_matches(name, candidates)
    if not matches:
        return ""
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?"
