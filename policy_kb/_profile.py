"""Enterprise profiles: read them, check them against the fact definitions, refuse what is wrong.

A profile maps fact ids (READING.md §2) to values. A fact that is absent or ``null`` is
*unknown*. Nothing is guessed: a text where a number belongs, a negative count, ``tech_staff``
above ``employees``, a town that is not in 附件2 or an unknown fact name is refused with a
message naming the fact, the value and what was expected. Chinese labels (``职工总数``) are
accepted as keys too, since policy staff write them.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from ._errors import Location, ProfileError, ProfileIssue, ProfileSyntaxError
from ._model import FactDef, FactType, PolicyModel
from ._suggest import did_you_mean
from ._yamlsource import YamlDocument, decode, read_yaml

#: A profile is a page of facts; a megabyte is far beyond any real one.
MAX_PROFILE_BYTES = 1_000_000
_MAX_TEXT = 1000
_YEAR_RANGE = (1949, 2100)


@dataclass(frozen=True)
class Profile:
    """A validated profile: the known facts only (unknown facts are simply absent)."""

    values: Mapping[str, Any]
    source: str | None = None
    given: tuple[str, ...] = field(default=())

    def get(self, fact: str) -> Any:
        """The value of ``fact``, or None when it is unknown."""
        return self.values.get(fact)

    @property
    def name(self) -> str | None:
        value = self.values.get("name")
        return value if isinstance(value, str) else None

    def to_dict(self) -> dict[str, Any]:
        """The known facts as a plain dict, in the order of the fact definitions."""
        return dict(self.values)


@dataclass(frozen=True)
class RawProfile:
    """A profile as read from a file, before validation, with positions when it was YAML."""

    data: Any
    source: str
    document: YamlDocument | None = None


def read_profile(path: str, stdin_text: str | None = None) -> RawProfile:
    """Read a YAML or JSON profile file (``-`` reads standard input).

    Raises :class:`ProfileError` when the file cannot be read or parsed.
    """
    if path == "-":
        text = stdin_text if stdin_text is not None else sys.stdin.read()
        raw = text.encode("utf-8")
        source = "<stdin>"
    else:
        source = path
        try:
            with FsPath(path).open("rb") as fh:
                raw = fh.read(MAX_PROFILE_BYTES + 1)
        except FileNotFoundError:
            raise ProfileError([ProfileIssue("", f"{path}: no such file")]) from None
        except IsADirectoryError:
            raise ProfileError(
                [ProfileIssue("", f"{path}: is a directory, not a profile file")]
            ) from None
        except OSError as exc:
            raise ProfileError(
                [ProfileIssue("", f"{path}: cannot be read ({exc.strerror})")]
            ) from None
    text, problem = decode(raw, source, MAX_PROFILE_BYTES)
    if text is None:
        assert problem is not None
        raise ProfileError([ProfileIssue("", str(problem), problem.location)])
    return parse_profile_text(text, source)


def parse_profile_text(text: str, source: str) -> RawProfile:
    """Parse profile text: JSON when it looks like JSON (or the file ends in .json), else YAML."""
    stripped = text.lstrip()
    if source.endswith(".json") or stripped.startswith(("{", "[")):
        return RawProfile(parse_json_profile(text, source), source)
    doc = read_yaml(text, source)
    if doc.problems:
        raise ProfileError(
            [
                ProfileIssue("", p.message + (f" ({p.expected})" if p.expected else ""), p.location)
                for p in doc.problems
            ]
        )
    return RawProfile(doc.data, source, doc)


def parse_json_profile(text: str, source: str) -> Any:
    """Parse JSON strictly: duplicate keys, NaN and Infinity are refused (:class:`ProfileSyntaxError`)."""

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not a number JSON allows")

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise ValueError(f"duplicate key {key!r}")
            out[key] = value
        return out

    try:
        return json.loads(text, parse_constant=no_constants, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        loc = Location(source, exc.lineno, exc.colno)
        raise ProfileSyntaxError(f"JSON syntax error: {exc.msg}", loc) from None
    except (ValueError, RecursionError) as exc:
        raise ProfileSyntaxError(f"{source}: {exc}") from None


def validate_profile(model: PolicyModel, raw: RawProfile | Mapping[str, Any] | Any) -> Profile:
    """Check a profile against the fact definitions of ``model``; raise :class:`ProfileError`.

    ``raw`` is a :class:`RawProfile` (from :func:`read_profile`) or any mapping of facts.
    Every problem is reported, not only the first.
    """
    if isinstance(raw, Profile):
        return raw
    source = raw.source if isinstance(raw, RawProfile) else None
    doc = raw.document if isinstance(raw, RawProfile) else None
    data = raw.data if isinstance(raw, RawProfile) else raw
    if not isinstance(data, Mapping):
        kind = (
            "a list"
            if isinstance(data, list)
            else "empty"
            if data is None
            else f"the value {data!r}"
        )
        where = doc.at(()) if doc else None
        raise ProfileError(
            [
                ProfileIssue(
                    "",
                    f"a profile must be a mapping of fact: value, but {source or 'the input'} is {kind}",
                    where,
                )
            ]
        )
    checker = _Checker(model, doc)
    values = checker.check(data)
    if checker.issues:
        raise ProfileError(checker.issues)
    order = {name: i for i, name in enumerate(model.facts)}
    ordered = dict(sorted(values.items(), key=lambda kv: order.get(kv[0], len(order))))
    return Profile(ordered, source, tuple(ordered))


class _Checker:
    def __init__(self, model: PolicyModel, doc: YamlDocument | None) -> None:
        self.model = model
        self.doc = doc
        self.issues: list[ProfileIssue] = []
        self.by_label = {f.label_zh: f.id for f in model.facts.values()}

    def _issue(self, fact: str, key: Any, message: str) -> None:
        loc = None
        if self.doc is not None:
            loc = self.doc.value_locations.get((key,)) or self.doc.key_locations.get((key,))
        self.issues.append(ProfileIssue(fact, message, loc))

    def check(self, data: Mapping[Any, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        keys: dict[str, Any] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                self._issue(
                    str(key),
                    key,
                    f"{key!r} is not a fact name (expected one of the fact ids, such as 'employees')",
                )
                continue
            name = key if key in self.model.facts else self.by_label.get(key, key)
            if name in keys:
                self._issue(name, key, f"{name}: given twice (as '{keys[name]}' and as '{key}')")
                continue
            keys[name] = key
            if name in self.model.derived:
                d = self.model.derived[name]
                self._issue(
                    name,
                    key,
                    f"{name} ({d.label_zh}) is computed from {', '.join(d.inputs)} and cannot be given; give those facts instead",
                )
                continue
            fact = self.model.facts.get(name)
            if fact is None:
                hint = did_you_mean(key, [*self.model.facts, *self.by_label])
                hint = hint or "see 'policy-kb facts' for the list"
                self._issue(key, key, f"{key}: unknown fact ({hint})")
                continue
            if value is None:
                continue  # unknown
            checked = self._value(fact, key, value)
            if checked is not _INVALID:
                values[name] = checked
        self._cross_checks(values, keys)
        return values

    def _expect(self, fact: FactDef, key: str, value: Any, expected: str) -> object:
        shown = "true" if value is True else "false" if value is False else repr(value)
        self._issue(fact.id, key, f"{fact.id} ({fact.label_zh}): expected {expected}, got {shown}")
        return _INVALID

    def _value(self, fact: FactDef, key: str, value: Any) -> Any:
        t = fact.type
        if t is FactType.BOOL:
            if isinstance(value, bool):
                return value
            return self._expect(fact, key, value, "true or false (or leave it out when unknown)")
        if t is FactType.TEXT:
            if isinstance(value, str) and len(value) <= _MAX_TEXT:
                return value
            return self._expect(fact, key, value, f"a text of at most {_MAX_TEXT} characters")
        if t is FactType.TOWN:
            towns = [tw.name for tw in self.model.targets.towns] if self.model.targets else []
            if isinstance(value, str) and value in towns:
                return value
            hint = did_you_mean(value, towns) if isinstance(value, str) else ""
            expected = f"one of the {len(towns)} towns of 附件2: " + "、".join(towns)
            if hint:
                expected = f"one of the {len(towns)} towns of 附件2 ({hint})"
            return self._expect(fact, key, value, expected)
        number = _as_number(value)
        unit = f" {fact.unit}" if fact.unit else ""
        if t in (FactType.COUNT, FactType.YEAR):
            if number is None or (isinstance(number, float) and not number.is_integer()):
                return self._expect(
                    fact,
                    key,
                    value,
                    "a whole number" + (f" of{unit}" if unit and t is FactType.COUNT else ""),
                )
            number = int(number)
            if t is FactType.YEAR and not (_YEAR_RANGE[0] <= number <= _YEAR_RANGE[1]):
                return self._expect(
                    fact, key, value, f"a year from {_YEAR_RANGE[0]} to {_YEAR_RANGE[1]}"
                )
        elif number is None:
            hint = " in 元 (not 万元)" if fact.unit == "元" else ""
            return self._expect(fact, key, value, f"a number{hint}, such as 1500000")
        if fact.minimum is not None and number < fact.minimum:
            what = "an amount" if t is FactType.MONEY else "a number"
            return self._expect(fact, key, value, f"{what} ≥ {_num(fact.minimum)}{unit}")
        if isinstance(fact.maximum, (int, float)) and number > fact.maximum:
            return self._expect(fact, key, value, f"at most {_num(fact.maximum)}{unit}")
        return number

    def _cross_checks(self, values: dict[str, Any], keys: Mapping[str, Any]) -> None:
        for fact in self.model.facts.values():
            if not isinstance(fact.maximum, str) or fact.id not in values:
                continue
            limit = values.get(fact.maximum)
            if limit is not None and values[fact.id] > limit:
                other = self.model.facts[fact.maximum]
                self._issue(
                    fact.id,
                    keys.get(fact.id, fact.id),
                    f"{fact.id} ({fact.label_zh}): expected at most {fact.maximum} ({other.label_zh}) = {_num(limit)}, got {_num(values[fact.id])}",
                )
                del values[fact.id]


_INVALID = object()


def _as_number(value: Any) -> int | float | None:
    """An int or finite float, else None. Booleans, texts, NaN and infinities are not numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return None


def _num(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) and abs(value) >= 10_000 else str(value)
