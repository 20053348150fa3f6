"""The per-profile back-end: the rule tree compiled once into a plan, run for one enterprise.

At load, every node of the policy's trees gets a slot and a small step (a closure) that computes
the node's value from its children's slots: an interval for an expression, a three-valued truth
for a condition. Running the plan for a profile is one pass over the steps; the filled slots are
the :class:`Record` — everything the explanation needs, read back by node. Estimates run only for
benefits that are not refused, in exact decimals.

Because each step knows the facts it depends on, the plan can also answer "what if this fact were
that value" by re-running only the steps that depend on it (:meth:`Plan.what_if`): the would-apply-
once-registered benefits and the pre-check's smallest change use it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from operator import itemgetter
from typing import Any

from ..policy.model import FactType, ParameterValue, PolicyModel
from ..rules import interval as iv
from ..rules.tree import (
    AllOf,
    AnyOf,
    Arith,
    Best,
    CategoryRef,
    Comparison,
    Condition,
    Const,
    Estimate,
    Expr,
    FactRef,
    Flag,
    Func,
    Negate,
    Node,
    NotOf,
    ParamRef,
    Score,
    Total,
)
from ..rules.walk import Visitor, exact_number, facts_in, walk

Step = Callable[[list[Any]], None]
_ARITH = {"+": iv.add, "-": iv.sub, "*": iv.mul}
_DINF = Decimal("Infinity")
_AS_GIVEN = frozenset({FactType.BOOL, FactType.TEXT, FactType.TOWN})  # not ranges


def _dec(x: Any) -> Decimal:
    if isinstance(x, float) and x in (iv.INF, -iv.INF):
        return _DINF if x > 0 else -_DINF
    return exact_number(x)


def _text_compare(op: str, a: Any, b: Any) -> bool | None:
    if a is None or b is None:  # a text not given, on either side
        return None
    if op == "==":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if op == "in":
        return a in b
    return a not in b


class _Emitter(Visitor[int]):
    """Compiles nodes into steps appended to ``steps``; returns each node's slot."""

    def __init__(
        self, plan: Plan, steps: list[tuple[Step, frozenset[str]]], decimal: bool = False
    ) -> None:
        super().__init__()
        self.plan = plan
        self.steps = steps
        self.decimal = decimal

    def _emit(self, deps: frozenset[str], make: Callable[[int], Step]) -> int:
        slot = self.plan._new_slot()
        self.steps.append((make(slot), deps))
        self.plan.deps[slot] = deps
        return slot

    def _deps(self, *slots: int) -> frozenset[str]:
        out: frozenset[str] = frozenset()
        for s in slots:
            out |= self.plan.deps.get(s, frozenset())
        return out

    # expressions

    def fact_ref(self, node: FactRef) -> int:
        derived = self.plan.model.derived.get(node.name)
        if derived is not None:
            slot = self.visit(derived.formula)
            self.plan.derived_slots.setdefault(node.name, slot)
            return slot
        src = self.plan.fact_slot(node.name)
        if not self.decimal:
            return src

        def make(i: int) -> Step:
            def step(v: list[Any], i: int = i, s: int = src) -> None:
                lo, hi = v[s]
                if lo == hi:  # a known fact: one conversion
                    d = Decimal(lo) if type(lo) is int else _dec(lo)
                    v[i] = (d, d)
                else:
                    v[i] = (_dec(lo), _dec(hi))

            return step

        return self._emit(self._deps(src), make)

    def param_ref(self, node: ParamRef) -> int:
        return self.plan.param_slot(node.name, node.percent, self.decimal)

    def const(self, node: Const) -> int:
        value = node.literal
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = _dec(value) if self.decimal else value
            return self.plan.const_slot((value, value))
        return self.plan.const_slot(value)

    def arith(self, node: Arith) -> int:
        a, b, f = self.visit(node.left), self.visit(node.right), _ARITH[node.op]
        return self._emit(self._deps(a, b), lambda i: _step2(i, f, a, b))

    def negate(self, node: Negate) -> int:
        a = self.visit(node.operand)
        return self._emit(self._deps(a), lambda i: _step1(i, iv.neg, a))

    def func(self, node: Func) -> int:
        parts = tuple(self.visit(x) for x in node.args)
        f = iv.largest if node.name == "max" else iv.smallest
        return self._emit(self._deps(*parts), lambda i: _stepn(i, f, parts))

    def score(self, node: Score) -> int:
        table = self.plan.param_slot(node.table, False, False)
        n = self.visit(node.numerator)
        if node.denominator is None:
            return self._emit(self._deps(n), lambda i: _step2(i, iv.count_points, table, n))
        d = self.visit(node.denominator)
        return self._emit(self._deps(n, d), lambda i: _step3(i, iv.ratio_points, table, n, d))

    def best(self, node: Best) -> int:
        parts = tuple(self.visit(p) for p in node.parts)
        return self._emit(self._deps(*parts), lambda i: _stepn(i, iv.largest, parts))

    def total(self, node: Total) -> int:
        parts = tuple(self.visit(p) for p in node.parts)
        return self._emit(self._deps(*parts), lambda i: _stepn(i, iv.total, parts))

    # conditions

    def comparison(self, node: Comparison) -> int:
        a, b = self.visit(node.left), self.visit(node.right)
        if node.kind == "text":
            op = node.op
            return self._emit(
                self._deps(a, b), lambda i: _step2(i, lambda x, y: _text_compare(op, x, y), a, b)
            )
        return self._emit(self._deps(a, b), lambda i: _step2(i, iv.COMPARE[node.op], a, b))

    def flag(self, node: Flag) -> int:
        src, expected = self.plan.fact_slot(node.fact), node.expected

        def make(i: int) -> Step:
            def step(v: list[Any], i: int = i, s: int = src, e: bool = expected) -> None:
                x = v[s]
                v[i] = None if x is None else x is e

            return step

        return self._emit(self._deps(src), make)

    def category_ref(self, node: CategoryRef) -> int:
        return self.visit(self.plan.model.categories[node.category].condition)

    def all_of(self, node: AllOf) -> int:
        parts = tuple(self.visit(p) for p in node.parts)
        if len(parts) == 1:  # a group of one condition is that condition: the same slot
            return parts[0]
        return self._emit(self._deps(*parts), lambda i: _stepn(i, iv.all_of, parts))

    def any_of(self, node: AnyOf) -> int:
        parts = tuple(self.visit(p) for p in node.parts)
        if len(parts) == 1:
            return parts[0]
        return self._emit(self._deps(*parts), lambda i: _stepn(i, iv.any_of, parts))

    def not_of(self, node: NotOf) -> int:
        a = self.visit(node.part)
        return self._emit(self._deps(a), lambda i: _step1(i, _not, a))


def _not(x: bool | None) -> bool | None:
    return None if x is None else not x


def _step1(i: int, f: Callable[[Any], Any], a: int) -> Step:
    def step(v: list[Any], i: int = i, f: Callable[[Any], Any] = f, a: int = a) -> None:
        v[i] = f(v[a])

    return step


def _step2(i: int, f: Callable[[Any, Any], Any], a: int, b: int) -> Step:
    def step(
        v: list[Any], i: int = i, f: Callable[[Any, Any], Any] = f, a: int = a, b: int = b
    ) -> None:
        v[i] = f(v[a], v[b])

    return step


def _step3(i: int, f: Callable[[Any, Any, Any], Any], a: int, b: int, c: int) -> Step:
    def step(
        v: list[Any],
        i: int = i,
        f: Callable[[Any, Any, Any], Any] = f,
        a: int = a,
        b: int = b,
        c: int = c,
    ) -> None:
        v[i] = f(v[a], v[b], v[c])

    return step


def _stepn(i: int, f: Callable[[Any], Any], parts: tuple[int, ...]) -> Step:
    if len(parts) == 1:
        return _step1(i, lambda x: f((x,)), parts[0])
    get = itemgetter(*parts)  # the parts' values as a tuple, gathered in C

    def step(v: list[Any], i: int = i, f: Callable[[Any], Any] = f, get: Any = get) -> None:
        v[i] = f(get(v))

    return step


class EstimatePlan:
    """The steps of one benefit's amount: each case's ``when`` (if any) and its exact formula."""

    def __init__(self, plan: Plan, estimate: Estimate) -> None:
        self.estimate = estimate
        self.steps: list[tuple[Step, frozenset[str]]] = []
        self.cases: list[tuple[int | None, int]] = []
        # what each case's amount reads, as written: its facts and its parameter references
        self.reads: list[tuple[tuple[str, ...], tuple[ParamRef, ...]]] = [
            (
                tuple(facts_in(c.formula)),
                tuple(n for n in walk(c.formula) if isinstance(n, ParamRef)),
            )
            for c in estimate.cases
        ]
        for case in estimate.cases:
            conditions, exact = _Emitter(plan, self.steps), _Emitter(plan, self.steps, decimal=True)
            when = conditions.visit(case.when) if case.when is not None else None
            formula = exact.visit(case.formula)
            self.cases.append((when, formula))
            for emitter in (conditions, exact):  # readable by node once the amount has been run
                for key, (node, slot) in emitter._memo.items():
                    plan.slots.setdefault(key, slot)
                    plan.nodes.setdefault(key, node)


class Plan:
    """Every rule of one policy, compiled: slots, steps, and how to fill the inputs."""

    def __init__(self, model: PolicyModel, extra: tuple[Node, ...] = ()) -> None:
        self.model = model
        self.size = 0
        self.template: list[Any] = []
        self.deps: dict[int, frozenset[str]] = {}
        self.facts: dict[str, int] = {}
        self.fact_order: list[tuple[int, str, FactType, Any, Any, tuple[str, ...]]] = []
        self.params: dict[tuple[str, bool, bool], int] = {}
        self.derived_slots: dict[str, int] = {}
        self.steps: list[tuple[Step, frozenset[str]]] = []
        self._dependents: dict[str, list[Step]] = {}
        # what views build from the rule tree alone (a record's headings, a condition's source),
        # kept here so that they are built once per plan: keyed by whoever stores them
        self.static: dict[Any, Any] = {}
        self._bases: dict[int, tuple[Mapping[str, ParameterValue], list[Any], dict[Any, Any]]] = {}
        emit = _Emitter(self, self.steps)
        self.benefits = {b.id: emit.visit(b.condition) for b in model.benefits.values()}
        self.qualifies = emit.visit(model.evaluation.rule) if model.evaluation is not None else None
        for name in model.derived:
            self.derived_slots[name] = emit.visit(FactRef(name))
        for node in extra:
            emit.visit(node)
        self.slots: dict[int, int] = {k: s for k, (_, s) in emit._memo.items()}
        self.nodes: dict[int, Node] = {k: n for k, (n, _) in emit._memo.items()}
        self.estimates = {
            b.id: EstimatePlan(self, b.estimate)
            for b in model.benefits.values()
            if b.estimate is not None
        }
        self.run_steps = [s for s, _ in self.steps]
        method = model.evaluation
        self.indicator_slots: tuple[int, ...] = (
            tuple(self.slots[id(i)] for i in method.indicators) if method is not None else ()
        )

    # slots

    def keep(self, key: Any, build: Callable[..., Any], *args: Any) -> Any:
        """What ``build(*args)`` gives, built the first time ``key`` is asked for and kept in
        :attr:`static` from then on (for what depends on the policy alone)."""
        found = self.static.get(key)
        if found is None:
            found = self.static[key] = build(*args)
        return found

    def _new_slot(self, value: Any = None) -> int:
        self.template.append(value)
        self.size += 1
        return self.size - 1

    def fact_slot(self, name: str) -> int:
        found = self.facts.get(name)
        if found is None:
            fact = self.model.facts[name]
            if isinstance(fact.maximum, str):
                self.fact_slot(fact.maximum)  # a bound by another fact is filled after it
            found = self._new_slot()
            self.facts[name] = found
            # the facts whose known value bounds this one from below (tech_staff ≤ employees)
            floors = tuple(f.id for f in self.model.facts.values() if f.maximum == name)
            ceiling = (fact.maximum,) if isinstance(fact.maximum, str) else ()
            self.deps[found] = frozenset((name, *floors, *ceiling))
            lo = fact.minimum if fact.minimum is not None else -iv.INF
            self.fact_order.append((found, name, fact.type, lo, fact.maximum, floors))
        return found

    def param_slot(self, name: str, percent: bool, decimal: bool) -> int:
        key = (name, percent, decimal)
        found = self.params.get(key)
        if found is None:
            found = self.params[key] = self._new_slot()
        return found

    def const_slot(self, value: Any) -> int:
        return self._new_slot(value)

    # running

    def run(self, values: Mapping[str, Any], parameters: Mapping[str, ParameterValue]) -> list[Any]:
        """Every slot filled for one validated profile and the parameters of its year."""
        v = self._base(parameters)[1].copy()
        for entry in self.fact_order:
            x = values.get(entry[1])
            if x is None:
                self._fill_fact(v, values, entry)
            elif entry[2] in _AS_GIVEN:
                v[entry[0]] = x
            else:
                v[entry[0]] = (x, x)
        for step in self.run_steps:
            step(v)
        return v

    def _base(
        self, parameters: Mapping[str, ParameterValue]
    ) -> tuple[Mapping[str, ParameterValue], list[Any], dict[Any, Any]]:
        """The template with the parameter slots filled for ``parameters``, and a table of what
        else depends on them alone (kept per table: a knowledge base passes the same table for
        every profile of a year)."""
        found = self._bases.get(id(parameters))
        if found is not None and found[0] is parameters:
            return found
        v = self.template.copy()
        for (name, percent, decimal), slot in self.params.items():
            pv = parameters.get(name)
            if pv is None:
                v[slot] = None
            elif pv.tiers:
                v[slot] = pv.tiers
            else:
                value: Any = _dec(pv.value) if decimal else pv.value
                if percent:
                    value = value / 100
                v[slot] = (value, value)
        if len(self._bases) >= 16:
            self._bases.clear()
        found = self._bases[id(parameters)] = (parameters, v, {})
        return found

    def per_parameters(self, parameters: Mapping[str, ParameterValue]) -> dict[Any, Any]:
        """A table for values worked out from ``parameters`` alone (the same for every profile
        of a year): callers key it by what they store."""
        return self._base(parameters)[2]

    def _fill_fact(
        self,
        v: list[Any],
        values: Mapping[str, Any],
        entry: tuple[int, str, FactType, Any, Any, tuple[str, ...]],
    ) -> None:
        """A fact's slot: its value, or for an unknown number the interval its domain allows."""
        slot, name, kind, lo, hi, floors = entry
        x = values.get(name)
        if kind in (FactType.BOOL, FactType.TEXT, FactType.TOWN):
            v[slot] = x
        elif x is not None:
            v[slot] = (x, x)
        else:
            top = v[self.facts[hi]][1] if isinstance(hi, str) else iv.INF if hi is None else hi
            for floor in floors:
                given = values.get(floor)
                if given is not None and given > lo:
                    lo = given
            v[slot] = (lo, top)

    def run_estimate(self, v: list[Any], benefit: str) -> None:
        for step, _ in self.estimates[benefit].steps:
            step(v)

    def what_if(self, v: list[Any], values: Mapping[str, Any], fact: str, value: Any) -> list[Any]:
        """The record as it would be with ``fact`` set to ``value`` (only dependent steps re-run).

        ``values`` are the profile's given facts: an unknown fact that ``fact`` bounds (or that
        bounds it) gets its interval again from the new value.
        """
        steps = self._dependents.get(fact)
        if steps is None:
            steps = self._dependents[fact] = [s for s, deps in self.steps if fact in deps]
        w = v.copy()
        changed = {**values, fact: value}
        for entry in self.fact_order:
            if entry[1] == fact or fact in self.deps[entry[0]]:
                self._fill_fact(w, changed, entry)
        for step in steps:
            step(w)
        return w

    def slot(self, node: Node) -> int:
        return self.slots[id(node)]


class Record:
    """One profile's run of a plan: every node's value, readable by node."""

    __slots__ = ("plan", "v", "values")

    def __init__(self, plan: Plan, v: list[Any], values: Mapping[str, Any]) -> None:
        self.plan = plan
        self.v = v
        self.values = values

    def of(self, node: Node) -> Any:
        """The value of a node: an interval (expression) or True / False / None (condition)."""
        return self.v[self.plan.slots[id(node)]]

    def interval(self, name: str) -> Any:
        """The range of a fact or derived fact."""
        slot = self.plan.facts.get(name)
        if slot is None:
            slot = self.plan.derived_slots[name]
        return self.v[slot]

    def fact_value(self, name: str) -> Any:
        """A fact's value as given, or a derived fact's value when it is known (else None)."""
        if name in self.values or name not in self.plan.derived_slots:
            return self.values.get(name)
        lo, hi = self.v[self.plan.derived_slots[name]]
        return lo if lo == hi else None

    def trace(self, node: Condition) -> Trace:
        return Trace(node, self)


_UNREAD: Any = object()  # a value of a trace not read yet


class Trace:
    """The record of one condition evaluated for one profile, read off a :class:`Record`.

    ``outcome`` is True / False / None; ``facts`` the facts the condition reads with their values
    (None = unknown); ``threshold`` the value it was compared with; ``parts`` the records of a
    group's parts (a category's own conditions for a category reference).
    """

    __slots__ = ("_facts", "_outcome", "_parts", "_threshold", "node", "record")

    def __init__(self, node: Condition, record: Record) -> None:
        self.node = node
        self.record = record
        self._parts: tuple[Trace, ...] | None = None
        self._facts: dict[str, Any] | None = None
        self._outcome: Any = _UNREAD
        self._threshold: Any = _UNREAD

    @property
    def condition(self) -> Condition:
        return self.node

    @property
    def outcome(self) -> bool | None:
        """True / False / None, read once (a record's conditions are settled when it is made)."""
        found = self._outcome
        if found is _UNREAD:
            value = self.record.v[self.record.plan.slots[id(self.node)]]
            found = self._outcome = (
                value if value is None or value is True or value is False else None
            )
        return found  # type: ignore[no-any-return]

    @property
    def parts(self) -> tuple[Trace, ...]:
        """The records of a group's parts (read once per record)."""
        found = self._parts
        if found is None:
            record = self.record
            found = self._parts = tuple(Trace(c, record) for c in _parts_of(record.plan, self.node))
        return found

    @property
    def facts(self) -> dict[str, Any]:
        found = self._facts
        if found is None:
            node = self.node
            if isinstance(node, Flag):
                found = {node.fact: self.record.values.get(node.fact)}
            elif isinstance(node, Comparison):
                found = {name: self.record.fact_value(name) for name in node.reads}
            else:
                found = {}
            self._facts = found
        return found

    @property
    def threshold(self) -> Any:
        """What a leaf compares its facts with (read once; None for a group or a range)."""
        found = self._threshold
        if found is _UNREAD:
            found = self._threshold = self._read_threshold()
        return found

    def _read_threshold(self) -> Any:
        node = self.node
        if isinstance(node, Flag):
            return node.expected
        if not isinstance(node, Comparison):
            return None
        side = _threshold_side(self.record.plan, node)
        if isinstance(side, Const) and not isinstance(side.literal, (int, float)):
            return side.literal
        value = self.record.of(side)
        if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:
            return value[0]
        return value if not isinstance(value, tuple) else None


def _parts_of(plan: Plan, node: Condition) -> tuple[Condition, ...]:
    """The conditions a group is made of (a category's own, for a category reference); kept by
    the plan, worked out once per node."""
    found: tuple[Condition, ...] = plan.keep(("parts", id(node)), _group_parts, plan, node)
    return found


def _group_parts(plan: Plan, node: Condition) -> tuple[Condition, ...]:
    inner = (
        plan.model.categories[node.category].condition if isinstance(node, CategoryRef) else node
    )
    return tuple(c for c in inner.children() if isinstance(c, Condition))


def _threshold_side(plan: Plan, node: Comparison) -> Expr:
    """The side of a comparison that holds what the facts are compared with (worked out once)."""
    key = ("threshold side", id(node))
    found = plan.static.get(key)
    if found is None:
        found = plan.static[key] = (
            node.left if _reads_facts(node.right) and not _reads_facts(node.left) else node.right
        )
    return found


def _reads_facts(expr: Expr) -> bool:
    return bool(facts_in(expr))


def unknown_facts(node: Node, record: Record) -> list[str]:
    """The unknown facts that keep ``node`` undecided, in written order.

    Only facts that can still change the answer count: a part already settled, an expression whose
    range is a single value, or a candidate of ``max`` that cannot beat the others, names none.
    """
    found: dict[str, None] = {}
    _unknowns(node, record, found)
    return list(found)


def _unknowns(node: Node, record: Record, found: dict[str, None]) -> None:
    if isinstance(node, Condition):
        if tri_of(record, node) is not None:
            return
        if isinstance(node, Flag):
            found.setdefault(node.fact)
            return
        if isinstance(node, CategoryRef):
            node = record.plan.model.categories[node.category].condition
        for child in node.children():
            _unknowns(child, record, found)
        return
    if isinstance(node, (Const, ParamRef)):
        return
    value = record.of(node) if id(node) in record.plan.slots else None
    if isinstance(value, tuple) and value[0] == value[1]:
        return
    if isinstance(node, FactRef):
        formula = record.plan.model.derived.get(node.name)
        if formula is not None:
            _unknowns(formula.formula, record, found)
        elif record.values.get(node.name) is None:
            found.setdefault(node.name)
        return
    children = node.children()
    if isinstance(node, (Best, Func)) and value is not None:
        pick_max = not isinstance(node, Func) or node.name == "max"
        ranges = [record.of(c) for c in children]
        if pick_max:
            floor = max(r[0] for r in ranges)
            children = tuple(c for c, r in zip(children, ranges, strict=True) if r[1] > floor)
        else:
            ceiling = min(r[1] for r in ranges)
            children = tuple(c for c, r in zip(children, ranges, strict=True) if r[0] < ceiling)
    for child in children:
        _unknowns(child, record, found)


def tri_of(record: Record, node: Node) -> bool | None:
    value = record.of(node)
    return value if value is None or isinstance(value, bool) else None


def evaluate_tree(
    model: PolicyModel,
    node: Condition,
    values: Mapping[str, Any],
    parameters: Mapping[str, ParameterValue],
) -> Trace:
    """One condition written in ``model``'s language, evaluated alone for one set of values.

    Compiles a plan for that condition each time: for tests and one-off checks, not for loops.
    """
    plan = Plan(model, (node,))
    return Trace(node, Record(plan, plan.run(values, parameters), values))


__all__ = ["EstimatePlan", "Plan", "Record", "Trace", "evaluate_tree", "unknown_facts"]
