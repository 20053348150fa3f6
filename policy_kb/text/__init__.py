"""Words: the one place where policy_kb's sentences live, in Chinese and in English.

Two things carry language here, and nothing else in the package does:

- :class:`Text` — a label or title that measures.yaml gives in both languages (``label_zh`` and
  ``label_en``), picked with ``text[lang]``;
- :class:`Msg` — a sentence the program writes, as a key of the message catalogue and its
  arguments. ``msg.render("en")`` fills the English template; ``str(msg)`` the Chinese one.

The catalogues are ``zh.yaml`` and ``en.yaml`` beside this file: one table per language, keyed by
message id, each template a Python format string with named fields. A table per language (rather
than gettext) because Chinese is the primary language here, not a translation of English keys,
because the two tables can be checked against each other (same keys, same fields) by a test, and
because nothing has to be compiled into the wheel. The one language check is
:func:`policy_kb.errors.check_lang`, at every door (CLI, HTTP, ``to_dict``): an unknown language is
refused there, never silently replaced.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from ..records import Valued

LANGUAGES = ("zh", "en")
DEFAULT_LANG = "zh"


class Text(NamedTuple):
    """A label or title in both languages: ``Text("职工总数", "Total employees")["en"]``."""

    zh: str
    en: str

    def __getitem__(self, lang: Any) -> Any:
        if lang == "en":
            return self.en
        if lang == "zh":
            return self.zh
        return tuple.__getitem__(self, lang)

    def __str__(self) -> str:
        return self.zh


def text(zh: str | None, en: str | None = None) -> Text:
    """A :class:`Text`; English falls back to the Chinese when measures.yaml gives none."""
    zh = zh or en or ""
    return Text(zh, en or zh)


def label(key: str, **args: Any) -> Text:
    """A label of the program's own (not of measures.yaml), from the catalogues, in both
    languages: ``label("owl.enterprise")``; a ``Text`` argument gives each language its own."""
    return Text(say("zh", key, **args), say("en", key, **args))


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    """The message templates of one language (read once per process; the parsed table is kept
    in the cache folder, :mod:`policy_kb.cache`, keyed by the bytes of the YAML file)."""
    from .. import cache as kept

    raw = Path(__file__).with_name(f"{lang}.yaml").read_bytes()
    where = kept.entry("catalogue", raw)
    found = kept.read(where)
    if isinstance(found, dict) and all(type(v) is str for v in found.values()):
        return found
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(raw)  # libyaml when installed: fast
    try:
        data: dict[str, str] = loader.get_single_data()
    finally:
        loader.dispose()
    kept.write(where, data)
    return data


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Msg(Valued):
    """A sentence of the catalogue, not yet in a language: ``Msg("profile.unknown_fact", key=k)``.

    Arguments may themselves be :class:`Msg`, :class:`Text` or lists of them; they are rendered
    in the same language.
    """

    key: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, key: str, /, **args: Any) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "args", args)

    def render(self, lang: str = DEFAULT_LANG) -> str:
        template = catalogue(lang)[self.key]
        if not self.args:
            return template
        return template.format_map({k: _arg(v, lang) for k, v in self.args.items()})

    def __str__(self) -> str:
        return self.render(DEFAULT_LANG)


_SIMPLE = frozenset({str, int, float})  # arguments that are shown as they are


def say(lang: str, key: str, /, **args: Any) -> str:
    """A catalogue sentence rendered at once: ``say("en", "status.applies")``."""
    template = catalogue(lang)[key]
    if not args:
        return template
    for v in args.values():
        if type(v) not in _SIMPLE:
            return template.format_map({k: _arg(v, lang) for k, v in args.items()})
    return template.format_map(args)


def _arg(value: Any, lang: str) -> Any:
    if type(value) in _SIMPLE:
        return value
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, Text):
        return value[lang]
    if isinstance(value, Words):
        return value.render(lang)
    return value


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Words(Valued):
    """Several items joined the way each language lists them (、 in Chinese, ", " in English)."""

    items: Sequence[Any]
    sep: str = "list"  # list: 、 / ", ";  or: 或 / " or "; semi: ； / "; "

    def render(self, lang: str) -> str:
        joiner = say(lang, f"join.{self.sep}")
        return joiner.join(str(_arg(i, lang)) for i in self.items)


def quoted(names: Iterable[str]) -> list[str]:
    """Names in single quotes, as messages show ids: ``'title_zh'``."""
    return [f"'{n}'" for n in names]


# ── numbers as people write them ─────────────────────────────────────────────────────────────

_PASS = frozenset({int, str, bool, type(None)})


def plain(value: Any) -> Any:
    """A JSON-friendly number: integral values become ints, others floats."""
    if type(value) in _PASS:
        return value
    if isinstance(value, (Fraction, Decimal)):
        return int(value) if value == int(value) else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def printable(value: str) -> str:
    """``value`` with control and format characters spelled out (``\\x1b``, ``\\u200b``), so
    a name from a file can never move the cursor, recolour or clear a terminal."""
    return "".join(
        repr(c)[1:-1] if c != " " and unicodedata.category(c).startswith("C") else c for c in value
    )


def percent(rate: float | None) -> str:
    """A rate as a whole percentage (``84%``); a rate that does not exist (a target of 0) as —."""
    return "—" if rate is None else f"{rate:.0%}"


def number(value: Any) -> str:
    """``1,200,000``; ``2.5``; ``0.33`` (two decimals at most)."""
    value = plain(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def format_value(value: Any, unit: str | None, lang: str) -> str:
    """A value as people write it: ``1,200,000 元`` / ``CNY 1,200,000``, ``120 人``, ``是``, ``未知``."""
    if type(value) is int:  # the common case, without the general conversions
        shown = f"{value:,}"
        if not unit:
            return shown
        if unit == "%":
            return f"{shown}%"
        return (
            say(lang, "value.yuan", n=shown)
            if unit == "元"
            else say(lang, "value.with_unit", n=shown, unit=unit)
        )
    value = plain(value)
    if value is None:
        return say(lang, "value.unknown")
    if isinstance(value, bool):
        return say(lang, "value.yes" if value else "value.no")
    if isinstance(value, (int, float)):
        if unit == "%":  # a rate as printed: 25%, 2.5% (never 2.50%)
            return f"{number(value)}%"
        shown = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"  # 元 to the fen
        if unit == "元":
            return say(lang, "value.yuan", n=shown)
        return say(lang, "value.with_unit", n=shown, unit=unit) if unit else shown
    if isinstance(value, (tuple, list)):
        return Words([str(v) for v in value]).render(lang)
    return str(value)


SHOWN_CHARACTERS = 60
"""How much of a refused value a message shows (the rest is counted)."""


def cut(text: str, count: int | None = None) -> Msg:
    """The first :data:`SHOWN_CHARACTERS` of ``text`` and how many characters it has."""
    return Msg(
        "show.cut", head=text[:SHOWN_CHARACTERS], count=len(text) if count is None else count
    )


def shown_cut(text: str) -> str | Msg:
    """``text`` itself when it is short, else :func:`cut` (every message that quotes a value
    shows the same much of it)."""
    return text if len(text) <= SHOWN_CHARACTERS else cut(text)


_NUMERALS = "一二三四五六七八九"  # the digits of clause numbers: 三(五), 四(二)


def chinese_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十 (enough for clause numbers; :func:`from_chinese`
    reads them back)."""
    if n < 1 or n > 99:
        raise ValueError(n)
    tens, units = divmod(n, 10)
    out = ("" if tens == 1 else _NUMERALS[tens - 1]) + "十" if tens else ""
    return out + (_NUMERALS[units - 1] if units else "")


def from_chinese(numeral: str) -> int | None:
    """一 → 1, 十 → 10, 十二 → 12, 二十 → 20 (what :func:`chinese_numeral` writes); None for
    anything else."""
    digits = {c: i + 1 for i, c in enumerate(_NUMERALS)}
    if numeral in digits:
        return digits[numeral]
    tens, ten, units = numeral.partition("十")
    if not ten or (tens and tens not in digits) or (units and units not in digits):
        return None
    return (digits[tens] if tens else 1) * 10 + (digits[units] if units else 0)


# ── "did you mean …?" ────────────────────────────────────────────────────────────────────────


def close_matches(name: str, candidates: Iterable[str], limit: int = 2) -> list[str]:
    """The known names closest to ``name``, best first (at most ``limit``)."""
    import difflib

    pool = list(dict.fromkeys(candidates))
    matches = difflib.get_close_matches(name, pool, n=limit, cutoff=0.6)
    if not matches:  # the case aside: hutang for Hutang Town, KM7 for km7
        folded = {c.casefold(): c for c in pool}
        found = difflib.get_close_matches(name.casefold(), list(folded), n=limit, cutoff=0.6)
        matches = [folded[f] for f in found]
    return matches


def did_you_mean(
    name: str, candidates: Iterable[str], shown: Callable[[str], str] | None = None
) -> Msg | None:
    """``Msg`` "did you mean 'x' or 'y'?" / "是否应为 'x' 或 'y'？", or None when nothing is close.
    ``shown`` writes a match as the reader types it (an option compared without its dashes)."""
    matches = close_matches(name, candidates)
    if not matches:
        return None
    return Msg("hint.did_you_mean", names=Words(quoted(map(shown or str, matches)), "or"))
