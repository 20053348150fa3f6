"""The plain sections of measures.yaml: the document, the facts, the parameters and 附件2.

Each builder reads a part whose shape the JSON Schema has already accepted, checks what a schema
cannot (verbatim quotes, dates that exist and do not overlap, rows that add up to the printed
total, a fact's bound naming another fact) and returns model objects. Problems go to the reader.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..text import Msg, Text, Words, did_you_mean, plain, text
from .model import (
    Document,
    EvidenceHolder,
    EvidenceType,
    FactDef,
    FactGroup,
    FactType,
    MeasureKind,
    Parameter,
    ParameterValue,
    Part,
    TargetTable,
    Tier,
    Town,
    value_in_force,
)
from .reader import Reader
from .yamlsource import Path

_DEFAULT_UNITS = {FactType.MONEY: "元", FactType.YEAR: "年"}


def document(r: Reader) -> Document | None:
    raw = r.section("document")
    path: Path = ("document",)
    if not raw or not r.ok(path):
        return None
    source_file = raw["source_file"]
    r.source_text = r.resolve_source(source_file)
    if r.source_text is None:
        r.problem(
            r.at((*path, "source_file")),
            "document.no_source",
            Msg("document.hint.source"),
            name=source_file,
        )
    parts: list[Part] = []
    seen: dict[str, int] = {}
    for i, p in enumerate(raw.get("parts") or []):
        ppath = (*path, "parts", i)
        if p["number"] in seen:
            r.problem(
                r.at((*ppath, "number")),
                "document.part_twice",
                Msg("hint.first_at", line=seen[p["number"]]),
                number=p["number"],
            )
            continue
        seen[p["number"]] = r.at(ppath).line
        r.verbatim(p["heading"], (*ppath, "heading"), "heading")
        r.verbatim(p.get("text"), (*ppath, "text"), "text")
        parts.append(
            Part(
                p["number"],
                p["heading"],
                text(p["title_zh"], p["title_en"]),
                p.get("text"),
                r.at(ppath),
                p.get("measure_prefix"),
                MeasureKind(p["measure_kind"]) if p.get("measure_kind") else None,
                tuple(p.get("grant_words") or ()),
            )
        )
    r.verbatim(raw["title_zh"], (*path, "title_zh"), "title")
    issuer = text(raw["issuer_zh"], raw.get("issuer_en")) if raw.get("issuer_zh") else None
    return Document(
        raw["id"],
        text(raw["title_zh"], raw["title_en"]),
        issuer,
        raw["year"],
        source_file,
        r.source_text or "",
        raw["iri"],
        tuple(parts),
        r.at(path),
    )


def reference_of(raw: Mapping[str, Any]) -> Text | None:
    """The ``reference`` of an entry with its optional ``reference_en`` (else the Chinese)."""
    return text(raw["reference"], raw.get("reference_en")) if raw.get("reference") else None


def fact_groups(r: Reader, facts: Mapping[str, FactDef]) -> tuple[FactGroup, ...]:
    """The groups of the form; every fact's ``group`` must be one of them when they are listed."""
    raw = r.data.get("fact_groups")
    if not isinstance(raw, list) or not r.ok(("fact_groups",)):
        return ()
    groups: list[FactGroup] = []
    for i, item in enumerate(raw):
        if any(g.name == item["name"] for g in groups):
            r.problem(
                r.at(("fact_groups", i, "name")),
                "groups.twice",
                Msg("groups.hint.once"),
                name=item["name"],
            )
            continue
        groups.append(
            FactGroup(item["name"], text(item["name"], item["label_en"]), r.at(("fact_groups", i)))
        )
    names = [g.name for g in groups]
    for fact in facts.values():
        if fact.group is not None and fact.group not in names:
            hint = did_you_mean(fact.group, names) or Msg("hint.one_of", names=Words(names))
            r.problem(
                r.at(("facts", fact.id, "group")),
                "groups.unlisted",
                hint,
                fact=fact.id,
                group=fact.group,
            )
    return tuple(groups)


def facts(r: Reader) -> dict[str, FactDef]:
    found: dict[str, FactDef] = {}
    for name, f in r.entries("facts").items():
        path: Path = ("facts", name)
        if not r.ok(path):
            continue
        ftype = FactType(f["type"])
        unit = f.get("unit") or _DEFAULT_UNITS.get(ftype)
        if ftype is FactType.MONEY and unit != "元":
            r.problem(
                r.at((*path, "unit")),
                "facts.money_unit",
                Msg("facts.hint.yuan"),
                fact=name,
                unit=unit,
            )
        numeric = ftype in (FactType.COUNT, FactType.MONEY, FactType.YEAR)
        if ("min" in f or "max" in f) and not numeric:
            r.problem(
                r.at(path),
                "facts.bounds_not_numeric",
                Msg("facts.hint.bounds"),
                fact=name,
                type=ftype.value,
            )
        helptext = text(f["help_zh"], f.get("help_en")) if f.get("help_zh") else None
        found[name] = FactDef(
            name,
            text(f["label_zh"], f["label_en"]),
            ftype,
            unit,
            f.get("min"),
            f.get("max"),
            f.get("group"),
            r.key_at(path),
            helptext,
        )
    for name, fact in found.items():
        low, high = fact.minimum, fact.maximum
        if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
            r.problem(
                r.at(("facts", name, "min")),
                "facts.min_above_max",
                Msg("facts.hint.min_max"),
                fact=name,
                min=plain(low),
                max=plain(high),
            )
        if isinstance(fact.maximum, str):
            other = found.get(fact.maximum)
            loc = r.at(("facts", name, "max"))
            if other is None:
                hint = did_you_mean(fact.maximum, found) or Msg("facts.hint.max")
                r.problem(loc, "facts.max_unknown", hint, fact=name, other=fact.maximum)
            elif not other.numeric or other.unit != fact.unit:
                r.problem(
                    loc,
                    "facts.max_unit",
                    Msg("facts.hint.max_unit", unit=fact.unit),
                    fact=name,
                    other=other.id,
                    unit=fact.unit,
                )
    return found


def check_collisions(r: Reader) -> None:
    owner: dict[str, str] = {}
    for section in ("facts", "derived_facts", "parameters", "categories"):
        for name in r.section(section):
            if name in owner:
                r.problem(
                    r.key_at((section, name)),
                    "names.twice",
                    Msg("names.hint.once"),
                    name=name,
                    first=owner[name],
                    second=section,
                )
            else:
                owner[name] = section


def parameters(r: Reader) -> dict[str, Parameter]:
    found: dict[str, Parameter] = {}
    for name, p in r.entries("parameters").items():
        path: Path = ("parameters", name)
        if not r.ok(path):
            continue
        r.verbatim(p.get("quote"), (*path, "quote"), "quote")
        values = _values(r, name, p["values"], path)
        _in_force(r, name, values, path)
        _in_range(r, name, p, path)
        _as_quoted(r, name, p, values, path)
        quote = p.get("quote") or ""
        if any(word in quote for word in INCLUSIVE_WORDS) and p.get("inclusive") is not True:
            r.problem(
                r.at((*path, "quote")),
                "params.inclusive_missing",
                Msg("params.hint.inclusive"),
                name=name,
                word=next(w for w in INCLUSIVE_WORDS if w in quote),
            )
        if values:
            found[name] = Parameter(
                name,
                text(p["label_zh"], p["label_en"]),
                p["unit"],
                p.get("clause"),
                p.get("quote"),
                reference_of(p),
                values,
                r.key_at(path),
                bool(p.get("inclusive")),
            )
    return found


INCLUSIVE_WORDS = ("（含）", "(含)", "以上", "以下", "不超过", "不低于")
"""Words by which the text includes the bound itself."""

PERCENT_RANGE = (0, 100)
"""Where a percentage parameter that declares no ``range`` must lie."""

MONEY_RANGE = (0, 1_000_000_000_000_000)
"""Where an amount in 元 that declares no ``range`` must lie: not below zero, and short of a
thousand trillion (no threshold of the text comes near; a value typed in 万元 stays inside, and
the check of the quote's own figure catches it: :func:`_as_quoted`)."""


def _in_range(r: Reader, name: str, p: dict[str, Any], path: Path) -> None:
    """Each value within the parameter's plausible range: 1.75 typed for 175 % is caught, and
    an amount below zero."""
    declared = p.get("range")
    unit = p["unit"]
    if not declared and not p.get("quote"):
        _slip(r, name, p, path)
    default = PERCENT_RANGE if unit == "%" else MONEY_RANGE if unit == "元" else None
    low, high = declared if declared else default if default else (None, None)
    if low is None or high is None:
        return
    hint = "params.hint.range" if unit == "%" else "params.hint.range_amount"
    for i, v in enumerate(p["values"]):
        value = v.get("value")
        if isinstance(value, float) and not math.isfinite(value):
            continue  # said already (params.not_finite)
        if isinstance(value, (int, float)) and not low <= value <= high:
            r.problem(
                r.at((*path, "values", i, "value")),
                "params.out_of_range",
                Msg(hint, **_bounds(low, high, unit), unit=unit),
                name=name,
                value=value,
            )


_SLIPS = {"%": (1, "params.fraction"), "元": (10_000, "params.small_amount")}
"""Below these, a figure with no quote to compare with is most likely typed in the wrong unit."""


def _slip(r: Reader, name: str, p: dict[str, Any], path: Path) -> None:
    """A figure with no quote to check it against: 0.15 typed for 15 %, or 20 typed for 20万元,
    passed and every amount it enters was wrong (found by a policy-officer review). Such a
    value needs a ``range:`` that allows it."""
    unit = p["unit"]
    if unit not in _SLIPS:
        return
    below, key = _SLIPS[unit]
    for i, v in enumerate(p["values"]):
        value = v.get("value")
        if type(value) in (int, float) and 0 < value < below:
            r.problem(
                r.at((*path, "values", i, "value")),
                key,
                Msg("params.hint.slip"),
                name=name,
                value=value,
            )


def _bounds(low: Any, high: Any, unit: str) -> dict[str, Any]:
    """A range's bounds as shown: amounts in 元 with thousands separators."""
    return {"low": f"{low:,}", "high": f"{high:,}"} if unit == "元" else {"low": low, "high": high}


_QUOTED_FIGURE = {
    "元": (r"(\d[\d,]*(?:\.\d+)?)\s*(亿元|万元|元)", {"亿元": 10**8, "万元": 10**4, "元": 1}),
    "%": (r"(\d[\d,]*(?:\.\d+)?)\s*([%％])", {"%": 1, "％": 1}),
}
"""How the text writes a figure in a parameter's unit, and what each written unit is worth."""


def printed_figures(quote: str, unit: str) -> list[Decimal]:
    """The figures ``quote`` prints in ``unit``, in that unit, exactly: 20万元 is 200000 元,
    1.15亿元 115000000 (floats made it 114999999.99999999), 1,000万元 10000000, 175% 175."""
    form = _QUOTED_FIGURE.get(unit)
    if form is None:
        return []
    pattern, worth = form
    return [Decimal(n.replace(",", "")) * worth[u] for n, u in re.findall(pattern, quote)]


def _as_quoted(
    r: Reader, name: str, p: dict[str, Any], values: tuple[ParameterValue, ...], path: Path
) -> None:
    """The value in force in the document's year is a figure its quote prints (20万元 is
    200000 元, 175% is 175), when the quote prints figures in the parameter's unit: a value
    typed in 万元, or a figure changed by mistake, is caught. A value that departs from the
    quote on purpose says where it comes from in its own ``reference`` (a proposed change
    modelled with ``impact``, a rate raised by a later national rule) and is not checked."""
    quote, form = p.get("quote") or "", _QUOTED_FIGURE.get(p["unit"])
    year = r.section("document").get("year")
    if not quote or form is None or not isinstance(year, int) or not 1 <= year <= 9999:
        return  # a year out of the calendar is the schema's to refuse
    printed = printed_figures(quote, p["unit"])
    day = dt.date(year, 1, 1)
    current = [v for v in values if v.start <= day and (v.end is None or v.end >= day)]
    if not printed or not current or current[-1].value is None or current[-1].reference:
        return  # a value with its own reference stands on it (a proposed change, a later rule)
    value = current[-1].value
    if any(Decimal(str(value)) == figure for figure in printed):
        return
    shown = Words([f"{plain(f):,}" for f in printed])
    at = next(  # the value's own line
        (
            r.at((*path, "values", i, "value"))
            for i in range(len(p["values"]))
            if r.at((*path, "values", i)) == current[-1].location
        ),
        current[-1].location,
    )
    r.problem(
        at,
        "params.quote_figure",
        Msg(
            "params.hint.quote_figure" + ("_yuan" if p["unit"] == "元" else ""),
            figures=shown,
            unit=p["unit"],
        ),
        name=name,
        year=year,
        value=f"{plain(value):,}",
        unit=p["unit"],
        quote=quote,
    )


def _values(r: Reader, name: str, raw: list[Any], path: Path) -> tuple[ParameterValue, ...]:
    values: list[ParameterValue] = []
    for i, v in enumerate(raw):
        vpath = (*path, "values", i)
        start = _date(r, v, "from", vpath)
        end = _date(r, v, "until", vpath) if "until" in v else None
        if ("value" in v) == ("tiers" in v):
            r.problem(
                r.at(vpath),
                "params.value_or_tiers",
                Msg("params.hint.value_or_tiers"),
                n=i + 1,
                name=name,
            )
            continue
        value = v.get("value")
        if isinstance(value, float) and not math.isfinite(value):
            r.problem(
                r.at((*vpath, "value")),
                "params.not_finite",
                Msg("params.hint.finite"),
                n=i + 1,
                name=name,
                value=value,
            )
            continue
        tiers = _tiers(r, v["tiers"], vpath, name) if "tiers" in v else ()
        if start is None or tiers is None:
            continue
        if values and start < values[-1].start:  # as written: a mistyped year shows here
            r.problem(
                r.at((*vpath, "from")),
                "params.order",
                Msg("params.hint.order", previous=values[-1].start),
                n=i + 1,
                name=name,
                start=start,
                previous=values[-1].start,
            )
            continue
        if end is not None and end < start:
            r.problem(
                r.at((*vpath, "until")),
                "params.ends_before",
                Msg("params.hint.until"),
                n=i + 1,
                name=name,
                end=end,
                start=start,
            )
            continue
        values.append(
            ParameterValue(start, end, v.get("value"), reference_of(v), r.at(vpath), tiers)
        )
    for earlier, later in itertools.pairwise(values):  # written in the order they start
        if later.start == earlier.start or (earlier.end is not None and later.start <= earlier.end):
            until = Msg("params.until", end=earlier.end) if earlier.end else Msg("empty")
            r.problem(
                later.location,
                "params.overlap",
                Msg("params.hint.overlap"),
                name=name,
                start=later.start,
                earlier=earlier.start,
                until=until,
                line=earlier.location.line,
            )
    return tuple(values)


def _in_force(r: Reader, name: str, values: Sequence[ParameterValue], path: Path) -> None:
    """A parameter needs a value in force for the policy year: an evaluation reads the value of
    its 31 December, and without one every answer of that year is refused."""
    year = (r.data.get("document") or {}).get("year")
    if not values or type(year) is not int or not 1 <= year <= 9999:
        return
    day = dt.date(year, 12, 31)
    if value_in_force(values, day) is not None:
        return
    periods = Words(
        [
            Msg(
                "params.period",
                start=v.start,
                until=Msg("params.until", end=v.end) if v.end else Msg("empty"),
            )
            for v in values
        ]
    )
    r.problem(
        r.at((*path, "values")),
        "params.not_in_force",
        Msg("params.hint.in_force", day=day),
        name=name,
        year=year,
        day=day,
        periods=periods,
    )


def _tiers(r: Reader, items: list[Any], path: Path, name: str) -> tuple[Tier, ...] | None:
    for k, t in enumerate(items):
        for key in ("at_least", "points"):
            if isinstance(t[key], float) and not math.isfinite(t[key]):
                r.problem(
                    r.at((*path, "tiers", k, key)),
                    "params.tier_not_finite",
                    Msg("params.hint.finite"),
                    name=name,
                    step=k + 1,
                    key=key,
                    value=t[key],
                )
                return None
    tiers = tuple(Tier(t["at_least"], t["points"]) for t in items)
    for k, (higher, lower) in enumerate(itertools.pairwise(tiers), start=1):
        if not (higher.at_least > lower.at_least and higher.points > lower.points):
            r.problem(
                r.at((*path, "tiers", k)),
                "params.tiers_order",
                Msg("params.hint.tiers"),
                name=name,
                step=k + 1,
                low=lower.at_least,
                low_points=lower.points,
                high=higher.at_least,
                high_points=higher.points,
            )
            return None
    return tiers


def _date(r: Reader, raw: Mapping[str, Any], key: str, path: Path) -> dt.date | None:
    value = raw.get(key)
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        r.problem(
            r.at((*path, key)),
            "params.not_a_date",
            Msg("params.hint.date"),
            key=key,
            value=repr(value),
        )
        return None


def targets(r: Reader) -> TargetTable | None:
    raw = r.section("targets")
    path: Path = ("targets",)
    if not raw or not r.ok(path):
        return None
    annex = raw["annex"]
    printed_rows = _annex_rows(r.source_text or "", annex)
    towns: list[Town] = []
    first: dict[str, int] = {}
    for i, t in enumerate(raw["towns"]):
        tpath = (*path, "towns", i)
        name, target, seq = t["name"], t["target"], t["seq"]
        if name in first:
            r.problem(
                r.at((*tpath, "name")),
                "targets.town_twice",
                Msg("targets.hint.once", line=first[name]),
                name=name,
                annex=annex,
            )
            continue
        first[name] = r.at(tpath).line
        row = printed_rows.get(seq)
        if row is not None and row[0] != name:  # the row of that number names another town
            r.problem(
                r.at((*tpath, "name")),
                "targets.row_name",
                Msg("targets.hint.row_name", printed=row[0], seq=seq),
                annex=annex,
                seq=seq,
                name=name,
                printed=row[0],
            )
            continue
        r.verbatim(name, (*tpath, "name"), "town")
        printed = row[1] if row is not None else _printed_number_after(r.source_text or "", name)
        if printed is not None and printed != target:
            r.problem(
                r.at((*tpath, "target")),
                "targets.row_differs",
                Msg("targets.hint.printed", printed=printed),
                name=name,
                target=target,
                printed=printed,
            )
        if seq != i + 1:
            r.problem(
                r.at((*tpath, "seq")),
                "targets.seq",
                Msg("targets.hint.seq", row=i + 1),
                name=name,
                seq=seq,
            )
        towns.append(Town(seq, name, t.get("name_en"), target, r.at(tpath)))
    total = raw["total"]
    rows = sum(t.target for t in towns)
    if len(towns) == len(raw["towns"]) and rows != total:
        r.problem(
            r.at((*path, "total")),
            "targets.sum",
            Msg("targets.hint.sum", rows=rows),
            count=len(towns),
            annex=annex,
            rows=rows,
            total=total,
        )
    if r.source_text is not None and str(total) not in r.source_text:
        r.problem(
            r.at((*path, "total")), "targets.total_absent", Msg("targets.hint.total"), total=total
        )
    title = text(raw["title_zh"], raw.get("title_en"))
    return TargetTable(annex, title, raw["year"], raw["unit"], tuple(towns), total, r.at(path))


def _annex_rows(source: str, annex: str) -> dict[int, tuple[str, int]]:
    """The rows of the annex's table as the source text prints them: number → (town, target).
    The text prints each cell on a line of its own after a tab (``\t3\n\t湖塘镇\n\t50``); {}
    when the text has no such table, and each row is then found by its town's name."""
    start = source.find(annex + "：")
    if start < 0:
        return {}
    found = re.findall(r"\t(\d+)\n\t([^\t\n]+?)[ \t]*\n\t(\d+)[ \t]*\n", source[start:])
    return {int(seq): (town, int(target)) for seq, town, target in found}


def _printed_number_after(source: str, name: str) -> int | None:
    """The number printed right after ``name`` in a table of the source text (附件2 rows)."""
    match = re.search(re.escape(name) + r"\s+(\d+)", source)
    return int(match.group(1)) if match else None


def evidence(
    r: Reader, facts: Mapping[str, FactDef]
) -> tuple[dict[str, EvidenceHolder], tuple[EvidenceType, ...]]:
    """The holders and evidence types; every fact must be proven by at least one type, every
    ``proves`` must name a fact and every ``holder`` a holder."""
    raw = r.data.get("evidence")
    holders: dict[str, EvidenceHolder] = {}
    kinds: list[EvidenceType] = []
    if isinstance(raw, dict) and r.ok(("evidence",)):
        for key, h in raw.get("holders", {}).items():
            holders[key] = EvidenceHolder(key, text(h["label_zh"], h["label_en"]))
        for i, item in enumerate(raw.get("types", [])):
            path: Path = ("evidence", "types", i)
            if any(k.id == item["id"] for k in kinds):
                r.problem(r.at((*path, "id")), "evidence.twice", None, id=item["id"])
                continue
            if item["holder"] not in holders:
                hint = did_you_mean(item["holder"], list(holders)) or Msg(
                    "hint.one_of", names=Words(list(holders))
                )
                r.problem(
                    r.at((*path, "holder")),
                    "evidence.holder",
                    hint,
                    id=item["id"],
                    holder=item["holder"],
                )
            for j, fact in enumerate(item["proves"]):
                if fact not in facts:
                    hint = did_you_mean(fact, list(facts)) or Msg("evidence.hint.facts")
                    r.problem(
                        r.at((*path, "proves", j)),
                        "evidence.unknown_fact",
                        hint,
                        id=item["id"],
                        fact=fact,
                    )
            held = item["held_by_government"]
            kinds.append(
                EvidenceType(
                    item["id"],
                    text(item["label_zh"], item["label_en"]),
                    item["holder"],
                    None if held == "unknown" else bool(held),
                    item["source"],
                    tuple(item["proves"]),
                    r.at(path),
                )
            )
    proven = {fact for kind in kinds for fact in kind.proves}
    for fact in facts.values():
        if fact.id not in proven:
            r.problem(fact.location, "evidence.missing", Msg("evidence.hint.missing"), fact=fact.id)
    return holders, tuple(kinds)
