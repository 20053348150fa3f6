"""Enterprise profiles: read them, check them against the fact definitions, refuse what is wrong.

A profile maps fact ids to values. A fact that is absent or ``null`` is *unknown* (so is a NaN
or pandas' ``NA`` handed over from Python; JSON itself refuses NaN). Nothing is guessed: a text
where a number belongs, a negative count, ``tech_staff`` above ``employees``, a town that is not in
附件2 or an unknown fact name is refused with a message naming the fact, the value and what was
expected. Chinese labels (``职工总数``) are accepted as keys too, since policy staff write them.
numpy and pandas numbers are read as the Python numbers they hold.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import numbers
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from ..errors import Location, ProfileError, ProfileIssue, ProfileSyntaxError, os_reason
from ..records import Valued
from ..text import (
    SHOWN_CHARACTERS,
    Msg,
    Words,
    cut,
    did_you_mean,
    number,
    printable,
    shown_cut,
)
from .model import NUMERIC, YEAR_RANGE, FactDef, FactType, PolicyModel
from .yamlsource import MAX_DIGITS, OutOfRange, YamlDocument, decode, read_yaml, written_float

#: A profile is a page of facts; a megabyte is far beyond any real one.
MAX_PROFILE_BYTES = 1_000_000
MAX_TEXT = 1000
#: a profile names each of the policy's few dozen facts once at most; 40,000 keys took 13 s to
#: refuse one by one (each compared with every name) and answered 8 MB of refusals
MAX_KEYS = 200


YES_WORDS = frozenset({"true", "是"})
NO_WORDS = frozenset({"false", "否"})
"""How a yes/no fact may be written as text, the same in a profile, a roster cell and the HTTP API
(true / false in any case, or 是 / 否); anything else — ``yes``, ``on``, ``1`` — is refused rather
than guessed."""


def yes_no(value: Any) -> bool | None:
    """``value`` as a yes/no answer, or None when it is not one of the accepted spellings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        return True if word in YES_WORDS else False if word in NO_WORDS else None
    return None


@dataclass(frozen=True, eq=False, repr=False)
class Profile(Valued):
    """A validated profile: the known facts only (unknown facts are simply absent)."""

    values: Mapping[str, Any]
    source: str | None = None
    given: tuple[str, ...] = field(default=())

    def get(self, fact: str) -> Any:
        """The value of ``fact``, or None when it is unknown."""
        return self.values.get(fact)

    @property
    def name(self) -> str | None:
        """The enterprise's name when the profile gives one."""
        value = self.values.get("name")
        return value if isinstance(value, str) else None

    def to_dict(self) -> dict[str, Any]:
        """The known facts as a plain dict, in the order of the fact definitions."""
        return dict(self.values)


@dataclass(frozen=True, eq=False, repr=False)
class RawProfile(Valued):
    """A profile as read from a file, before validation, with positions when it was YAML."""

    data: Any
    source: str
    document: YamlDocument | None = None


def read_profile(path: str | os.PathLike[str], stdin_text: str | None = None) -> RawProfile:
    """Read a YAML or JSON profile file (``-`` reads standard input; a ``pathlib.Path`` is a
    file like its text).

    Raises :class:`ProfileError` when the file cannot be read or parsed.
    """
    path = os.fspath(path)
    size = None
    if path == "-":
        source = "<stdin>"
        if stdin_text is not None:
            raw = stdin_text.encode("utf-8")
        else:
            raw = sys.stdin.buffer.read(MAX_PROFILE_BYTES + 1)
    else:
        source = path
        try:
            with FsPath(path).open("rb") as fh:
                raw = fh.read(MAX_PROFILE_BYTES + 1)
                size = FsPath(path).stat().st_size
        except FileNotFoundError:
            raise ProfileSyntaxError(Msg("file.no_such", path=path)) from None
        except IsADirectoryError:
            raise ProfileSyntaxError(Msg("file.is_directory", path=path)) from None
        except OSError as exc:
            raise ProfileSyntaxError(
                Msg("file.unreadable", path=path, detail=os_reason(exc))
            ) from None
    text, problem = decode(raw, source, MAX_PROFILE_BYTES, size)
    if text is None:
        assert problem is not None
        raise ProfileSyntaxError(
            problem.message
            if problem.expected is None
            else Msg("with_hint", text=problem.message, hint=problem.expected),
            problem.location,
        )
    return parse_profile_text(text, source)


def parse_profile_text(text: str, source: str) -> RawProfile:
    """Parse profile text: JSON when it looks like JSON (or the file ends in .json), else YAML."""
    stripped = text.lstrip()
    if source.endswith(".json") or stripped.startswith(("{", "[")):
        return RawProfile(parse_json_profile(text, source), source)
    doc = read_yaml(text, source, alias_hint="yaml.hint.write_out_value")
    if doc.problems:
        issues = [
            ProfileIssue(
                "",
                p.message
                if p.expected is None
                else Msg("with_hint", text=p.message, hint=p.expected),
                p.location,
            )
            for p in doc.problems
        ]
        raise ProfileError(issues)
    return RawProfile(doc.data, source, doc)


_JSON_PROBLEMS = {  # what Python's json module says → the catalogue's sentence
    "Expecting value": "json.problem.value",
    "Expecting property name enclosed in double quotes": "json.problem.name",
    "Expecting ':' delimiter": "json.problem.colon",
    "Expecting ',' delimiter": "json.problem.comma",
    "Unterminated string starting at": "json.problem.string",
    "Invalid control character at": "json.problem.control",
    "Invalid \\escape": "json.problem.escape",
    "Invalid \\uXXXX escape": "json.problem.escape",
    "Extra data": "json.problem.extra",
}


def parse_json_profile(text: str, source: str) -> Any:
    """Parse JSON strictly: duplicate keys, NaN and Infinity are refused (:class:`ProfileSyntaxError`)."""

    def no_constants(name: str) -> Any:
        raise ValueError(Msg("json.constant", name=name))

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise ValueError(Msg("json.duplicate", key=key))
            out[key] = value
        return out

    def whole(digits: str) -> int:
        n = len(digits.lstrip("-"))
        if n > MAX_DIGITS:  # before int(), whose own refusal names a Python setting
            raise ValueError(
                Msg(
                    "with_hint",
                    text=Msg("yaml.long_number", digits=n),
                    hint=Msg("yaml.hint.digits", digits=MAX_DIGITS),
                )
            )
        return int(digits)

    def real(digits: str) -> float | OutOfRange:
        value = written_float(digits)
        # too large for a float: kept as written, which JSON has no other place for
        return OutOfRange(digits) if value in (math.inf, -math.inf) else value

    try:
        return json.loads(
            text,
            parse_constant=no_constants,
            parse_int=whole,
            parse_float=real,
            object_pairs_hook=pairs,
        )
    except json.JSONDecodeError as exc:
        key = _JSON_PROBLEMS.get(exc.msg)  # Python's English, said in the reader's language
        detail = Msg(key) if key is not None else Msg("literal", text=exc.msg)
        raise ProfileSyntaxError(
            Msg("json.syntax", detail=detail), Location(source, exc.lineno, exc.colno)
        ) from None
    except ValueError as exc:
        detail = (
            exc.args[0]
            if exc.args and isinstance(exc.args[0], Msg)
            else Msg("literal", text=str(exc))
        )
        raise ProfileSyntaxError(Msg("json.refused", source=source, detail=detail)) from None
    except RecursionError:
        raise ProfileSyntaxError(Msg("json.too_deep", source=source)) from None


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
            Msg("show.list")
            if isinstance(data, list)
            else Msg("show.empty")
            if data is None
            else Msg("show.value", text=shown_cut(repr(data)))
        )
        where = doc.at(()) if doc else None
        message = Msg("profile.not_mapping", source=source or Msg("profile.the_input"), kind=kind)
        if isinstance(data, str) and "：" in data:  # every key typed with a Chinese input method
            key = data.split("：", 1)[0].strip()
            message = Msg(
                "profile.fullwidth_colons",
                said=message,
                slip=Msg(
                    "yaml.fullwidth_colon", key=cut(key) if len(key) > SHOWN_CHARACTERS else key
                ),
                hint=Msg("yaml.hint.fullwidth_colon"),
            )
        raise ProfileError(
            [
                ProfileIssue(
                    "",
                    message,
                    where,
                )
            ]
        )
    if doc is None:
        quick = _plain_profile(model, data)
        if quick is not None:
            return Profile(quick, source, tuple(quick))
    checker = _Checker(model, doc)
    values = checker.check(data)
    if checker.issues:
        raise ProfileError(checker.issues)
    ordered = {name: values[name] for name in model.facts if name in values}  # the file's order
    return Profile(ordered, source, tuple(ordered))


_INVALID = object()


class _Checker:
    def __init__(self, model: PolicyModel, doc: YamlDocument | None) -> None:
        self.model = model
        self.doc = doc
        self.issues: list[ProfileIssue] = []
        self.by_label = model.fact_by_label

    def _issue(self, fact: str, key: Any, message: Msg, at_key: bool = False) -> None:
        """An issue placed at the value (a bad value) or at the key (``at_key``: a name not
        known, or written twice)."""
        loc = None
        if self.doc is not None:
            at = self.doc.key_locations if at_key else self.doc.value_locations
            loc = at.get((key,)) or self.doc.key_locations.get((key,))
        self.issues.append(ProfileIssue(fact, message, loc))

    def check(self, data: Mapping[Any, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        keys: dict[str, Any] = {}
        if len(data) > MAX_KEYS:  # each unknown key is compared with every fact's name: said once
            self._issue(
                "",
                "",
                Msg("profile.too_many_keys", count=f"{len(data):,}", facts=len(self.model.facts)),
            )
            return values
        for key, value in data.items():
            if not isinstance(key, str):
                self._issue(str(key), key, Msg("profile.key_not_name", key=repr(key)))
                continue
            if not is_text(key):  # a lone surrogate (JSON's "\ud800"), a control character
                shown = printable(key)  # a lone surrogate as \ud800, an ESC as \x1b
                self._issue(shown, key, Msg("profile.key_not_text", key=shown))
                continue
            name = key if key in self.model.facts else self.by_label.get(key, key)
            if name in keys:
                self._issue(
                    name, key, Msg("profile.twice", fact=name, first=keys[name], second=key)
                )
                continue
            keys[name] = key
            if name in self.model.derived:
                d = self.model.derived[name]
                self._issue(
                    name,
                    key,
                    Msg("profile.derived", fact=name, label=d.label, inputs=", ".join(d.inputs)),
                )
                continue
            fact = self.model.facts.get(name)
            if fact is None:
                long = len(key) > SHOWN_CHARACTERS  # no fact is named so: not compared either
                found = None if long else did_you_mean(key, [*self.model.facts, *self.by_label])
                hint = found or Msg("profile.hint.facts")
                named: str | Msg = cut(key) if long else key
                self._issue(
                    key, key, Msg("profile.unknown_fact", key=named, hint=hint), at_key=True
                )
                continue
            if value is None:
                continue
            # the common cases, without the general checks
            checked = _plain_value(self.model.ranges[name], value)
            if checked is _INVALID:
                if _is_unknown(value) and self.doc is None:
                    continue  # a NaN handed over from Python (pandas' missing cell) is unknown
                checked = self._value(fact, key, value)
            if checked is not _INVALID:
                values[name] = checked
        self._cross_checks(values, keys)
        return values

    def _expect(self, fact: FactDef, key: str, value: Any, expected: Msg) -> object:
        typed = self.doc.typed.get((key,)) if self.doc is not None else None
        shown = typed if typed is not None else _shown(value)
        got: str | Msg = shown
        if len(shown) > SHOWN_CHARACTERS:  # a 900,000-character name was echoed whole
            got = cut(shown, len(value) if isinstance(value, str) else len(shown))
        self._issue(
            fact.id,
            key,
            Msg("profile.expected", fact=fact.id, label=fact.label, expected=expected, got=got),
        )
        return _INVALID

    def _value(self, fact: FactDef, key: str, value: Any) -> Any:
        t = fact.type
        if t is FactType.BOOL:
            found = yes_no(value)
            return (
                found if found is not None else self._expect(fact, key, value, Msg("expect.bool"))
            )
        if t is FactType.TEXT:
            typed = self.doc.typed.get((key,)) if self.doc is not None else None
            if typed is not None and not isinstance(value, bool):
                value = typed  # a name typed as 0123 is the text "0123"
            if (
                isinstance(value, str)
                and not isinstance(value, OutOfRange)
                and len(value) <= MAX_TEXT
            ):
                if is_text(value):
                    return value
                return self._expect(fact, key, value, Msg("expect.text_utf8"))
            return self._expect(fact, key, value, Msg("expect.text", max=MAX_TEXT))
        if t is FactType.TOWN:
            return self._town(fact, key, value)
        return self._number(fact, key, value)

    def _town(self, fact: FactDef, key: str, value: Any) -> Any:
        towns = [tw.name for tw in self.model.targets.towns] if self.model.targets else []
        if isinstance(value, str) and value in towns:
            return value
        hint = did_you_mean(value, towns) if isinstance(value, str) else None
        if hint:
            return self._expect(
                fact, key, value, Msg("expect.town_hint", count=len(towns), hint=hint)
            )
        return self._expect(
            fact, key, value, Msg("expect.town", count=len(towns), towns=Words(towns))
        )

    def _number(self, fact: FactDef, key: str, value: Any) -> Any:
        t = fact.type
        if isinstance(value, OutOfRange):
            return self._expect(fact, key, value, Msg("expect.float_range"))
        found = as_number(value)
        if isinstance(found, float) and not math.isfinite(found):
            found = None  # .nan or .inf written in a file: not a number of anything
        unit = fact.unit or ""
        if t in (FactType.COUNT, FactType.YEAR):
            if found is None or (isinstance(found, float) and not found.is_integer()):
                return self._expect(
                    fact,
                    key,
                    value,
                    Msg("expect.whole", unit=unit)
                    if unit and t is FactType.COUNT
                    else Msg("expect.whole_plain"),
                )
            found = int(found)
            if t is FactType.YEAR and not (YEAR_RANGE[0] <= found <= YEAR_RANGE[1]):
                return self._expect(
                    fact, key, value, Msg("expect.year", low=YEAR_RANGE[0], high=YEAR_RANGE[1])
                )
        elif found is None:
            return self._expect(
                fact, key, value, Msg("expect.yuan") if fact.unit == "元" else Msg("expect.number")
            )
        if fact.minimum is not None and found < fact.minimum:
            what = "expect.amount_min" if t is FactType.MONEY else "expect.number_min"
            return self._expect(fact, key, value, Msg(what, min=number(fact.minimum), unit=unit))
        top = self.model.ceilings[fact.id]  # tech_staff: at most employees' highest value
        if top is not None and found > top:
            return self._expect(fact, key, value, Msg("expect.at_most", max=number(top), unit=unit))
        return found

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
                    Msg(
                        "profile.over_other",
                        fact=fact.id,
                        label=fact.label,
                        other=fact.maximum,
                        other_label=other.label,
                        limit=number(limit),
                        got=number(values[fact.id]),
                    ),
                )
                del values[fact.id]


#: control characters (a NUL, an escape that recolours a terminal) and the marks that reorder
#: text on screen (U+202E shows "evil" as "live"): no name holds one, and a file's may hide one
#: (a tab or a line end, which a quoted cell may hold, is white space, not one of them)
# control characters, text-reordering marks, and U+FFFD: what stands where bytes were not text
CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffd"
_CONTROL = re.compile(f"[{CONTROLS}]")


def is_text(value: str) -> bool:
    """Whether ``value`` is text a name can be: UTF-8 can carry it (not a lone surrogate, which
    JSON's ``"\\ud800"`` escapes give and no answer, file or response could be written with) and
    it holds no control character or reordering mark (:data:`CONTROLS`)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return _CONTROL.search(value) is None


def _plain_value(allowed: tuple[FactType, float, float], value: Any) -> Any:
    """The value itself when it is plain for its fact (:attr:`PolicyModel.ranges`: its type and
    range): a Python bool for a yes/no fact, an int within the range for a number, a short text
    UTF-8 can carry for a text. Anything else (floats, numpy scalars, values out of range) is
    ``_INVALID`` here and goes through the full checks, which say what is wrong."""
    t, low, high = allowed
    kind = type(value)
    if kind is int:
        return value if t in NUMERIC and low <= value <= high else _INVALID
    if kind is bool:
        return value if t is FactType.BOOL else _INVALID
    if kind is str and t is FactType.TEXT and len(value) <= MAX_TEXT and is_text(value):
        return value
    return _INVALID


def _plain_profile(model: PolicyModel, data: Mapping[Any, Any]) -> dict[str, Any] | None:
    """The checked values of a profile that holds only fact ids with plain values in range (a
    Python bool for a yes/no fact, an int for a number, a short text for a text), in the file's
    order; None when anything needs the full checks (which then say what is wrong)."""
    ranges = model.ranges
    found: dict[str, Any] = {}
    for key, value in data.items():
        allowed = ranges.get(key) if type(key) is str else None
        if allowed is None:
            return None
        if value is None:
            continue
        if _plain_value(allowed, value) is _INVALID:
            return None
        found[key] = value
    for name, limit_name in model.bounded:  # a bound by another fact (tech_staff ≤ employees)
        value, limit = found.get(name), found.get(limit_name)
        if value is not None and limit is not None and value > limit:
            return None
    return {name: found[name] for name in model.facts if name in found}


def _is_unknown(value: Any) -> bool:
    """None, a float NaN (numpy's too) or pandas' ``NA`` / ``NaT``: the fact is not known."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return type(value).__name__ in ("NAType", "NaTType")


def _shown(value: Any) -> str:
    """A value as a message quotes it: a text in quotes, a number, a date or a decimal as
    written (``1000.5``, ``2020-01-01``; a Parquet decimal or timestamp was shown as Python's
    ``Decimal('1000.5')`` / ``datetime.datetime(2020, 1, 1, 0, 0)``), yes / no as true / false."""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, OutOfRange):
        return str(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, numbers.Number):  # numpy's too: np.float64(1.5) is said 1.5
        return str(value)
    return repr(value)


def as_number(value: Any) -> int | float | None:
    """An int or finite float, else None. Booleans, texts and infinities are not numbers.

    numpy's and pandas' scalars count as the Python numbers they hold.
    """
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        return f if math.isfinite(f) else None
    return None
