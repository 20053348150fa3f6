"""Equality, hashing and ``repr`` for the package's frozen dataclasses, each written once.

``@dataclass`` writes these methods anew for every class and compiles their source at import:
about 0.2 ms a class, some 10 ms of every start for the model, the rule tree and the results.
Those classes are declared ``@dataclass(frozen=True, slots=True, eq=False, repr=False)`` and
inherit the same behaviour from here instead:

- :class:`Shown` — ``Name(field=value, …)`` over the fields shown, as a dataclass writes it;
- :class:`Valued` — that, plus value equality (same class, equal compared fields; otherwise
  ``NotImplemented``) and a hash of the compared fields, as a frozen dataclass has.

None of these is on an evaluation's path (a tree node is looked up by identity, never hashed).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any


class Shown:
    """A dataclass's ``repr``, from one definition."""

    __slots__ = ()

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)  # type: ignore[arg-type]
        return f"{type(self).__qualname__}({shown})"


class Valued(Shown):
    """A frozen dataclass's ``==`` and ``hash``, from one definition."""

    __slots__ = ()

    def _compared(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in fields(self) if f.compare)  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Valued)
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        hashed = (
            getattr(self, f.name)
            for f in fields(self)  # type: ignore[arg-type]
            if (f.compare if f.hash is None else f.hash)
        )
        return hash(tuple(hashed))


__all__ = ["Shown", "Valued"]
