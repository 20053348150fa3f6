"""Eligibility as OWL 2 classes, classified by the HermiT reasoner (owlready2).

For every category and benefit the conditions of measures.yaml become two class expressions over
functional data properties, one per profile fact:

- ``Eligible_<benefit>`` — the enterprises for which every condition holds;
- ``Ineligible_<benefit>`` — written *positively* as the complement ranges (``employees some
  int[> 500]``, ``hnte_valid value false``, a union for ``all``, an intersection for ``any``).

The reasoner works under the open-world assumption, so an enterprise whose facts are missing is
classified as neither — exactly ``undetermined``. No ``Not(...)`` and no closed world are used.
Arithmetic the reasoner cannot do is a derived fact (``rd_expense_growth``), computed before
reasoning, as the fast engine does.

The same compilation serves three purposes: the reference engine (``engine="owl"``), the policy
linter (unsatisfiable classes, eligible/ineligible overlaps, declared implications, the
subsumptions the reasoner finds) and the TBox written to ``ontology/``.

Why HermiT and not Pellet: owlready2's Pellet (0.50–0.51) does not run on Java 17; HermiT classifies
individuals by datatype restrictions correctly, bounds included. Reasoning is done in batches of
about 25 enterprises: HermiT's cost grows faster than linearly with the number of individuals
(measured on this model: 25 in 1.8 s, 100 in 12 s, 300 in 125 s per call).
"""

from __future__ import annotations

import io
import math
import os
import shutil
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import owlready2
from owlready2 import (
    And,
    ConstrainedDatatype,
    DataProperty,
    FunctionalProperty,
    Or,
    OwlReadyInconsistentOntologyError,
    Thing,
    World,
    locstr,
)

from ._conditions import (
    AllOf,
    AnyOf,
    CategoryRef,
    Comparison,
    Condition,
    Context,
    FactRef,
    Flag,
    NotOf,
)
from ._errors import Location, OntologyError, PolicyKBError
from ._evaluate import compute_derived
from ._model import FactType, PolicyModel, Status
from ._profile import Profile

OWL_NAMESPACE = "https://w3id.org/policy-kb/eligibility#"
#: measured: HermiT is fastest per profile at about 25 enterprises per call (benchmarks/bench_owl.py)
BATCH = 25
_INSTALL_HINT = (
    "install a Java runtime (version 11 or newer), for example Debian's: "
    "sudo apt-get install default-jre-headless"
)


class ReasonerUnavailableError(PolicyKBError):
    """The OWL reasoner cannot run: no Java runtime was found."""


class NotExpressibleError(OntologyError):
    """A condition the OWL 2 datatype restrictions cannot express."""

    def __init__(self, condition: Condition, why: str) -> None:
        self.condition = condition
        self.location = condition.location
        super().__init__(
            f"{condition.location}: the reasoner cannot read '{condition.text}': {why}"
        )


def find_java() -> str | None:
    """The java executable owlready2 will run: ``$JAVA_HOME/bin/java`` or ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("java")


def require_java() -> str:
    """The java executable, or :class:`ReasonerUnavailableError` with the install hint."""
    java = find_java()
    if java is None:
        raise ReasonerUnavailableError(
            "the OWL reasoner (HermiT) needs a Java runtime, and none was found on PATH or in "
            f"JAVA_HOME: {_INSTALL_HINT}. Everything else in policy-kb works without Java."
        )
    return java


# ── compilation ──────────────────────────────────────────────────────────────────────────────

_PY_TYPES: Mapping[FactType, type] = {
    FactType.BOOL: bool,
    FactType.COUNT: int,
    FactType.YEAR: int,
    FactType.MONEY: float,  # owlready2 stores a Python float as xsd:decimal
    FactType.TEXT: str,
    FactType.TOWN: str,
}
_FACETS = {"<=": "max_inclusive", "<": "max_exclusive", ">=": "min_inclusive", ">": "min_exclusive"}
_OPPOSITE = {
    "<=": ">",
    "<": ">=",
    ">=": "<",
    ">": "<=",
    "==": "!=",
    "!=": "==",
    "in": "not in",
    "not in": "in",
}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


@dataclass
class CompiledOntology:
    """One OWL world holding the eligibility TBox for one year (and, later, individuals)."""

    world: Any
    onto: Any
    enterprise: Any
    properties: dict[str, Any]
    python_types: dict[str, type]
    eligible: dict[str, Any] = field(default_factory=dict)
    ineligible: dict[str, Any] = field(default_factory=dict)
    category: dict[str, Any] = field(default_factory=dict)
    not_category: dict[str, Any] = field(default_factory=dict)
    has_fact: dict[str, Any] = field(default_factory=dict)
    probes: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _new_class(name: str, bases: tuple[Any, ...]) -> Any:
    """A new OWL class (or property) in the ontology of the enclosing ``with onto:`` block."""
    return types.new_class(name, bases)


def owl_name(kind: str, ident: str) -> str:
    """``Eligible_KM7.rd_growth_reward``, ``Category_sme_size``, …"""
    return f"{kind}_{ident}"


def compile_ontology(model: PolicyModel, year: int, *, probes: bool = False) -> CompiledOntology:
    """Build the eligibility TBox of ``model`` with the parameter values in force in ``year``.

    Raises :class:`NotExpressibleError` for a condition OWL cannot express.
    """
    world = World()
    onto = world.get_ontology(OWL_NAMESPACE)
    params = {
        name: pv.value
        for name, p in model.parameters.items()
        if (pv := p.value_for_year(year)) and pv.value is not None
    }
    used = _facts_in_conditions(model)
    with onto:
        enterprise = _new_class("Enterprise", (Thing,))
        enterprise.label = [locstr("企业", "zh"), locstr("enterprise", "en")]
        properties: dict[str, Any] = {}
        python_types: dict[str, type] = {}
        for fact in used:
            definition = model.facts.get(fact) or model.derived.get(fact)
            assert definition is not None
            prop = _new_class(fact, (DataProperty, FunctionalProperty))
            prop.domain = [enterprise]
            prop.range = [_PY_TYPES[definition.type]]
            prop.label = [locstr(definition.label_zh, "zh"), locstr(definition.label_en, "en")]
            properties[fact] = prop
            python_types[fact] = _PY_TYPES[definition.type]
        compiled = CompiledOntology(world, onto, enterprise, properties, python_types)
        translator = _Translator(model, compiled, params)
        for name in model.categories:
            compiled.category[name] = _new_class(owl_name("Category", name), (enterprise,))
            compiled.not_category[name] = _new_class(owl_name("NotCategory", name), (enterprise,))
        for name, category in model.categories.items():
            compiled.category[name].equivalent_to = [
                enterprise & translator.positive(category.condition)
            ]
            compiled.not_category[name].equivalent_to = [
                enterprise & translator.negative(category.condition)
            ]
        for benefit in model.benefits.values():
            eligible = _new_class(owl_name("Eligible", benefit.id), (enterprise,))
            ineligible = _new_class(owl_name("Ineligible", benefit.id), (enterprise,))
            eligible.equivalent_to = [enterprise & translator.positive(benefit.condition)]
            ineligible.equivalent_to = [enterprise & translator.negative(benefit.condition)]
            eligible.label = [locstr(benefit.title_zh, "zh"), locstr(benefit.title_en, "en")]
            compiled.eligible[benefit.id] = eligible
            compiled.ineligible[benefit.id] = ineligible
        for fact, ptype in python_types.items():
            if ptype is bool:
                cls = _new_class(owl_name("Has", fact), (enterprise,))
                cls.equivalent_to = [enterprise & properties[fact].value(True)]
                compiled.has_fact[fact] = cls
        if probes:
            _add_probes(model, compiled)
    return compiled


def _facts_in_conditions(model: PolicyModel) -> list[str]:
    found: dict[str, None] = {}
    stack: list[Condition] = [c.condition for c in model.categories.values()]
    stack += [b.condition for b in model.benefits.values()]
    while stack:
        cond = stack.pop()
        if isinstance(cond, Flag):
            found.setdefault(cond.fact)
        elif isinstance(cond, Comparison):
            for name in cond.reads:
                if name in model.derived or name in model.facts:
                    found.setdefault(name)
        elif isinstance(cond, (AllOf, AnyOf)):
            stack.extend(cond.parts)
        elif isinstance(cond, NotOf):
            stack.append(cond.part)
    return sorted(found)


def _add_probes(model: PolicyModel, compiled: CompiledOntology) -> None:
    """Classes that must be unsatisfiable when the policy is sound."""
    for benefit in model.benefits.values():
        name = owl_name("Overlap", benefit.id)
        probe = _new_class(name, (compiled.enterprise,))
        probe.equivalent_to = [
            And([compiled.eligible[benefit.id], compiled.ineligible[benefit.id]])
        ]
        compiled.probes[name] = ("overlap", benefit.id)
        for other in benefit.implies:
            name = owl_name("Breach", f"{benefit.id}--{other}")
            probe = _new_class(name, (compiled.enterprise,))
            probe.equivalent_to = [And([compiled.eligible[benefit.id], compiled.ineligible[other]])]
            compiled.probes[name] = ("implies", benefit.id, other)
    for category in model.categories:
        name = owl_name("Overlap", category)
        probe = _new_class(name, (compiled.enterprise,))
        probe.equivalent_to = [And([compiled.category[category], compiled.not_category[category]])]
        compiled.probes[name] = ("overlap-category", category)


class _Translator:
    """Condition trees → positive OWL class expressions for holding and for failing."""

    def __init__(
        self, model: PolicyModel, compiled: CompiledOntology, params: Mapping[str, Any]
    ) -> None:
        self.model = model
        self.compiled = compiled
        self.params = params

    def positive(self, cond: Condition) -> Any:
        return self._translate(cond, holds=True)

    def negative(self, cond: Condition) -> Any:
        return self._translate(cond, holds=False)

    def _translate(self, cond: Condition, *, holds: bool) -> Any:
        if isinstance(cond, AllOf):
            parts = [self._translate(p, holds=holds) for p in cond.parts]
            return _and(parts) if holds else _or(parts)
        if isinstance(cond, AnyOf):
            parts = [self._translate(p, holds=holds) for p in cond.parts]
            return _or(parts) if holds else _and(parts)
        if isinstance(cond, NotOf):
            return self._translate(cond.part, holds=not holds)
        if isinstance(cond, CategoryRef):
            table = self.compiled.category if holds else self.compiled.not_category
            return table[cond.category]
        if isinstance(cond, Flag):
            expected = cond.expected if holds else not cond.expected
            return self.compiled.properties[cond.fact].value(expected)
        if isinstance(cond, Comparison):
            return self._comparison(cond, holds)
        raise NotExpressibleError(cond, "unknown kind of condition")  # pragma: no cover

    def _comparison(self, cond: Comparison, holds: bool) -> Any:
        left, op, right = cond.left, cond.op, cond.right
        if not isinstance(left, FactRef) and isinstance(right, FactRef):
            left, right, op = right, left, _FLIP.get(op, op)
        if not isinstance(left, FactRef):
            raise NotExpressibleError(
                cond, "one side must be a single fact; declare a derived fact for a calculation"
            )
        if right.facts():
            raise NotExpressibleError(
                cond, "it compares two facts; declare a derived fact (such as their difference)"
            )
        value = right.value(Context({}, self.params, {}))
        if value is None:
            raise NotExpressibleError(cond, "a parameter has no value in force")
        if not holds:
            op = _OPPOSITE[op]
        prop = self.compiled.properties[left.name]
        ptype = self.compiled.python_types[left.name]
        if ptype is bool:
            if op not in ("==", "!="):
                raise NotExpressibleError(cond, "a yes/no fact can only be equal or not")
            return prop.value(bool(value) if op == "==" else not bool(value))
        if ptype is str:
            return self._text(cond, prop, left.name, op, value)
        if op in ("in", "not in"):
            raise NotExpressibleError(cond, "'in' needs a text fact")
        if op == "==":
            return prop.some(_range(ptype, ">=", value)) & prop.some(_range(ptype, "<=", value))
        if op == "!=":
            return prop.some(_range(ptype, "<", value)) | prop.some(_range(ptype, ">", value))
        return prop.some(_range(ptype, op, value))

    def _text(self, cond: Comparison, prop: Any, fact: str, op: str, value: Any) -> Any:
        wanted = set(value) if isinstance(value, tuple) else {value}
        if op in ("==", "in"):
            return _or([prop.value(v) for v in sorted(wanted)])
        choices = self._choices(fact)
        if choices is None:
            raise NotExpressibleError(
                cond, "the complement of a text needs the list of its possible values"
            )
        return _or([prop.value(v) for v in sorted(choices - wanted)])

    def _choices(self, fact: str) -> set[str] | None:
        definition = self.model.facts.get(fact)
        if definition is not None and definition.type is FactType.TOWN and self.model.targets:
            return {t.name for t in self.model.targets.towns}
        return None


def _range(ptype: type, op: str, value: Any) -> Any:
    """A datatype restriction; bounds on whole numbers are rounded to whole numbers exactly."""
    if ptype is int:
        if isinstance(value, float) and not value.is_integer():
            op, value = {
                "<=": ("<=", math.floor(value)),
                "<": ("<=", math.floor(value)),
                ">=": (">=", math.ceil(value)),
                ">": (">=", math.ceil(value)),
            }[op]
        return ConstrainedDatatype(int, **{_FACETS[op]: int(value)})
    return ConstrainedDatatype(float, **{_FACETS[op]: float(value)})


def _and(parts: list[Any]) -> Any:
    return parts[0] if len(parts) == 1 else And(parts)


def _or(parts: list[Any]) -> Any:
    return parts[0] if len(parts) == 1 else Or(parts)


# ── reasoning ────────────────────────────────────────────────────────────────────────────────


def _reason(world: Any) -> None:
    java = require_java()
    owlready2.JAVA_EXE = java  # owlready2 reads its Java path from this module setting
    sink = io.StringIO()
    try:
        with redirect_stdout(sink), redirect_stderr(sink):
            owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
    except OwlReadyInconsistentOntologyError:
        raise
    except owlready2.OwlReadyJavaError as exc:
        raise OntologyError(f"the HermiT reasoner failed: {exc}") from None


def _value(ptype: type, value: Any) -> Any:
    """A fact value as owlready2 must store it (money as float, counts as int)."""
    if ptype is float:
        return float(value)
    if ptype is int:
        return int(value)
    return value


def classify(
    model: PolicyModel,
    profiles: Sequence[Profile],
    year: int,
    *,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, Status]]:
    """The status of every benefit for each profile, decided by HermiT alone.

    Profiles are reasoned over in batches of ``batch`` (one reasoner call per batch).
    """
    results: list[dict[str, Status]] = []
    params = {
        name: pv.value
        for name, p in model.parameters.items()
        if (pv := p.value_for_year(year)) and pv.value is not None
    }
    for start in range(0, len(profiles), batch):
        chunk = profiles[start : start + batch]
        compiled = compile_ontology(model, year)
        individuals = []
        with compiled.onto:
            for i, profile in enumerate(chunk):
                derived = compute_derived(model, profile.values, params)
                ind = compiled.enterprise(f"enterprise_{start + i}")
                for fact, value in {**profile.values, **derived}.items():
                    prop = compiled.properties.get(fact)
                    if prop is not None and value is not None:
                        prop[ind] = [_value(compiled.python_types[fact], value)]
                individuals.append(ind)
        _reason(compiled.world)
        eligible = {b: set(cls.instances()) for b, cls in compiled.eligible.items()}
        ineligible = {b: set(cls.instances()) for b, cls in compiled.ineligible.items()}
        for ind in individuals:
            statuses = {}
            for benefit in model.benefits:
                if ind in eligible[benefit]:
                    statuses[benefit] = Status.APPLIES
                elif ind in ineligible[benefit]:
                    statuses[benefit] = Status.DOES_NOT_APPLY
                else:
                    statuses[benefit] = Status.UNDETERMINED
            results.append(statuses)
        compiled.world.close()
        if progress is not None:
            progress(len(results))
    return results


# ── the linter ───────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the reasoner found about the policy."""

    severity: str  # "error" or "warning"
    location: Location
    message: str
    expected: str | None = None

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity}: {self.message}"
        return f"{text} ({self.expected})" if self.expected else text


@dataclass(frozen=True)
class Implication:
    """What the reasoner proves an enterprise must be, to get a benefit."""

    benefit: str
    location: Location
    categories: tuple[str, ...]
    facts: tuple[str, ...]
    benefits: tuple[str, ...]


@dataclass(frozen=True)
class LintReport:
    """The reasoner's findings on a whole policy."""

    year: int
    findings: tuple[Finding, ...]
    implications: tuple[Implication, ...]
    checked: Mapping[str, int]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")


def lint(model: PolicyModel, year: int | None = None) -> LintReport:
    """Run HermiT over the whole knowledge model and report what is wrong or implied."""
    year = model.document.year if year is None else year
    findings: list[Finding] = []
    try:
        compiled = compile_ontology(model, year, probes=True)
    except NotExpressibleError as exc:
        findings.append(
            Finding(
                "error",
                exc.location,
                str(exc).split(": ", 1)[1],
                "a condition on one fact against a number or parameter",
            )
        )
        return LintReport(year, tuple(findings), (), {})
    try:
        _reason(compiled.world)
    except OwlReadyInconsistentOntologyError:
        findings.append(
            Finding(
                "error",
                model.document.location,
                "the knowledge model is inconsistent: no interpretation satisfies it",
            )
        )
        return LintReport(year, tuple(findings), (), {})
    unsatisfiable = set(compiled.world.inconsistent_classes())
    for benefit in model.benefits.values():
        if compiled.eligible[benefit.id] in unsatisfiable:
            findings.append(
                Finding(
                    "error",
                    benefit.condition.location,
                    f"no enterprise could ever get benefit {benefit.id}: its conditions contradict each other ("
                    + "; ".join(_leaf_texts(benefit.condition))
                    + ")",
                    "conditions that some enterprise can meet all at once",
                )
            )
        elif compiled.ineligible[benefit.id] in unsatisfiable:
            findings.append(
                Finding(
                    "warning",
                    benefit.condition.location,
                    f"benefit {benefit.id} can never be refused: no enterprise fails its conditions",
                )
            )
    for category in model.categories.values():
        if compiled.category[category.id] in unsatisfiable:
            findings.append(
                Finding(
                    "error",
                    category.condition.location,
                    f"no enterprise could ever belong to category {category.id}: its conditions contradict each other ("
                    + "; ".join(_leaf_texts(category.condition))
                    + ")",
                    "conditions that some enterprise can meet all at once",
                )
            )
    for name, probe in compiled.probes.items():
        cls = compiled.onto[name]
        if cls in unsatisfiable:
            continue
        if probe[0] == "overlap":
            benefit = model.benefits[probe[1]]
            findings.append(
                Finding(
                    "error",
                    benefit.location,
                    f"an enterprise could be both eligible and ineligible for {probe[1]}",
                    "eligibility and ineligibility that exclude each other",
                )
            )
        elif probe[0] == "overlap-category":
            category = model.categories[probe[1]]
            findings.append(
                Finding(
                    "error",
                    category.location,
                    f"an enterprise could both belong and not belong to category {probe[1]}",
                )
            )
        else:
            benefit = model.benefits[probe[1]]
            findings.append(
                Finding(
                    "error",
                    benefit.location,
                    f"{probe[1]} is declared to imply {probe[2]}, but an enterprise could get {probe[1]} and be refused {probe[2]}",
                    f"conditions of {probe[1]} that include those of {probe[2]}",
                )
            )
    implications = tuple(_implications(model, compiled, unsatisfiable))
    compiled.world.close()
    checked = {
        "benefits": len(model.benefits),
        "categories": len(model.categories),
        "declared_implications": sum(len(b.implies) for b in model.benefits.values()),
    }
    findings.sort(key=lambda f: (f.location.line, f.location.column))
    return LintReport(year, tuple(findings), implications, checked)


def _leaf_texts(cond: Condition) -> list[str]:
    out: list[str] = []
    stack = [cond]
    while stack:
        c = stack.pop()
        if isinstance(c, (AllOf, AnyOf)):
            stack.extend(reversed(c.parts))
        elif isinstance(c, NotOf):
            stack.append(c.part)
        else:
            out.append(f"{c.text} at line {c.location.line}")
    return out


def _implications(
    model: PolicyModel, compiled: CompiledOntology, unsatisfiable: set[Any]
) -> Iterable[Implication]:
    by_class: dict[Any, tuple[str, str]] = {}
    for name, cls in compiled.category.items():
        by_class[cls] = ("category", name)
    for name, cls in compiled.has_fact.items():
        by_class[cls] = ("fact", name)
    for name, cls in compiled.eligible.items():
        by_class[cls] = ("benefit", name)
    for benefit in model.benefits.values():
        cls = compiled.eligible[benefit.id]
        if cls in unsatisfiable:
            continue
        above = set(cls.ancestors()) | set(cls.equivalent_to)
        found: dict[str, list[str]] = {"category": [], "fact": [], "benefit": []}
        for other in above:
            kind = by_class.get(other)
            if kind is None or (kind[0] == "benefit" and kind[1] == benefit.id):
                continue
            found[kind[0]].append(kind[1])
        yield Implication(
            benefit.id,
            benefit.location,
            tuple(sorted(found["category"])),
            tuple(sorted(found["fact"])),
            tuple(sorted(found["benefit"])),
        )


def tbox_ntriples(model: PolicyModel, year: int | None = None) -> str:
    """The eligibility TBox as N-Triples (what ontology/…-eligibility.nt holds)."""
    compiled = compile_ontology(model, model.document.year if year is None else year)
    buffer = io.BytesIO()
    compiled.onto.save(buffer, format="ntriples")
    compiled.world.close()
    lines = sorted(set(buffer.getvalue().decode("utf-8").splitlines()))
    return "\n".join(line for line in lines if line.strip()) + "\n"
