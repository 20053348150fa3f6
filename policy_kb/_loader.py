"""measures.yaml → validated :class:`PolicyModel`, or every problem at once.

The loader reads the file with the safe, position-keeping reader (``_yamlsource``), checks its
shape against the shipped JSON Schema (``_structure``), then checks what a schema cannot:
conditions parse and name known facts with the right types, ids are unique, quotes occur
verbatim in the source text, the 附件2 rows add up to the printed total, dated parameter values
do not overlap. All problems are collected in one pass and raised together as
:class:`MeasuresFileError`; a file with any problem is never half-loaded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
import re
from collections.abc import Callable, Mapping
from importlib.resources.abc import Traversable
from pathlib import Path as FsPath
from typing import Any

from ._conditions import (
    BOOL,
    TEXT,
    AllOf,
    AnyOf,
    Condition,
    NotOf,
    Scope,
    ValueType,
    categories_used,
    decimal_constants,
    parse_condition,
    parse_expression,
)
from ._errors import ConditionSyntaxError, Location, MeasuresFileError, Problem
from ._model import (
    Audience,
    Benefit,
    BenefitKind,
    Category,
    DerivedFactDef,
    Document,
    Estimate,
    EstimateCase,
    EvaluationMethod,
    FactDef,
    FactGroup,
    FactType,
    Indicator,
    Measure,
    MeasureKind,
    NamedCondition,
    Parameter,
    ParameterValue,
    Part,
    PolicyModel,
    ScoreSource,
    TargetTable,
    Tier,
    Town,
)
from ._resources import data_file
from ._structure import check_structure, describe
from ._suggest import did_you_mean
from ._yamlsource import MAX_BYTES, Path, YamlDocument, decode, read_yaml

_NUMERALS = "一二三四五六七八九"
_PARTS = {"KM": ("三", MeasureKind.KEY), "SM": ("四", MeasureKind.SAFEGUARD)}
_DEFAULT_UNITS = {FactType.MONEY: "元", FactType.YEAR: "年"}
_FACT_TYPES = frozenset(t.value for t in FactType)


def chinese_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十 (enough for clause numbers)."""
    if n < 1 or n > 99:
        raise ValueError(n)
    tens, units = divmod(n, 10)
    text = ""
    if tens:
        text = ("" if tens == 1 else _NUMERALS[tens - 1]) + "十"
    if units:
        text += _NUMERALS[units - 1]
    return text


SourceResolver = Callable[[str], "str | None"]


def load_model(path: str | os.PathLike[str] | None = None) -> PolicyModel:
    """Load and validate a measures file: the shipped one when ``path`` is None.

    Raises :class:`MeasuresFileError` listing every problem, or :class:`OSError` when the file
    cannot be read at all.
    """
    if path is None:
        node = data_file("measures.yaml")
        raw = node.read_bytes()
        return parse_model(raw, "measures.yaml", _packaged_resolver(data_file()))
    fs_path = FsPath(path)
    with fs_path.open("rb") as fh:
        raw = fh.read(MAX_BYTES + 1)
    return parse_model(raw, str(path), _file_resolver(fs_path.parent))


def _read_source(node: Traversable | FsPath) -> str | None:
    try:
        return node.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _packaged_resolver(root: Traversable) -> SourceResolver:
    def resolve(relative: str) -> str | None:
        node: Traversable = root
        for part in relative.split("/"):
            node = node.joinpath(part)
        return _read_source(node)

    return resolve


def _file_resolver(directory: FsPath) -> SourceResolver:
    packaged = _packaged_resolver(data_file())

    def resolve(relative: str) -> str | None:
        candidate = directory / relative
        if candidate.is_file():
            return _read_source(candidate)
        return packaged(relative)

    return resolve


def parse_model(raw: bytes, file: str, resolve_source: SourceResolver) -> PolicyModel:
    """Validate the bytes of a measures file named ``file`` and build its model."""
    text, problem = decode(raw, file)
    if text is None:
        raise MeasuresFileError([problem] if problem else [], file)
    doc = read_yaml(text, file)
    if doc.data is None:
        raise MeasuresFileError(doc.problems, file)
    if not isinstance(doc.data, dict):
        doc.problems.append(
            Problem(
                doc.at(()),
                "the file must be a mapping of sections",
                "document:, facts:, measures: …",
            )
        )
        raise MeasuresFileError(doc.problems, file)
    problems = list(doc.problems)
    problems += check_structure(doc)
    builder = _Builder(doc, resolve_source, problems)
    model = builder.build(hashlib.sha256(raw).hexdigest())
    if problems or model is None:
        raise MeasuresFileError(problems, file)
    return model


def _get(mapping: Any, key: str, kind: type | tuple[type, ...] = str) -> Any:
    """A value of the right type from a raw mapping, else None (the schema check reports it)."""
    if not isinstance(mapping, Mapping):
        return None
    value = mapping.get(key)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return None
    return value if isinstance(value, kinds) else None


class _Builder:
    """Builds the model from raw data, appending every problem it finds."""

    def __init__(
        self, doc: YamlDocument, resolve_source: SourceResolver, problems: list[Problem]
    ) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.resolve_source = resolve_source
        self.problems = problems
        self.source_text: str | None = None

    def problem(self, location: Location, message: str, expected: str | None = None) -> None:
        self.problems.append(Problem(location, message, expected))

    # ── build ────────────────────────────────────────────────────────────────────────────

    def build(self, sha256: str) -> PolicyModel | None:
        document = self._document()
        facts = self._facts()
        targets = self._targets()
        parameters = self._parameters()
        derived_raw = self._mapping("derived_facts")
        categories_raw = self._mapping("categories")
        self._check_collisions(facts, derived_raw, parameters, categories_raw)
        scope = Scope(
            facts={
                **{k: _fact_type(f) for k, f in facts.items()},
                **{k: ValueType("number", _derived_unit(v)) for k, v in derived_raw.items()},
            },
            derived={},
            parameters={
                k: ValueType("table" if _is_table(p) else "number", _get(p, "unit"))
                for k, p in self._mapping("parameters").items()
            },
            categories=frozenset(categories_raw),
            labels={f.label_zh: k for k, f in facts.items()},
            choices={
                k: frozenset(t.name for t in targets.towns)
                for k, f in facts.items()
                if f.type is FactType.TOWN and targets
            },
        )
        derived = self._derived(derived_raw, facts, scope)
        scope = Scope(
            facts=scope.facts,
            derived={k: d.inputs for k, d in derived.items()},
            parameters=scope.parameters,
            categories=scope.categories,
            labels=scope.labels,
            choices=scope.choices,
        )
        categories = self._categories(categories_raw, scope)
        measures = self._measures(scope, parameters, targets, document)
        self._check_combinations(measures)
        evaluation = self._evaluation(scope, facts, parameters)
        fact_groups = self._fact_groups(facts)
        if document is None:
            return None
        return PolicyModel(
            file=self.doc.file,
            sha256=sha256,
            document=document,
            facts=facts,
            derived=derived,
            parameters=parameters,
            categories=categories,
            measures=tuple(measures),
            targets=targets,
            evaluation=evaluation,
            fact_groups=fact_groups,
        )

    def _mapping(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        if not isinstance(value, dict):
            return {}
        return {k: v for k, v in value.items() if isinstance(k, str)}

    # ── verbatim quotes ──────────────────────────────────────────────────────────────────

    def _verbatim(
        self, text: Any, path: Path, what: str, within: str | None = None, within_name: str = ""
    ) -> None:
        if not isinstance(text, str) or self.source_text is None:
            return
        haystack = within if within is not None else self.source_text
        if text in haystack:
            return
        if within is not None and text in self.source_text:
            self.problem(
                self.doc.at(path),
                f"{what}{self._where(path)} occurs in the source text but not in {within_name}",
                f"quote a sentence of {within_name}",
            )
            return
        matched = _longest_prefix_in(text, self.source_text)
        loc = self.doc.text_at(path)
        if matched == 0:
            self.problem(
                loc,
                f"{what}{self._where(path)} does not occur in the source text",
                "a verbatim quote of the source text",
            )
            return
        anchor = self.source_text.find(text[:matched])
        source_next = self.source_text[anchor + matched : anchor + matched + 8].split("\n")[0]
        file_next = text[matched : matched + 8]
        at = (
            Location(loc.file, loc.line, loc.column + matched)
            if "\n" not in text[:matched]
            else loc
        )
        self.problem(
            at,
            f"{what}{self._where(path)} does not occur verbatim in the source text: it matches up to "
            f"character {matched + 1}, where the file has '{file_next}' and the source has '{source_next}'",
            "copy the words exactly, with the same punctuation",
        )

    def _where(self, path: Path) -> str:
        words = describe(self.data, path)
        return f" of {words}" if words else ""

    # ── document ─────────────────────────────────────────────────────────────────────────

    def _document(self) -> Document | None:
        raw = self.data.get("document")
        if not isinstance(raw, dict):
            return None
        path: Path = ("document",)
        source_file = _get(raw, "source_file")
        if source_file:
            self.source_text = self.resolve_source(source_file)
            if self.source_text is None:
                self.problem(
                    self.doc.at((*path, "source_file")),
                    f"the source text '{source_file}' cannot be read",
                    "a UTF-8 text file, relative to this measures file",
                )
        parts: list[Part] = []
        seen: dict[str, Location] = {}
        for i, p in enumerate(raw.get("parts") or []):
            if not isinstance(p, dict):
                continue
            ppath = (*path, "parts", i)
            number = _get(p, "number")
            if number in seen:
                self.problem(
                    self.doc.at((*ppath, "number")),
                    f"part '{number}' is listed twice",
                    f"first at line {seen[number].line}",
                )
            elif number:
                seen[number] = self.doc.at(ppath)
            self._verbatim(p.get("heading"), (*ppath, "heading"), "the heading")
            self._verbatim(p.get("text"), (*ppath, "text"), "the text")
            if all(
                isinstance(p.get(k), str) for k in ("number", "heading", "title_zh", "title_en")
            ):
                parts.append(
                    Part(
                        p["number"],
                        p["heading"],
                        p["title_zh"],
                        p["title_en"],
                        _get(p, "text"),
                        self.doc.at(ppath),
                    )
                )
        needed = ("id", "title_zh", "title_en", "iri", "source_file")
        if not all(isinstance(raw.get(k), str) for k in needed) or _get(raw, "year", int) is None:
            return None
        self._verbatim(raw["title_zh"], (*path, "title_zh"), "the title")
        return Document(
            id=raw["id"],
            title_zh=raw["title_zh"],
            title_en=raw["title_en"],
            issuer_zh=_get(raw, "issuer_zh"),
            issuer_en=_get(raw, "issuer_en"),
            year=raw["year"],
            source_file=raw["source_file"],
            source_text=self.source_text or "",
            iri=raw["iri"],
            parts=tuple(parts),
            location=self.doc.at(path),
        )

    # ── form groups ──────────────────────────────────────────────────────────────────────

    def _fact_groups(self, facts: Mapping[str, FactDef]) -> tuple[FactGroup, ...]:
        """The groups of the form; every fact's ``group`` must be one of them when they are listed."""
        raw = self.data.get("fact_groups")
        if raw is None:
            return ()
        groups: list[FactGroup] = []
        for i, item in enumerate(raw if isinstance(raw, list) else []):
            name, label_en = _get(item, "name"), _get(item, "label_en")
            if not isinstance(name, str) or not isinstance(label_en, str):
                continue  # the schema check reports it
            if any(g.name == name for g in groups):
                self.problem(
                    self.doc.at(("fact_groups", i, "name")),
                    f"form group '{name}' is listed twice",
                    "list each group once",
                )
                continue
            groups.append(FactGroup(name, label_en, self.doc.at(("fact_groups", i))))
        names = [g.name for g in groups]
        for fact in facts.values():
            if fact.group is not None and fact.group not in names:
                hint = did_you_mean(fact.group, names) or "one of " + "、".join(names)
                self.problem(
                    self.doc.at(("facts", fact.id, "group")),
                    f"fact {fact.id} is in group '{fact.group}', which fact_groups does not list",
                    hint,
                )
        return tuple(groups)

    # ── facts ────────────────────────────────────────────────────────────────────────────

    def _facts(self) -> dict[str, FactDef]:
        raw = self._mapping("facts")
        facts: dict[str, FactDef] = {}
        for name, f in raw.items():
            if not isinstance(f, dict):
                continue
            path: Path = ("facts", name)
            type_name = _get(f, "type")
            if type_name not in _FACT_TYPES:
                continue
            ftype = FactType(type_name)
            unit = _get(f, "unit") or _DEFAULT_UNITS.get(ftype)
            if ftype is FactType.MONEY and unit != "元":
                self.problem(
                    self.doc.at((*path, "unit")),
                    f"an amount is in 元, but fact {name} says {unit!r}",
                    "unit: 元 (enter amounts in yuan, not 万元)",
                )
            minimum = _get(f, "min", (int, float))
            maximum = f.get("max")
            if isinstance(maximum, bool):
                maximum = None
            numeric = ftype in (FactType.COUNT, FactType.MONEY, FactType.YEAR)
            if (minimum is not None or maximum is not None) and not numeric:
                self.problem(
                    self.doc.at(path),
                    f"fact {name} is of type {ftype.value} and cannot have min or max",
                    "min/max only for count, money or year",
                )
            if not isinstance(_get(f, "label_zh"), str) or not isinstance(_get(f, "label_en"), str):
                continue
            facts[name] = FactDef(
                id=name,
                label_zh=f["label_zh"],
                label_en=f["label_en"],
                type=ftype,
                unit=unit,
                minimum=minimum,
                maximum=maximum if isinstance(maximum, (int, float, str)) else None,
                group=_get(f, "group"),
                location=self.doc.key_at(path),
                help_zh=_get(f, "help_zh"),
                help_en=_get(f, "help_en"),
            )
        for name, fact in facts.items():
            if isinstance(fact.maximum, str):
                other = facts.get(fact.maximum)
                loc = self.doc.at(("facts", name, "max"))
                if other is None:
                    hint = did_you_mean(fact.maximum, facts) or "a number or the id of another fact"
                    self.problem(
                        loc, f"'max' of fact {name} names an unknown fact '{fact.maximum}'", hint
                    )
                elif other.type not in (FactType.COUNT, FactType.MONEY) or other.unit != fact.unit:
                    self.problem(
                        loc,
                        f"'max' of fact {name} names fact {other.id}, which is not a {fact.unit} amount",
                        f"a fact counted in {fact.unit}",
                    )
        return facts

    def _derived(
        self, raw: dict[str, Any], facts: Mapping[str, FactDef], scope: Scope
    ) -> dict[str, DerivedFactDef]:
        base_scope = Scope(
            facts={k: v for k, v in scope.facts.items() if k in facts},
            derived={},
            parameters=scope.parameters,
            categories=frozenset(),
            labels=scope.labels,
        )
        derived: dict[str, DerivedFactDef] = {}
        for name, d in raw.items():
            if not isinstance(d, dict):
                continue
            path: Path = ("derived_facts", name)
            formula = _get(d, "formula")
            if formula is None:
                continue
            try:
                expr, vtype = parse_expression(
                    formula, base_scope, self.doc.text_at((*path, "formula"))
                )
            except ConditionSyntaxError as exc:
                self.problems.append(exc.problem)
                continue
            unit = _derived_unit(d)
            if vtype.unit and unit and vtype.unit != unit:
                self.problem(
                    self.doc.at((*path, "formula")),
                    f"the formula of {name} gives {vtype.unit}, but its unit is {unit}",
                    f"unit: {vtype.unit}",
                )
            type_name = _get(d, "type")
            if type_name not in ("count", "money") or not all(
                isinstance(d.get(k), str) for k in ("label_zh", "label_en")
            ):
                continue
            derived[name] = DerivedFactDef(
                id=name,
                label_zh=d["label_zh"],
                label_en=d["label_en"],
                type=FactType(type_name),
                unit=unit,
                formula_text=formula,
                formula=expr,
                inputs=expr.facts(),
                group=_get(d, "group"),
                location=self.doc.key_at(path),
            )
        return derived

    def _check_collisions(
        self,
        facts: Mapping[str, Any],
        derived: Mapping[str, Any],
        parameters: Mapping[str, Any],
        categories: Mapping[str, Any],
    ) -> None:
        sections = (
            ("facts", facts),
            ("derived_facts", derived),
            ("parameters", parameters),
            ("categories", categories),
        )
        owner: dict[str, str] = {}
        for section, names in sections:
            for name in names:
                if name in owner:
                    self.problem(
                        self.doc.key_at((section, name)),
                        f"the name '{name}' is used in both {owner[name]} and {section}",
                        "each name once, so conditions are not ambiguous",
                    )
                else:
                    owner[name] = section

    # ── parameters ───────────────────────────────────────────────────────────────────────

    def _parameters(self) -> dict[str, Parameter]:
        params: dict[str, Parameter] = {}
        for name, p in self._mapping("parameters").items():
            if not isinstance(p, dict):
                continue
            path: Path = ("parameters", name)
            self._verbatim(p.get("quote"), (*path, "quote"), "the quote")
            values: list[ParameterValue] = []
            raw_values = p.get("values")
            for i, v in enumerate(raw_values if isinstance(raw_values, list) else []):
                vpath = (*path, "values", i)
                start = self._date(v, "from", vpath)
                end = (
                    self._date(v, "until", vpath) if isinstance(v, dict) and "until" in v else None
                )
                value = _get(v, "value", (int, float))
                tiers = self._tiers(v, vpath, name)
                if isinstance(v, dict) and ("value" in v) == ("tiers" in v):
                    self.problem(
                        self.doc.at(vpath),
                        f"value {i + 1} of parameter {name} must have either 'value' or 'tiers'",
                        "a single number (value:) or a score table (tiers:)",
                    )
                    continue
                if start is None or (value is None and tiers is None):
                    continue
                if end is not None and end < start:
                    self.problem(
                        self.doc.at((*vpath, "until")),
                        f"value {i + 1} of parameter {name} ends ({end}) before it starts ({start})",
                        "'until' on or after 'from'",
                    )
                    continue
                values.append(
                    ParameterValue(
                        start, end, value, _get(v, "reference"), self.doc.at(vpath), tiers or ()
                    )
                )
            values.sort(key=lambda pv: pv.start)
            for earlier, later in itertools.pairwise(values):
                if later.start == earlier.start or (
                    earlier.end is not None and later.start <= earlier.end
                ):
                    until = f" until {earlier.end}" if earlier.end else ""
                    self.problem(
                        later.location,
                        f"the value of parameter {name} from {later.start} overlaps the value from {earlier.start}{until} (line {earlier.location.line})",
                        "dated values that do not overlap: end the earlier one before the later one starts",
                    )
            unit = _get(p, "unit")
            if (
                not values
                or unit is None
                or not all(isinstance(p.get(k), str) for k in ("label_zh", "label_en"))
            ):
                continue
            params[name] = Parameter(
                id=name,
                label_zh=p["label_zh"],
                label_en=p["label_en"],
                unit=unit,
                clause=_get(p, "clause"),
                quote=_get(p, "quote"),
                reference=_get(p, "reference"),
                values=tuple(values),
                location=self.doc.key_at(path),
            )
        return params

    def _tiers(self, raw: Any, path: Path, name: str) -> tuple[Tier, ...] | None:
        items = raw.get("tiers") if isinstance(raw, dict) else None
        if not isinstance(items, list) or not items:
            return None
        tiers = []
        for item in items:
            at_least = _get(item, "at_least", (int, float))
            points = _get(item, "points", int)
            if at_least is None or points is None:
                return None  # the schema check names the missing key
            tiers.append(Tier(at_least, points))
        for k, (higher, lower) in enumerate(itertools.pairwise(tiers), start=1):
            if not (higher.at_least > lower.at_least and higher.points > lower.points):
                self.problem(
                    self.doc.at((*path, "tiers", k)),
                    f"the score table of parameter {name} is not in order at step {k + 1}: "
                    f"{lower.at_least} → {lower.points} after {higher.at_least} → {higher.points}",
                    "steps from the highest threshold down, each with fewer points than the one before",
                )
                return None
        return tuple(tiers)

    def _date(self, raw: Any, key: str, path: Path) -> dt.date | None:
        text = _get(raw, key)
        if text is None:
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            self.problem(
                self.doc.at((*path, key)),
                f"'{key}' is {text!r}, which is not a date",
                "a real date written YYYY-MM-DD",
            )
            return None

    # ── conditions ───────────────────────────────────────────────────────────────────────

    def _conditions(self, items: Any, path: Path, scope: Scope, clause: str) -> AllOf | None:
        if not isinstance(items, list) or not items:
            return None
        parts = [self._condition(item, (*path, i), scope, clause) for i, item in enumerate(items)]
        if any(p is None for p in parts):
            return None
        return AllOf("all", self.doc.at(path), clause, tuple(p for p in parts if p is not None))

    def _condition(self, item: Any, path: Path, scope: Scope, clause: str) -> Condition | None:
        loc = self.doc.at(path)
        if isinstance(item, str):
            try:
                return parse_condition(item, scope, self.doc.text_at(path), clause)
            except ConditionSyntaxError as exc:
                self.problems.append(exc.problem)
                return None
        if isinstance(item, dict) and len(item) == 1:
            ((key, value),) = item.items()
            if key in ("all", "any"):
                if not isinstance(value, list) or not value:
                    self.problem(
                        self.doc.at((*path, key)),
                        f"'{key}:' needs a list of conditions",
                        "one condition per line, each starting with '- '",
                    )
                    return None
                parts = [
                    self._condition(v, (*path, key, i), scope, clause) for i, v in enumerate(value)
                ]
                if any(p is None for p in parts):
                    return None
                group = AllOf if key == "all" else AnyOf
                return group(key, loc, clause, tuple(p for p in parts if p is not None))
            if key == "not":
                inner: Condition | None
                if isinstance(value, list):
                    inner = self._conditions(value, (*path, key), scope, clause)
                else:
                    inner = self._condition(value, (*path, key), scope, clause)
                return None if inner is None else NotOf("not", loc, clause, inner)
            hint = did_you_mean(str(key), ["all", "any", "not"]) or "'all:', 'any:' or 'not:'"
            self.problem(self.doc.key_at((*path, key)), f"unknown condition group '{key}'", hint)
            return None
        if isinstance(item, dict):
            self.problem(
                loc,
                "a condition group must have exactly one key",
                "'all:', 'any:' or 'not:' followed by a list",
            )
            return None
        shown = "empty" if item is None else repr(item)
        self.problem(
            loc,
            f"a condition is {shown}",
            "a condition text such as 'employees <= sme_max_employees', or all:/any:/not:",
        )
        return None

    def _categories(self, raw: dict[str, Any], scope: Scope) -> dict[str, Category]:
        categories: dict[str, Category] = {}
        for name, c in raw.items():
            if not isinstance(c, dict):
                continue
            path: Path = ("categories", name)
            self._verbatim(c.get("quote"), (*path, "quote"), "the quote")
            clause = _get(c, "clause") or ""
            cond = self._conditions(c.get("conditions"), (*path, "conditions"), scope, clause)
            if cond is None or not all(isinstance(c.get(k), str) for k in ("label_zh", "label_en")):
                continue
            categories[name] = Category(
                id=name,
                label_zh=c["label_zh"],
                label_en=c["label_en"],
                clause=_get(c, "clause"),
                quote=_get(c, "quote"),
                reference=_get(c, "reference"),
                condition=cond,
                location=self.doc.key_at(path),
            )
        self._check_cycles(categories)
        return categories

    def _check_cycles(self, categories: Mapping[str, Category]) -> None:
        graph = {name: categories_used(c.condition) for name, c in categories.items()}
        reported: set[str] = set()

        def visit(name: str, trail: list[str]) -> None:
            if name in trail:
                cycle = [*trail[trail.index(name) :], name]
                if name not in reported:
                    reported.update(cycle)
                    self.problem(
                        categories[name].location,
                        "categories refer to each other in a circle: " + " → ".join(cycle),
                        "a category may use others, but never itself",
                    )
                return
            for nxt in graph.get(name, []):
                visit(nxt, [*trail, name])

        for name in graph:
            visit(name, [])

    # ── measures ─────────────────────────────────────────────────────────────────────────

    def _measures(
        self,
        scope: Scope,
        parameters: Mapping[str, Parameter],
        targets: TargetTable | None,
        document: Document | None,
    ) -> list[Measure]:
        raw = self.data.get("measures")
        if not isinstance(raw, list):
            return []
        measures: list[Measure] = []
        seen_measures: dict[str, Location] = {}
        seen_benefits: dict[str, Location] = {}
        part_numbers = {p.number for p in document.parts} if document else set()
        for i, m in enumerate(raw):
            if not isinstance(m, dict):
                continue
            path: Path = ("measures", i)
            mid = _get(m, "id")
            number = _get(m, "number")
            if mid in seen_measures:
                self.problem(
                    self.doc.at((*path, "id")),
                    f"measure id '{mid}' is used twice",
                    f"each measure once; first at line {seen_measures[mid].line}",
                )
            elif mid:
                seen_measures[mid] = self.doc.at((*path, "id"))
            part, kind = self._check_number(mid, number, path, part_numbers)
            self._verbatim(m.get("title_zh"), (*path, "title_zh"), "the title")
            self._verbatim(m.get("text"), (*path, "text"), "the clause text")
            targets_ref = _get(m, "targets")
            if targets_ref is not None and (targets is None or targets.annex != targets_ref):
                self.problem(
                    self.doc.at((*path, "targets")),
                    f"measure {mid} refers to the target table '{targets_ref}', which this file does not have",
                    f"'{targets.annex}'" if targets else "a 'targets:' section",
                )
            benefits = self._benefits(m, path, mid, scope, parameters, seen_benefits, number or "")
            audience = _get(m, "audience")
            if not (mid and number and part and kind) or audience not in {
                a.value for a in Audience
            }:
                continue
            if not all(isinstance(m.get(k), str) for k in ("title_zh", "title_en", "text")):
                continue
            measures.append(
                Measure(
                    id=mid,
                    number=number,
                    part=part,
                    kind=kind,
                    title_zh=m["title_zh"],
                    title_en=m["title_en"],
                    audience=Audience(audience),
                    text=m["text"],
                    targets=targets_ref,
                    benefits=tuple(benefits),
                    reading_zh=_get(m, "reading_zh"),
                    reading_en=_get(m, "reading_en"),
                    location=self.doc.at(path),
                )
            )
        return measures

    def _check_number(
        self, mid: str | None, number: str | None, path: Path, part_numbers: set[str]
    ) -> tuple[str | None, MeasureKind | None]:
        if not mid or not number or "(" not in number:
            return None, None
        prefix, seq = mid[:2], mid[2:]
        expected_part, kind = _PARTS.get(prefix, (None, None))
        if expected_part is None or not seq.isdigit():
            return None, None
        part = number.split("(", 1)[0]
        try:
            expected = f"{expected_part}({chinese_numeral(int(seq))})"
        except ValueError:
            return part, kind
        if number != expected:
            self.problem(
                self.doc.at((*path, "number")),
                f"measure {mid} is numbered '{number}'",
                f"{mid} is printed as '{expected}'",
            )
        if part_numbers and part not in part_numbers:
            self.problem(
                self.doc.at((*path, "number")),
                f"measure {mid} belongs to part '{part}', which document.parts does not list",
                "one of: " + ", ".join(sorted(part_numbers)),
            )
        return part, kind

    def _benefits(
        self,
        m: dict[str, Any],
        path: Path,
        mid: str | None,
        scope: Scope,
        parameters: Mapping[str, Parameter],
        seen: dict[str, Location],
        clause: str,
    ) -> list[Benefit]:
        out: list[Benefit] = []
        raw = m.get("benefits")
        for j, b in enumerate(raw if isinstance(raw, list) else []):
            if not isinstance(b, dict):
                continue
            bpath: Path = (*path, "benefits", j)
            bid = _get(b, "id")
            if bid in seen:
                self.problem(
                    self.doc.at((*bpath, "id")),
                    f"benefit id '{bid}' is used twice",
                    f"each benefit once; first at line {seen[bid].line}",
                )
            elif bid:
                seen[bid] = self.doc.at((*bpath, "id"))
            if bid and mid and not bid.startswith(f"{mid}."):
                self.problem(
                    self.doc.at((*bpath, "id")),
                    f"benefit '{bid}' is listed under measure {mid}",
                    f"an id starting with '{mid}.'",
                )
            quote = _get(b, "quote")
            self._verbatim(
                quote,
                (*bpath, "quote"),
                "the quote",
                within=_get(m, "text"),
                within_name=f"the clause text of {mid}",
            )
            for k, pname in enumerate(b.get("parameters") or []):
                if isinstance(pname, str) and pname not in self._mapping("parameters"):
                    hint = (
                        did_you_mean(pname, parameters)
                        or "a parameter declared under 'parameters:'"
                    )
                    self.problem(
                        self.doc.at((*bpath, "parameters", k)),
                        f"unknown parameter '{pname}' in benefit {bid}",
                        hint,
                    )
            cond = self._conditions(b.get("conditions"), (*bpath, "conditions"), scope, clause)
            estimate = self._estimate(b.get("estimate"), (*bpath, "estimate"), scope, clause)
            kind = _get(b, "kind")
            fields = ("title_zh", "title_en", "description_zh", "description_en")
            if (
                cond is None
                or not bid
                or not mid
                or quote is None
                or kind not in {k.value for k in BenefitKind}
            ):
                continue
            if not all(isinstance(b.get(k), str) for k in fields):
                continue
            out.append(
                Benefit(
                    id=bid,
                    measure_id=mid,
                    kind=BenefitKind(kind),
                    title_zh=b["title_zh"],
                    title_en=b["title_en"],
                    description_zh=b["description_zh"],
                    description_en=b["description_en"],
                    quote=quote,
                    condition=cond,
                    parameters=tuple(p for p in (b.get("parameters") or []) if isinstance(p, str)),
                    reading_zh=_get(b, "reading_zh"),
                    reading_en=_get(b, "reading_en"),
                    amount_note_zh=_get(b, "amount_note_zh"),
                    amount_note_en=_get(b, "amount_note_en"),
                    location=self.doc.at(bpath),
                    estimate=estimate,
                    not_combinable_with=tuple(
                        x for x in (b.get("not_combinable_with") or []) if isinstance(x, str)
                    ),
                    implies=tuple(x for x in (b.get("implies") or []) if isinstance(x, str)),
                )
            )
        return out

    def _estimate(self, raw: Any, path: Path, scope: Scope, clause: str) -> Estimate | None:
        if not isinstance(raw, dict):
            return None
        if "formula" in raw and "cases" in raw:
            self.problem(
                self.doc.at(path),
                "an estimate has both 'formula' and 'cases'",
                "one formula, or a list of cases with 'when' and 'formula'",
            )
            return None
        raw_cases: list[Any] = _get(raw, "cases", list) or []
        items = (
            [(raw, path)]
            if "formula" in raw
            else [(c, (*path, "cases", i)) for i, c in enumerate(raw_cases)]
        )
        cases: list[EstimateCase] = []
        for item, ipath in items:
            formula = _get(item, "formula")
            when = None
            if isinstance(item, dict) and "when" in item:
                when = self._condition(item.get("when"), (*ipath, "when"), scope, clause)
                if when is None:
                    continue
            if formula is None:
                continue
            try:
                expr, vtype = parse_expression(
                    formula, scope, self.doc.text_at((*ipath, "formula"))
                )
            except ConditionSyntaxError as exc:
                self.problems.append(exc.problem)
                continue
            if _measure_unit(vtype.unit) not in (None, "元"):
                self.problem(
                    self.doc.at((*ipath, "formula")),
                    f"the estimate formula gives an amount in {vtype.unit}",
                    "an amount in 元",
                )
                continue
            cases.append(EstimateCase(when, formula, decimal_constants(expr), self.doc.at(ipath)))
        kind = _get(raw, "kind")
        if not cases or len(cases) != len(items) or kind is None:
            return None
        return Estimate(
            kind, tuple(cases), _get(raw, "note_zh"), _get(raw, "note_en"), self.doc.at(path)
        )

    def _check_combinations(self, measures: list[Measure]) -> None:
        known = {
            b["id"]
            for m in self.data.get("measures") or []
            if isinstance(m, dict)
            for b in m.get("benefits") or []
            if isinstance(b, dict) and isinstance(b.get("id"), str)
        }
        for m in measures:
            for b in m.benefits:
                for key, others, words in (
                    ("not_combinable_with", b.not_combinable_with, "cannot be combined with"),
                    ("implies", b.implies, "is declared to imply"),
                ):
                    for k, other in enumerate(others):
                        if other not in known or other == b.id:
                            hint = did_you_mean(other, known) or "another benefit's id"
                            self.problem(
                                self.doc.at((*_benefit_path(self.data, b.id), key, k)),
                                f"benefit {b.id} {words} an unknown benefit '{other}'",
                                hint,
                            )

    # ── the tech-SME evaluation ──────────────────────────────────────────────────────────

    def _evaluation(
        self, scope: Scope, facts: Mapping[str, FactDef], parameters: Mapping[str, Parameter]
    ) -> EvaluationMethod | None:
        raw = self.data.get("tech_sme_evaluation")
        if not isinstance(raw, dict):
            return None
        path: Path = ("tech_sme_evaluation",)
        self._verbatim(raw.get("quote"), (*path, "quote"), "the quote")
        clause = _get(raw, "clause") or ""
        basic = self._named_conditions(
            raw.get("basic_conditions"), (*path, "basic_conditions"), scope, clause
        )
        direct = self._named_conditions(
            raw.get("direct_routes"), (*path, "direct_routes"), scope, clause
        )
        indicators = []
        seen: set[str] = set()
        for i, item in enumerate(raw.get("indicators") or []):
            ipath = (*path, "indicators", i)
            indicator = self._indicator(item, ipath, facts, parameters)
            if indicator is None:
                continue
            if indicator.id in seen:
                self.problem(
                    self.doc.at((*ipath, "id")),
                    f"indicator '{indicator.id}' is listed twice",
                    "each indicator once",
                )
            seen.add(indicator.id)
            indicators.append(indicator)
        pass_score = _get(raw, "pass_score")
        raw_params = self._mapping("parameters")
        if pass_score is not None and pass_score in raw_params and pass_score not in parameters:
            pass_score = None  # the parameter itself has a problem, reported where it is defined
        elif pass_score is not None and (
            pass_score not in parameters or _is_table(raw_params[pass_score])
        ):
            hint = did_you_mean(pass_score, parameters) or "a parameter with a single value"
            self.problem(
                self.doc.at((*path, "pass_score")),
                f"'{pass_score}' is not a parameter with a single value, as the pass mark must be",
                hint,
            )
            pass_score = None
        nonzero = tuple(x for x in (raw.get("nonzero") or []) if isinstance(x, str))
        declared = {i.get("id") for i in raw.get("indicators") or [] if isinstance(i, dict)}
        for k, name in enumerate(nonzero):
            if name not in declared:
                self.problem(
                    self.doc.at((*path, "nonzero", k)),
                    f"'{name}' is not one of the indicators",
                    did_you_mean(name, seen) or "an indicator id",
                )
        label_zh, label_en = _get(raw, "label_zh"), _get(raw, "label_en")
        if (
            basic is None
            or direct is None
            or pass_score is None
            or label_zh is None
            or label_en is None
        ):
            return None
        return EvaluationMethod(
            label_zh=label_zh,
            label_en=label_en,
            clause=_get(raw, "clause"),
            quote=_get(raw, "quote"),
            reference=_get(raw, "reference"),
            basic=basic,
            direct=direct,
            indicators=tuple(indicators),
            pass_score=pass_score,
            nonzero=nonzero,
            location=self.doc.at(path),
        )

    def _named_conditions(
        self, raw: Any, path: Path, scope: Scope, clause: str
    ) -> tuple[NamedCondition, ...] | None:
        if not isinstance(raw, list):
            return None
        out = []
        complete = True
        for i, item in enumerate(raw):
            ipath = (*path, i)
            cond = self._conditions(
                _get(item, "conditions", list), (*ipath, "conditions"), scope, clause
            )
            ident, label_zh, label_en = (_get(item, k) for k in ("id", "label_zh", "label_en"))
            if cond is None or ident is None or label_zh is None or label_en is None:
                complete = False
                continue
            out.append(NamedCondition(ident, label_zh, label_en, cond, self.doc.at(ipath)))
        return tuple(out) if complete else None

    def _indicator(
        self,
        raw: Any,
        path: Path,
        facts: Mapping[str, FactDef],
        parameters: Mapping[str, Parameter],
    ) -> Indicator | None:
        if not isinstance(raw, dict):
            return None
        max_points = _get(raw, "max_points", int)
        sources = []
        for j, src in enumerate(raw.get("sources") or []):
            source = self._score_source(src, (*path, "sources", j), facts, parameters, max_points)
            if source is not None:
                sources.append(source)
        ident, label_zh, label_en = (_get(raw, k) for k in ("id", "label_zh", "label_en"))
        if (
            ident is None
            or label_zh is None
            or label_en is None
            or max_points is None
            or not sources
        ):
            return None
        return Indicator(ident, label_zh, label_en, max_points, tuple(sources), self.doc.at(path))

    def _score_source(
        self,
        src: Any,
        path: Path,
        facts: Mapping[str, FactDef],
        parameters: Mapping[str, Parameter],
        max_points: int | None,
    ) -> ScoreSource | None:
        if not isinstance(src, dict):
            return None
        ratio, count, tiers = src.get("ratio"), _get(src, "count"), _get(src, "tiers")
        if (
            isinstance(ratio, list)
            and len(ratio) == 2
            and all(isinstance(x, str) for x in ratio)
            and count is None
        ):
            names = list(ratio)
        elif ratio is None and count is not None:
            names = [count]
        else:
            self.problem(
                self.doc.at(path),
                "a score source needs either 'ratio: [numerator, denominator]' or 'count: fact'",
                "one of the two",
            )
            return None
        usable = True
        for k, fact in enumerate(names):
            where = (*path, "ratio", k) if ratio is not None else (*path, "count")
            if fact not in facts or facts[fact].type not in (FactType.COUNT, FactType.MONEY):
                hint = did_you_mean(fact, facts) or "a count or an amount of the profile"
                self.problem(
                    self.doc.at(where), f"'{fact}' is not a numeric fact of the profile", hint
                )
                usable = False
        table = parameters.get(tiers) if tiers else None
        if tiers is None:
            return None
        if table is None and _is_table(self._mapping("parameters").get(tiers)):
            return None  # the table itself has a problem, reported where it is defined
        if table is None or not all(v.tiers for v in table.values):
            tables = [p for p, v in parameters.items() if v.values[0].tiers]
            self.problem(
                self.doc.at((*path, "tiers")),
                f"'{tiers}' is not a score table",
                did_you_mean(tiers, tables) or "a parameter with tiers",
            )
            return None
        top = max(t.points for v in table.values for t in v.tiers)
        if max_points is not None and top > max_points:
            self.problem(
                self.doc.at((*path, "tiers")),
                f"the score table {tiers} gives up to {top} points, more than the indicator's {max_points}",
                f"at most {max_points} points",
            )
        if not usable:
            return None
        return ScoreSource(
            names[0], names[1] if ratio is not None else None, tiers, self.doc.at(path)
        )

    def _check_printed_target(self, name: str, target: int | None, path: Path) -> None:
        if self.source_text is None or target is None:
            return
        printed = _printed_number_after(self.source_text, name)
        if printed is not None and printed != target:
            self.problem(
                self.doc.at(path),
                f"the target of {name} is {target}, but the source text prints {printed}",
                f"target: {printed}",
            )

    # ── 附件2 ────────────────────────────────────────────────────────────────────────────

    def _targets(self) -> TargetTable | None:
        raw = self.data.get("targets")
        if not isinstance(raw, dict):
            return None
        path: Path = ("targets",)
        towns: list[Town] = []
        names: dict[str, Location] = {}
        raw_towns = raw.get("towns")
        for i, t in enumerate(raw_towns if isinstance(raw_towns, list) else []):
            tpath = (*path, "towns", i)
            name = _get(t, "name")
            target = _get(t, "target", int)
            seq = _get(t, "seq", int)
            if name in names:
                self.problem(
                    self.doc.at((*tpath, "name")),
                    f"town '{name}' is listed twice in {raw.get('annex', 'the target table')}",
                    f"each town once; first at line {names[name].line}",
                )
                continue
            if name:
                names[name] = self.doc.at(tpath)
                self._verbatim(name, (*tpath, "name"), "the town name")
                self._check_printed_target(name, target, (*tpath, "target"))
            if seq is not None and seq != i + 1:
                self.problem(
                    self.doc.at((*tpath, "seq")),
                    f"town '{name}' has row number {seq}",
                    f"row {i + 1}: rows are numbered 1, 2, 3 … in order",
                )
            if name is None or target is None or seq is None:
                continue
            towns.append(Town(seq, name, _get(t, "name_en"), target, self.doc.at(tpath)))
        total = _get(raw, "total", int)
        if total is not None and raw_towns and len(towns) == len(raw_towns):
            rows = sum(t.target for t in towns)
            if rows != total:
                self.problem(
                    self.doc.at((*path, "total")),
                    f"the {len(towns)} rows of {raw.get('annex', 'the target table')} add up to {rows}, but the printed total is {total}",
                    f"total: {rows}, or correct the row that differs from the source text",
                )
        if (
            self.source_text is not None
            and total is not None
            and str(total) not in self.source_text
        ):
            self.problem(
                self.doc.at((*path, "total")),
                f"the total {total} does not occur in the source text",
                "the 合计 as printed",
            )
        if total is None or _get(raw, "year", int) is None:
            return None
        return TargetTable(
            annex=_get(raw, "annex") or "",
            title_zh=_get(raw, "title_zh") or "",
            title_en=_get(raw, "title_en"),
            year=raw["year"],
            unit=_get(raw, "unit") or "",
            towns=tuple(towns),
            total=total,
            location=self.doc.at(path),
        )


def _printed_number_after(text: str, name: str) -> int | None:
    """The number printed right after ``name`` in a table of the source text (附件2 rows)."""
    match = re.search(re.escape(name) + r"\s+(\d+)", text)
    return int(match.group(1)) if match else None


def _benefit_path(data: Mapping[str, Any], benefit_id: str) -> Path:
    for i, m in enumerate(data.get("measures") or []):
        for j, b in enumerate((m.get("benefits") or []) if isinstance(m, dict) else []):
            if isinstance(b, dict) and b.get("id") == benefit_id:
                return ("measures", i, "benefits", j)
    return ()


def _measure_unit(unit: str | None) -> str | None:
    return None if unit == "%" else unit


def _is_table(raw: Any) -> bool:
    values = raw.get("values") if isinstance(raw, dict) else None
    return isinstance(values, list) and any(isinstance(v, dict) and "tiers" in v for v in values)


def _fact_type(fact: FactDef) -> ValueType:
    if fact.type is FactType.BOOL:
        return BOOL
    if fact.type in (FactType.TEXT, FactType.TOWN):
        return TEXT
    return ValueType("number", fact.unit)


def _derived_unit(raw: Any) -> str | None:
    unit = _get(raw, "unit")
    if unit is None and _get(raw, "type") == "money":
        return "元"
    return unit if isinstance(unit, str) else None


def _longest_prefix_in(text: str, haystack: str) -> int:
    """The length of the longest prefix of ``text`` that occurs in ``haystack``."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text[:mid] in haystack:
            lo = mid
        else:
            hi = mid - 1
    return lo
