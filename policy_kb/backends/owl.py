"""The OWL back-end: eligibility as OWL 2 classes, classified by the HermiT reasoner (owlready2).

A :class:`Visitor` like every back-end: each condition node becomes a *pair* of class
expressions over functional data properties — the enterprises for which it holds, and those for
which it fails, both written positively (``employees some int[> 500]``, ``hnte_valid value
false``; a union for a failing ``all``, an intersection for a failing ``any``). Every category and
benefit gets ``Eligible_…`` / ``Ineligible_…`` classes, and so does the tech-SME evaluation. The
reasoner works in an open world, so an enterprise whose facts are missing falls in neither —
exactly *undetermined*. No ``Not(…)`` and no closed world are used.

An unknown number bounded by a known one (``tech_staff ≤ employees``, so ``employees ≥
tech_staff``) is asserted as that range, as the fast engine bounds it. (Asserting every unknown's
static domain as well made HermiT, through owlready2, miss inferences in batches of 25.)

Arithmetic the reasoner cannot do — a derived fact, the evaluation's points — is a *computed*
property: its range is computed per enterprise by the per-profile plan before reasoning and
asserted (a value, or ``some decimal[≥ lo, ≤ hi]`` when facts are unknown), so the reasoner reads
the same ranges the fast engine does and decides the comparison itself.

The same compilation serves three purposes: the reference engine (``engine="owl"``), the policy
linter (unsatisfiable classes, eligible/ineligible overlaps, declared implications, the
subsumptions the reasoner finds) and the TBox written to ``ontology/``. HermiT is used (owlready2's
Pellet does not run on Java 17); reasoning is done in batches of 25 enterprises, since HermiT's
cost grows faster than linearly with the individuals (25 in 1.8 s, 100 in 12 s, 300 in 125 s).
"""

from __future__ import annotations

import io
import math
import os
import shutil
import types
from collections.abc import Iterable, Mapping, Sequence
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
    Nothing,
    Or,
    OwlReadyInconsistentOntologyError,
    Thing,
    World,
    locstr,
)

from ..errors import EnvironmentProblem, Location, NotExpressibleError, OntologyError
from ..policy.model import PRECHECK, Benefit, FactType, ParameterValue, Status
from ..policy.profile import Profile
from ..rules.tree import (
    AllOf,
    AnyOf,
    Best,
    CategoryRef,
    Comparison,
    Condition,
    Expr,
    FactRef,
    Flag,
    Node,
    NotOf,
    Total,
)
from ..rules.walk import Visitor, constant_value, facts_in, leaves, walk
from ..text import Msg, Text, Words
from ..text import label as label_of
from .trace import Plan, Record

OWL_NAMESPACE = "https://w3id.org/policy-kb/eligibility#"
#: measured: HermiT is fastest per profile at about 25 enterprises per call (benchmarks/bench_owl.py)
BATCH = 25
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


def find_java() -> str | None:
    """The java executable owlready2 will run: ``$JAVA_HOME/bin/java`` or ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("java")


def require_java() -> str:
    """The java executable, or :class:`EnvironmentProblem` with the install hint."""
    java = find_java()
    if java is None:
        raise EnvironmentProblem(Msg("owl.no_java"))
    return java


def owl_name(kind: str, ident: str) -> str:
    """``Eligible_KM7.rd_growth_reward``, ``Category_sme_size``, …"""
    return f"{kind}_{ident}"


def _computed_name(expr: Expr) -> str | None:
    """The data property standing for an expression the reasoner cannot compute."""
    if isinstance(expr, FactRef):
        return expr.name
    if isinstance(expr, Best):
        return f"points_{expr.id}"
    if isinstance(expr, Total):
        return f"points_{expr.name}"
    return None


@dataclass
class CompiledOntology:
    """One OWL world holding the eligibility TBox for one year (and, later, individuals)."""

    world: Any
    onto: Any
    enterprise: Any
    properties: dict[str, Any]
    python_types: dict[str, type]
    computed: dict[str, Expr] = field(
        default_factory=dict
    )  # property → the expression it stands for
    eligible: dict[str, Any] = field(default_factory=dict)
    ineligible: dict[str, Any] = field(default_factory=dict)
    category: dict[str, Any] = field(default_factory=dict)
    not_category: dict[str, Any] = field(default_factory=dict)
    has_fact: dict[str, Any] = field(default_factory=dict)
    probes: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _new_class(name: str, bases: tuple[Any, ...]) -> Any:
    """A new OWL class (or property) in the ontology of the enclosing ``with onto:`` block."""
    return types.new_class(name, bases)


class _Classes(Visitor[tuple[Any, Any]]):
    """Each condition → (class of the enterprises for which it holds, class for which it fails)."""

    def __init__(self, plan: Plan, compiled: CompiledOntology, params: Mapping[str, Any]) -> None:
        super().__init__()
        self.plan = plan
        self.compiled = compiled
        self.params = params

    def all_of(self, node: AllOf) -> tuple[Any, Any]:
        parts = [self.visit(p) for p in node.parts]
        return _and([p[0] for p in parts]), _or([p[1] for p in parts])

    def any_of(self, node: AnyOf) -> tuple[Any, Any]:
        parts = [self.visit(p) for p in node.parts]
        return _or([p[0] for p in parts]), _and([p[1] for p in parts])

    def not_of(self, node: NotOf) -> tuple[Any, Any]:
        holds, fails = self.visit(node.part)
        return fails, holds

    def category_ref(self, node: CategoryRef) -> tuple[Any, Any]:
        return self.compiled.category[node.category], self.compiled.not_category[node.category]

    def flag(self, node: Flag) -> tuple[Any, Any]:
        prop = self._property(node.fact, FactRef(node.fact), node)
        return prop.value(node.expected), prop.value(not node.expected)

    def comparison(self, node: Comparison) -> tuple[Any, Any]:
        left, op, right = node.left, node.op, node.right
        if facts_in(right) and not facts_in(left):
            left, right, op = right, left, _FLIP.get(op, op)
        name = _computed_name(left)
        if facts_in(right) and facts_in(left):
            raise NotExpressibleError(node.location, node.text, Msg("owl.why.two_facts"))
        if name is None:
            raise NotExpressibleError(node.location, node.text, Msg("owl.why.one_side"))
        value = constant_value(right, self.params)
        if value is None:
            raise NotExpressibleError(node.location, node.text, Msg("owl.why.no_parameter"))
        prop = self._property(name, left, node)
        return self._restrict(node, prop, name, op, value), self._restrict(
            node, prop, name, _OPPOSITE[op], value
        )

    def _property(self, name: str, expr: Expr, node: Condition) -> Any:
        compiled = self.compiled
        found = compiled.properties.get(name)
        if found is not None:
            return found
        model = self.plan.model
        definition = model.facts.get(name) or model.derived.get(name)
        with compiled.onto:
            prop = _new_class(name, (DataProperty, FunctionalProperty))
            prop.domain = [compiled.enterprise]
            ptype = _PY_TYPES[definition.type] if definition is not None else int
            prop.range = [ptype]
            label = (
                definition.label
                if definition is not None
                else expr.label
                if isinstance(expr, Best)
                else label_of("label.score_total")
            )
            prop.label = [locstr(label.zh, "zh"), locstr(label.en, "en")]
        compiled.properties[name] = prop
        compiled.python_types[name] = ptype
        if name not in model.facts:
            compiled.computed[name] = expr
        return prop

    def _restrict(self, node: Comparison, prop: Any, name: str, op: str, value: Any) -> Any:
        ptype = self.compiled.python_types[name]
        if ptype is bool:
            if op not in ("==", "!="):
                raise NotExpressibleError(node.location, node.text, Msg("owl.why.yes_no"))
            return prop.value(bool(value) if op == "==" else not bool(value))
        if ptype is str:
            return self._text(node, prop, name, op, value)
        if op in ("in", "not in"):
            raise NotExpressibleError(node.location, node.text, Msg("owl.why.in"))
        if op == "==":
            return prop.some(_range(ptype, ">=", value)) & prop.some(_range(ptype, "<=", value))
        if op == "!=":
            return prop.some(_range(ptype, "<", value)) | prop.some(_range(ptype, ">", value))
        return prop.some(_range(ptype, op, value))

    def _text(self, node: Comparison, prop: Any, fact: str, op: str, value: Any) -> Any:
        wanted = set(value) if isinstance(value, tuple) else {value}
        if op in ("==", "in"):
            return _or([prop.value(v) for v in sorted(wanted)])
        model = self.plan.model
        definition = model.facts.get(fact)
        if definition is None or definition.type is not FactType.TOWN or model.targets is None:
            raise NotExpressibleError(node.location, node.text, Msg("owl.why.complement"))
        return _or([prop.value(v) for v in sorted({t.name for t in model.targets.towns} - wanted)])


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


def _parameter_values(plan: Plan, year: int) -> dict[str, Any]:
    return {
        name: pv.value
        for name, p in plan.model.parameters.items()
        if (pv := p.value_for_year(year)) and pv.value is not None
    }


def compile_ontology(plan: Plan, year: int, *, probes: bool = False) -> CompiledOntology:
    """Build the eligibility TBox with the parameter values in force in ``year``.

    Raises :class:`NotExpressibleError` for a condition OWL cannot express.
    """
    model = plan.model
    world = World()
    onto = world.get_ontology(OWL_NAMESPACE)
    with onto:
        enterprise = _new_class("Enterprise", (Thing,))
        words = label_of("label.enterprise")
        enterprise.label = [locstr(words.zh, "zh"), locstr(words.en, "en")]
    compiled = CompiledOntology(world, onto, enterprise, {}, {})
    classes = _Classes(plan, compiled, _parameter_values(plan, year))
    with onto:
        for name in model.categories:
            compiled.category[name] = _new_class(owl_name("Category", name), (enterprise,))
            compiled.not_category[name] = _new_class(owl_name("NotCategory", name), (enterprise,))
        for name, category in model.categories.items():
            holds, fails = classes.visit(category.condition)
            compiled.category[name].equivalent_to = [enterprise & holds]
            compiled.not_category[name].equivalent_to = [enterprise & fails]
        rules: list[tuple[str, Condition, Text]] = [
            (b.id, b.condition, b.title) for b in model.benefits.values()
        ]
        if model.evaluation is not None:
            rules.append((PRECHECK, model.evaluation.rule, model.evaluation.label))
        for ident, condition, title in rules:
            holds, fails = classes.visit(condition)
            eligible = _new_class(owl_name("Eligible", ident), (enterprise,))
            ineligible = _new_class(owl_name("Ineligible", ident), (enterprise,))
            eligible.equivalent_to = [enterprise & holds]
            ineligible.equivalent_to = [enterprise & fails]
            eligible.label = [locstr(title.zh, "zh"), locstr(title.en, "en")]
            compiled.eligible[ident], compiled.ineligible[ident] = eligible, ineligible
        for fact, ptype in compiled.python_types.items():
            if ptype is bool:
                cls = _new_class(owl_name("Has", fact), (enterprise,))
                cls.equivalent_to = [enterprise & compiled.properties[fact].value(True)]
                compiled.has_fact[fact] = cls
        if probes:
            _add_probes(plan, compiled, classes)
    return compiled


def _add_probes(plan: Plan, compiled: CompiledOntology, classes: _Classes) -> None:
    """Classes that must be unsatisfiable when the policy is sound (an estimate's cases:
    see :func:`_case_probes`)."""
    enterprise = compiled.enterprise
    for benefit in plan.model.benefits.values():
        if benefit.estimate is not None and any(c.when for c in benefit.estimate.cases):
            _case_probes(benefit, compiled, classes)
        probe = _new_class(owl_name("Overlap", benefit.id), (enterprise,))
        probe.equivalent_to = [
            And([compiled.eligible[benefit.id], compiled.ineligible[benefit.id]])
        ]
        compiled.probes[probe.name] = ("overlap", benefit.id)
        for other in benefit.implies:
            probe = _new_class(owl_name("Breach", f"{benefit.id}--{other}"), (enterprise,))
            probe.equivalent_to = [And([compiled.eligible[benefit.id], compiled.ineligible[other]])]
            compiled.probes[probe.name] = ("implies", benefit.id, other)
    for category in plan.model.categories:
        probe = _new_class(owl_name("Overlap", category), (enterprise,))
        probe.equivalent_to = [And([compiled.category[category], compiled.not_category[category]])]
        compiled.probes[probe.name] = ("overlap-category", category)


def _case_probes(benefit: Benefit, compiled: CompiledOntology, classes: _Classes) -> None:
    """An estimate's cases are tried in order and the first whose ``when`` holds gives the
    amount. Case k is used by the enterprises that get the benefit, meet its ``when`` and fail
    every earlier one: a probe that must be satisfiable (else the case is dead text). The
    enterprises that get the benefit and fail every ``when`` get no amount: a probe that should
    be unsatisfiable."""
    assert benefit.estimate is not None
    enterprise, eligible = compiled.enterprise, compiled.eligible[benefit.id]
    earlier: list[Any] = []  # an earlier case's ``when`` fails
    for k, case in enumerate(benefit.estimate.cases, start=1):
        holds, fails = (enterprise, Nothing) if case.when is None else classes.visit(case.when)
        probe = _new_class(owl_name("Case", f"{benefit.id}--{k}"), (enterprise,))
        probe.equivalent_to = [_and([eligible, holds, *earlier])]
        compiled.probes[probe.name] = ("case", benefit.id, str(k))
        earlier.append(fails)
    if benefit.estimate.cases[-1].when is not None:
        probe = _new_class(owl_name("CaseGap", benefit.id), (enterprise,))
        probe.equivalent_to = [_and([eligible, *earlier])]
        compiled.probes[probe.name] = ("case-gap", benefit.id)


# ── reasoning ────────────────────────────────────────────────────────────────────────────────


def _reason(world: Any) -> None:
    owlready2.JAVA_EXE = require_java()  # owlready2 reads its Java path from this module setting
    sink = io.StringIO()
    try:
        with redirect_stdout(sink), redirect_stderr(sink):
            owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
    except OwlReadyInconsistentOntologyError:
        raise
    except owlready2.OwlReadyJavaError as exc:
        raise OntologyError(Msg("owl.failed", detail=str(exc))) from None


def _assert(compiled: CompiledOntology, ind: Any, name: str, span: Any) -> None:
    """A fact's value, or the range of a computed one, on an individual."""
    prop, ptype = compiled.properties[name], compiled.python_types[name]
    lo, hi = span
    if lo == hi:
        prop[ind] = [ptype(lo)]
        return
    facets = {}
    if lo != -math.inf:
        facets["min_inclusive"] = ptype(lo) if ptype is float else math.ceil(lo)
    if hi != math.inf:
        facets["max_inclusive"] = ptype(hi) if ptype is float else math.floor(hi)
    if facets:
        ind.is_a.append(prop.some(ConstrainedDatatype(ptype, **facets)))


def _bounded_by_facts(plan: Plan) -> dict[str, tuple[Any, Any]]:
    """Facts whose domain another fact bounds (``tech_staff ≤ employees``, so ``employees ≥
    tech_staff``), with the domain they have when that fact is unknown too."""
    facts = plan.model.facts
    found = {}
    for fact in facts.values():
        if isinstance(fact.maximum, str):
            for name in (fact.id, fact.maximum):
                low = facts[name].minimum
                found[name] = (-math.inf if low is None else low, math.inf)
    return {name: span for name, span in found.items() if name in plan.facts}


def classify(
    plan: Plan,
    profiles: Sequence[Profile],
    year: int,
    parameters: Mapping[str, ParameterValue],
    *,
    batch: int = BATCH,
) -> list[dict[str, Status]]:
    """The status of every benefit (and of ``tech_sme_precheck``) for each profile, by HermiT alone.

    Profiles are reasoned over in batches of ``batch`` (one reasoner call per batch). A class
    membership HermiT reports is entailed, but through owlready2 a batch now and then comes back
    with a membership missing (about one batch in fifty, never the same one twice; the profile
    alone is always classified). So the profiles a batch leaves partly undetermined are reasoned
    over once more in a fresh world, and what either run entailed counts.
    """
    bounded = _bounded_by_facts(plan)
    results = [
        _classify_batch(plan, profiles[s : s + batch], year, parameters, bounded)
        for s in range(0, len(profiles), batch)
    ]
    flat = [r for chunk in results for r in chunk]
    again = [i for i, r in enumerate(flat) if Status.UNDETERMINED in r.values()]
    for s in range(0, len(again), batch):
        picked = again[s : s + batch]
        second = _classify_batch(plan, [profiles[i] for i in picked], year, parameters, bounded)
        for i, decided in zip(picked, second, strict=True):
            flat[i] = {
                b: status if status is not Status.UNDETERMINED else decided[b]
                for b, status in flat[i].items()
            }
    return flat


def _classify_batch(
    plan: Plan,
    chunk: Sequence[Profile],
    year: int,
    parameters: Mapping[str, ParameterValue],
    bounded: Mapping[str, tuple[Any, Any]],
) -> list[dict[str, Status]]:
    """One reasoner call over ``chunk``, in a world of its own."""
    compiled = compile_ontology(plan, year)
    individuals = []
    with compiled.onto:
        for i, profile in enumerate(chunk):
            ind = compiled.enterprise(f"enterprise_{i}")
            for fact, value in profile.values.items():
                if fact in compiled.properties and fact not in compiled.computed:
                    compiled.properties[fact][ind] = [compiled.python_types[fact](value)]
            record = Record(plan, plan.run(profile.values, parameters), profile.values)
            for name, expr in compiled.computed.items():
                _assert(compiled, ind, name, record.of(expr))
            for fact in bounded:  # an unknown number bounded by a known one
                if fact in compiled.properties and profile.values.get(fact) is None:
                    span = record.interval(fact)
                    if span != bounded[fact]:
                        _assert(compiled, ind, fact, span)
            individuals.append(ind)
    _reason(compiled.world)
    eligible = {b: set(cls.instances()) for b, cls in compiled.eligible.items()}
    ineligible = {b: set(cls.instances()) for b, cls in compiled.ineligible.items()}
    results = [
        {
            b: Status.APPLIES
            if ind in eligible[b]
            else Status.DOES_NOT_APPLY
            if ind in ineligible[b]
            else Status.UNDETERMINED
            for b in compiled.eligible
        }
        for ind in individuals
    ]
    compiled.world.close()
    return results


# ── the linter ───────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the reasoner found about the policy."""

    severity: str  # "error" or "warning"
    location: Location
    message: Msg
    expected: Msg | None = None

    def render(self, lang: str = "zh") -> str:
        text = f"{self.location}: " + Msg(
            "lint.finding", severity=Msg("lint." + self.severity), message=self.message
        ).render(lang)
        return (
            text + Msg("problem.expected", hint=self.expected).render(lang)
            if self.expected
            else text
        )

    def __str__(self) -> str:
        return self.render()


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


def _leaf_texts(cond: Condition) -> Words:
    return Words(
        [Msg("lint.leaf", text=c.text, line=c.location.line) for c in leaves(cond)], "semi"
    )


def lint(plan: Plan, year: int | None = None) -> LintReport:
    """Run HermiT over the whole knowledge model and report what is wrong or implied."""
    model = plan.model
    year = model.document.year if year is None else year
    try:
        compiled = compile_ontology(plan, year, probes=True)
    except NotExpressibleError as exc:
        finding = Finding("error", exc.location, exc.message, Msg("lint.hint.expressible"))
        return LintReport(year, (finding,), (), {})
    try:
        _reason(compiled.world)
    except OwlReadyInconsistentOntologyError:
        finding = Finding("error", model.document.location, Msg("lint.inconsistent"))
        return LintReport(year, (finding,), (), {})
    unsatisfiable = set(compiled.world.inconsistent_classes())
    findings = [
        *_impossible(plan, compiled, unsatisfiable),
        *_overlaps(plan, compiled, unsatisfiable),
        *_cases(plan, compiled, unsatisfiable),
        *_negative_estimates(plan, year),
    ]
    implications = tuple(_implications(plan, compiled, unsatisfiable))
    compiled.world.close()
    checked = {
        "benefits": len(model.benefits),
        "categories": len(model.categories),
        "declared_implications": sum(len(b.implies) for b in model.benefits.values()),
    }
    findings.sort(key=lambda f: (f.location.line, f.location.column))
    return LintReport(year, tuple(findings), implications, checked)


def _negative_estimates(plan: Plan, year: int) -> Iterable[Finding]:
    """No estimate may be negative on any profile: each formula's least value over the facts'
    declared ranges (:mod:`policy_kb.rules.signs`)."""
    from ..rules.signs import fact_ranges, least_value

    model = plan.model
    params = _parameter_values(plan, year)
    ranges = fact_ranges(
        {f.id: f.minimum for f in model.facts.values()},
        {f.id: f.maximum for f in model.facts.values()},
    )
    derived = {d.id: d.formula for d in model.derived.values()}
    for benefit in model.benefits.values():
        for case in benefit.estimate.cases if benefit.estimate else ():
            found = least_value(case.formula, params, ranges, derived)
            if found is None or found.least >= 0:
                continue
            at = Words([f"{fact} = {value:,}" for fact, value in found.at.items()])
            yield Finding(
                "error",
                case.location,
                Msg(
                    "lint.negative",
                    id=benefit.id,
                    formula=case.formula_text,
                    value=f"{found.least:,.2f}",
                    at=at,
                ),
                Msg("lint.hint.negative"),
            )


def _impossible(
    plan: Plan, compiled: CompiledOntology, unsatisfiable: set[Any]
) -> Iterable[Finding]:
    hint = Msg("lint.hint.satisfiable")
    for benefit in plan.model.benefits.values():
        if compiled.eligible[benefit.id] in unsatisfiable:
            yield Finding(
                "error",
                benefit.condition.location,
                Msg("lint.never", id=benefit.id, leaves=_leaf_texts(benefit.condition)),
                hint,
            )
        elif compiled.ineligible[benefit.id] in unsatisfiable:
            yield Finding("warning", benefit.condition.location, Msg("lint.always", id=benefit.id))
    for category in plan.model.categories.values():
        if compiled.category[category.id] in unsatisfiable:
            yield Finding(
                "error",
                category.condition.location,
                Msg("lint.never_category", id=category.id, leaves=_leaf_texts(category.condition)),
                hint,
            )


def _cases(plan: Plan, compiled: CompiledOntology, unsatisfiable: set[Any]) -> Iterable[Finding]:
    """An estimate's case no enterprise can reach, and the enterprises no case covers (see
    :func:`_case_probes`); nothing is said of a benefit no enterprise can get (:func:`_impossible`
    says so)."""
    model = plan.model
    for name, probe in compiled.probes.items():
        if probe[0] not in ("case", "case-gap"):
            continue
        benefit = model.benefits[probe[1]]
        assert benefit.estimate is not None
        if compiled.eligible[benefit.id] in unsatisfiable:
            continue
        empty = compiled.onto[name] in unsatisfiable
        if probe[0] == "case" and empty:
            n = int(probe[2])
            yield Finding(
                "error",
                benefit.estimate.cases[n - 1].location,
                Msg("lint.case_never", id=benefit.id, n=n),
                Msg("lint.hint.case_never"),
            )
        elif probe[0] == "case-gap" and not empty:
            yield Finding(
                "warning",
                benefit.estimate.location,
                Msg("lint.case_gap", id=benefit.id),
                Msg("lint.hint.case_gap"),
            )


def _overlaps(plan: Plan, compiled: CompiledOntology, unsatisfiable: set[Any]) -> Iterable[Finding]:
    model = plan.model
    for name, probe in compiled.probes.items():
        if probe[0] in ("case", "case-gap") or compiled.onto[name] in unsatisfiable:
            continue
        if probe[0] == "overlap":
            yield Finding(
                "error",
                model.benefits[probe[1]].location,
                Msg("lint.overlap", id=probe[1]),
                Msg("lint.hint.exclusive"),
            )
        elif probe[0] == "overlap-category":
            yield Finding(
                "error",
                model.categories[probe[1]].location,
                Msg("lint.overlap_category", id=probe[1]),
            )
        else:
            hint = Msg("lint.hint.implies", id=probe[1], other=probe[2])
            yield Finding(
                "error",
                model.benefits[probe[1]].location,
                Msg("lint.breach", id=probe[1], other=probe[2]),
                hint,
            )


def _implications(
    plan: Plan, compiled: CompiledOntology, unsatisfiable: set[Any]
) -> Iterable[Implication]:
    by_class: dict[Any, tuple[str, str]] = {}
    for name, cls in compiled.category.items():
        by_class[cls] = ("category", name)
    for name, cls in compiled.has_fact.items():
        by_class[cls] = ("fact", name)
    for name, cls in compiled.eligible.items():
        if name in plan.model.benefits:
            by_class[cls] = ("benefit", name)
    for benefit in plan.model.benefits.values():
        cls = compiled.eligible[benefit.id]
        if cls in unsatisfiable:
            continue
        found: dict[str, list[str]] = {"category": [], "fact": [], "benefit": []}
        for other in set(cls.ancestors()) | set(cls.equivalent_to):
            kind = by_class.get(other)
            if kind is not None and not (kind[0] == "benefit" and kind[1] == benefit.id):
                found[kind[0]].append(kind[1])
        yield Implication(
            benefit.id,
            benefit.location,
            tuple(sorted(found["category"])),
            tuple(sorted(found["fact"])),
            tuple(sorted(found["benefit"])),
        )


def tbox_ntriples(plan: Plan, year: int | None = None) -> str:
    """The eligibility TBox as N-Triples (what ontology/…-eligibility.nt holds)."""
    compiled = compile_ontology(plan, plan.model.document.year if year is None else year)
    buffer = io.BytesIO()
    compiled.onto.save(buffer, format="ntriples")
    compiled.world.close()
    lines = sorted(set(buffer.getvalue().decode("utf-8").splitlines()))
    return "\n".join(line for line in lines if line.strip()) + "\n"


_ = (Node, walk)
