"""The condition language of measures.yaml, and its three-valued evaluation.

A condition is one line a policy officer can read aloud::

    employees <= sme_max_employees
    rd_expense - rd_expense_prior_year >= rd_growth_reward_min_increase
    hnte_valid
    not restricted_industry
    sme_size                          # a category defined once in measures.yaml

and lists group them: a plain list, or ``all:``, means every part must hold; ``any:`` means one
part is enough; ``not:`` turns a part round.

The text is parsed by Python's ``ast`` module in ``eval`` mode and the tree is *walked* against a
whitelist of node types: it is never compiled or executed. Names are checked against the declared
facts, parameters and categories, and types and units are checked, when the file loads.

Evaluation is Kleene's three-valued logic: a fact that is missing is *unknown* (``None``), never
false or zero; ``all`` is false as soon as one part is false, ``any`` is true as soon as one part is
true, and otherwise unknown wins over the remaining answer.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple

from ._errors import ConditionSyntaxError, Location, Problem
from ._suggest import did_you_mean

Tri = bool | None
"""A three-valued truth value: ``True``, ``False`` or ``None`` for unknown."""


# ── types ────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class ValueType:
    """What an expression yields: ``number`` (with a unit), ``bool`` or ``text``."""

    kind: str
    unit: str | None = None

    def describe(self) -> str:
        if self.kind == "bool":
            return "a yes/no value"
        if self.kind == "text":
            return "a text"
        return f"a number in {self.unit}" if self.unit else "a number"


NUMBER = ValueType("number")
BOOL = ValueType("bool")
TEXT = ValueType("text")


@dataclass(frozen=True)
class Scope:
    """The names a condition may use, with their types."""

    facts: Mapping[str, ValueType]
    derived: Mapping[str, tuple[str, ...]]
    parameters: Mapping[str, ValueType]
    categories: frozenset[str]
    labels: Mapping[str, str] = field(default_factory=dict)
    choices: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def all_names(self) -> list[str]:
        return [*self.facts, *self.parameters, *self.categories]


# ── evaluation context ───────────────────────────────────────────────────────────────────────


class Context:
    """What one evaluation reads: fact values, parameter values and the categories.

    It also memoises category results for the one profile being evaluated. A new context is
    made for every evaluation, so nothing is shared between profiles or threads.
    """

    __slots__ = ("_category_cache", "categories", "params", "values")

    def __init__(
        self,
        values: Mapping[str, Any],
        params: Mapping[str, Any],
        categories: Mapping[str, Condition],
    ) -> None:
        self.values = values
        self.params = params
        self.categories = categories
        self._category_cache: dict[str, Trace] = {}

    def category(self, name: str) -> Trace:
        trace = self._category_cache.get(name)
        if trace is None:
            trace = self.categories[name].evaluate(self)
            self._category_cache[name] = trace
        return trace


# ── expressions ──────────────────────────────────────────────────────────────────────────────


class Expr:
    """A numeric, yes/no or text expression inside a comparison."""

    __slots__ = ()

    def value(self, ctx: Context) -> Any:
        raise NotImplementedError

    def facts(self) -> tuple[str, ...]:
        """The facts (profile or derived) this expression reads, in order."""
        return ()

    def parameters(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class FactRef(Expr):
    name: str

    def value(self, ctx: Context) -> Any:
        return ctx.values.get(self.name)

    def facts(self) -> tuple[str, ...]:
        return (self.name,)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class ParamRef(Expr):
    """A parameter's value in the evaluation year; a percentage reads as a fraction (15 % → 0.15)."""

    name: str
    percent: bool = False

    def value(self, ctx: Context) -> Any:
        value = ctx.params[self.name]
        return value / 100 if self.percent else value

    def parameters(self) -> tuple[str, ...]:
        return (self.name,)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Const(Expr):
    literal: Any

    def value(self, ctx: Context) -> Any:
        return self.literal

    def __str__(self) -> str:
        if isinstance(self.literal, bool):
            return "true" if self.literal else "false"
        if isinstance(self.literal, str):
            return repr(self.literal)
        if isinstance(self.literal, tuple):
            return "[" + ", ".join(str(Const(v)) for v in self.literal) + "]"
        return str(self.literal)


_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}


@dataclass(frozen=True, slots=True)
class Arith(Expr):
    op: str
    left: Expr
    right: Expr

    def value(self, ctx: Context) -> Any:
        a = self.left.value(ctx)
        if a is None:
            return None
        b = self.right.value(ctx)
        if b is None:
            return None
        return _ARITH[self.op](a, b)

    def facts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.left.facts(), *self.right.facts())))

    def parameters(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.left.parameters(), *self.right.parameters())))

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


_FUNCTIONS: dict[str, Callable[..., Any]] = {"max": max, "min": min}


@dataclass(frozen=True, slots=True)
class Func(Expr):
    """``max(a, b, …)`` or ``min(a, b, …)``: unknown as soon as one argument is unknown."""

    name: str
    args: tuple[Expr, ...]

    def value(self, ctx: Context) -> Any:
        values = [a.value(ctx) for a in self.args]
        if any(v is None for v in values):
            return None
        return _FUNCTIONS[self.name](values)

    def facts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f for a in self.args for f in a.facts()))

    def parameters(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for a in self.args for p in a.parameters()))

    def __str__(self) -> str:
        return f"{self.name}({', '.join(str(a) for a in self.args)})"


@dataclass(frozen=True, slots=True)
class Negate(Expr):
    operand: Expr

    def value(self, ctx: Context) -> Any:
        v = self.operand.value(ctx)
        return None if v is None else -v

    def facts(self) -> tuple[str, ...]:
        return self.operand.facts()

    def parameters(self) -> tuple[str, ...]:
        return self.operand.parameters()

    def __str__(self) -> str:
        return f"-{self.operand}"


# ── conditions ───────────────────────────────────────────────────────────────────────────────


_NO_FACTS: Mapping[str, Any] = MappingProxyType({})


class Trace(NamedTuple):
    """The record of one condition evaluated for one profile (an immutable tuple: cheap to make).

    ``facts`` holds the facts the condition read and their values (``None`` = unknown);
    ``threshold`` the value it was compared with; ``parts`` the records of a group's parts.
    """

    condition: Condition
    outcome: Tri
    facts: Mapping[str, Any] = _NO_FACTS
    threshold: Any = None
    parts: tuple[Trace, ...] = ()


class Condition:
    """Base of every compiled condition. ``text`` is the condition as written."""

    __slots__ = ()
    text: str
    location: Location
    clause: str

    def evaluate(self, ctx: Context) -> Trace:
        raise NotImplementedError

    @property
    def is_leaf(self) -> bool:
        return True

    def base_facts(self) -> tuple[str, ...]:
        """The profile facts this condition depends on (derived facts expanded)."""
        return ()


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
}


@dataclass(frozen=True, slots=True)
class Comparison(Condition):
    """``left OP right``: a leaf condition over facts, parameters and numbers."""

    text: str
    location: Location
    clause: str
    left: Expr
    op: str
    right: Expr
    reads: tuple[str, ...]
    base: tuple[str, ...]
    params: tuple[str, ...] = ()

    def evaluate(self, ctx: Context) -> Trace:
        values = ctx.values
        facts = {name: values.get(name) for name in self.reads}
        a = self.left.value(ctx)
        b = self.right.value(ctx)
        outcome = None if a is None or b is None else _COMPARE[self.op](a, b)
        threshold = a if (self.right.facts() and not self.left.facts()) else b
        return Trace(self, outcome, facts, threshold)

    def base_facts(self) -> tuple[str, ...]:
        return self.base

    def parameters(self) -> tuple[str, ...]:
        return self.params


@dataclass(frozen=True, slots=True)
class Flag(Condition):
    """A yes/no fact, required to be true (``hnte_valid``) or false (``not hnte_valid``)."""

    text: str
    location: Location
    clause: str
    fact: str
    expected: bool = True

    def evaluate(self, ctx: Context) -> Trace:
        value = ctx.values.get(self.fact)
        outcome = None if value is None else value is self.expected
        return Trace(self, outcome, {self.fact: value}, self.expected)

    def base_facts(self) -> tuple[str, ...]:
        return (self.fact,)


@dataclass(frozen=True, slots=True)
class CategoryRef(Condition):
    """A named category (``sme_size``); its parts are the category's own conditions."""

    text: str
    location: Location
    clause: str
    category: str

    @property
    def is_leaf(self) -> bool:
        return False

    def evaluate(self, ctx: Context) -> Trace:
        inner = ctx.category(self.category)
        return Trace(self, inner.outcome, parts=inner.parts)


def _group(cond: Condition, parts: tuple[Condition, ...], ctx: Context, *, decisive: bool) -> Trace:
    """Kleene's all (decisive False) or any (decisive True) over every part.

    Every part is evaluated, even after the answer is settled, so the record is complete.
    """
    traces = tuple(part.evaluate(ctx) for part in parts)
    outcome: Tri = not decisive
    for t in traces:
        if t.outcome is decisive:
            outcome = decisive
            break
        if t.outcome is None:
            outcome = None
    return Trace(cond, outcome, parts=traces)


@dataclass(frozen=True, slots=True)
class AllOf(Condition):
    """Every part must hold (a plain list of conditions means the same)."""

    text: str
    location: Location
    clause: str
    parts: tuple[Condition, ...]

    @property
    def is_leaf(self) -> bool:
        return False

    def evaluate(self, ctx: Context) -> Trace:
        return _group(self, self.parts, ctx, decisive=False)


@dataclass(frozen=True, slots=True)
class AnyOf(Condition):
    """At least one part must hold."""

    text: str
    location: Location
    clause: str
    parts: tuple[Condition, ...]

    @property
    def is_leaf(self) -> bool:
        return False

    def evaluate(self, ctx: Context) -> Trace:
        return _group(self, self.parts, ctx, decisive=True)


@dataclass(frozen=True, slots=True)
class NotOf(Condition):
    """The part must not hold."""

    text: str
    location: Location
    clause: str
    part: Condition

    @property
    def is_leaf(self) -> bool:
        return False

    def evaluate(self, ctx: Context) -> Trace:
        inner = self.part.evaluate(ctx)
        outcome = None if inner.outcome is None else not inner.outcome
        return Trace(self, outcome, parts=(inner,))


def missing_facts(trace: Trace) -> list[str]:
    """The unknown facts that keep an unknown ``trace`` unknown, in condition order.

    Parts whose outcome is already settled (true or false) do not count: knowing their facts
    would not change the answer.
    """
    found: dict[str, None] = {}

    def walk(t: Trace) -> None:
        if t.outcome is not None:
            return
        if t.condition.is_leaf:
            for fact in t.condition.base_facts():
                if t.facts.get(fact) is None:
                    found.setdefault(fact)
            return
        for part in t.parts:
            walk(part)

    walk(trace)
    return list(found)


def leaves(trace: Trace) -> list[Trace]:
    """Every leaf record under ``trace``, depth first."""
    out: list[Trace] = []
    stack = [trace]
    while stack:
        t = stack.pop()
        if t.condition.is_leaf:
            out.append(t)
        else:
            stack.extend(reversed(t.parts))
    return out


# ── the compiler ─────────────────────────────────────────────────────────────────────────────

_LOOKALIKES = {
    "≤": "<=",
    "≥": ">=",
    "＜": "<",
    "＞": ">",
    "＝": "==",
    "≠": "!=",
    "！": "!",
    "（": "(",
    "）": ")",
    "－": "-",
    "−": "-",
    "＋": "+",
    "×": "*",
    "＊": "*",
    "　": "a space",
}
_SINGLE_EQUALS = re.compile(r"(?<![<>=!])=(?!=)")

_AST_COMPARE = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
}
_AST_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
_EXAMPLE = "a comparison such as 'employees <= sme_max_employees', or a yes/no fact"
_BOOL_WORDS = {"true": True, "false": False, "True": True, "False": False}


class _Reject(Exception):
    """A problem found while walking one condition (offset into the text, message, hint)."""

    def __init__(self, offset: int, message: str, expected: str | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message
        self.expected = expected


def parse_condition(text: str, scope: Scope, location: Location, clause: str = "") -> Condition:
    """Compile one condition string; raise :class:`ConditionSyntaxError` when it is wrong.

    ``location`` is where the text starts in its file; the error points into the text.
    """
    try:
        return _Compiler(scope, text, location, clause).condition()
    except _Reject as exc:
        at = Location(location.file, location.line, location.column + max(exc.offset, 0))
        raise ConditionSyntaxError(Problem(at, exc.message, exc.expected)) from None


def parse_expression(text: str, scope: Scope, location: Location) -> tuple[Expr, ValueType]:
    """Compile a numeric formula (a derived fact); raise :class:`ConditionSyntaxError`."""
    try:
        return _Compiler(scope, text, location, "").expression()
    except _Reject as exc:
        at = Location(location.file, location.line, location.column + max(exc.offset, 0))
        raise ConditionSyntaxError(Problem(at, exc.message, exc.expected)) from None


class _Compiler:
    def __init__(self, scope: Scope, text: str, location: Location, clause: str) -> None:
        self.scope = scope
        self.raw = text
        self.text = text.strip()
        self.lead = len(text) - len(text.lstrip())
        self.location = location
        self.clause = clause

    # entry points

    def _tree(self) -> ast.expr:
        if not self.text:
            raise _Reject(0, "empty condition", _EXAMPLE)
        for i, ch in enumerate(self.raw):
            if ch in _LOOKALIKES:
                raise _Reject(
                    i,
                    f"the character '{ch}' cannot be used in a condition",
                    f"write '{_LOOKALIKES[ch]}' instead",
                )
        try:
            tree = ast.parse(self.text, mode="eval")
        except SyntaxError as exc:
            offset = self.lead + max((exc.offset or 1) - 1, 0)
            match = _SINGLE_EQUALS.search(self.text)
            if match:
                raise _Reject(
                    self.lead + match.start(),
                    f"cannot read the condition '{self.text}': a single '=' is not a comparison",
                    "write '==' to compare, or '<=' / '>='",
                ) from None
            reason = (exc.msg or "invalid syntax").removeprefix("invalid syntax. ")
            raise _Reject(
                offset, f"cannot read the condition '{self.text}': {reason}", _EXAMPLE
            ) from None
        return tree.body

    def condition(self) -> Condition:
        return self._condition(self._tree())

    def expression(self) -> tuple[Expr, ValueType]:
        expr, vtype = self._expr(self._tree())
        if vtype.kind != "number":
            raise _Reject(
                self.lead,
                f"the formula '{self.text}' does not give a number",
                "a sum or difference of amounts",
            )
        return expr, vtype

    # helpers

    def _at(self, node: ast.AST) -> int:
        return self.lead + getattr(node, "col_offset", 0)

    def _snippet(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or self.text

    def _unknown(self, node: ast.Name) -> _Reject:
        name = node.id
        label_target = self.scope.labels.get(name)
        if label_target:
            hint = f"use the fact id: did you mean '{label_target}'?"
        else:
            hint = did_you_mean(name, self.scope.all_names()) or (
                "a fact, derived fact, parameter or category declared in this file"
            )
        return _Reject(self._at(node), f"unknown name '{name}' in condition '{self.text}'", hint)

    def _leaf_reads(self, *exprs: Expr) -> tuple[tuple[str, ...], tuple[str, ...]]:
        reads: dict[str, None] = {}
        base: dict[str, None] = {}
        for expr in exprs:
            for name in expr.facts():
                reads.setdefault(name)
                if name in self.scope.derived:
                    for inner in self.scope.derived[name]:
                        reads.setdefault(inner)
                        base.setdefault(inner)
                else:
                    base.setdefault(name)
        return tuple(reads), tuple(base)

    # conditions

    def _condition(self, node: ast.expr) -> Condition:
        text = self.text
        if isinstance(node, ast.BoolOp):
            word = "and" if isinstance(node.op, ast.And) else "or"
            group = "all" if word == "and" else "any"
            raise _Reject(
                self._at(node),
                f"'{word}' cannot be used inside one condition ('{text}')",
                f"write the parts one per line under '{group}:'",
            )
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = node.operand
            if isinstance(inner, ast.Name) and self.scope.facts.get(inner.id) == BOOL:
                return Flag(text, self.location, self.clause, inner.id, expected=False)
            return NotOf("not", self.location, self.clause, self._condition(inner))
        if isinstance(node, ast.Name):
            return self._name_condition(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Constant):
            raise _Reject(self._at(node), f"'{text}' is a constant, not a condition", _EXAMPLE)
        raise _Reject(
            self._at(node), f"'{self._snippet(node)}' is {_what(node)}, not a condition", _EXAMPLE
        )

    def _name_condition(self, node: ast.Name) -> Condition:
        name = node.id
        scope = self.scope
        if name in scope.categories:
            return CategoryRef(self.text, self.location, self.clause, name)
        vtype = scope.facts.get(name)
        if vtype == BOOL:
            return Flag(self.text, self.location, self.clause, name, expected=True)
        if vtype is not None:
            raise _Reject(
                self._at(node),
                f"'{name}' is {vtype.describe()}, not a yes/no fact",
                f"compare it, for example '{name} > 0'",
            )
        if name in scope.parameters:
            raise _Reject(
                self._at(node),
                f"'{name}' is a parameter; on its own it is not a condition",
                f"compare a fact with it, for example 'some_fact <= {name}'",
            )
        if name in _BOOL_WORDS:
            raise _Reject(self._at(node), f"'{name}' on its own is not a condition", _EXAMPLE)
        raise self._unknown(node)

    def _compare(self, node: ast.Compare) -> Condition:
        if len(node.ops) != 1:
            raise _Reject(
                self._at(node),
                f"'{self.text}' chains two comparisons",
                "write one comparison per line under 'all:'",
            )
        op = _AST_COMPARE[type(node.ops[0])]
        left, ltype = self._expr(node.left)
        right_node = node.comparators[0]
        if op in ("in", "not in"):
            right, rtype = self._choices(right_node, ltype)
        else:
            right, rtype = self._expr(right_node)
        self._check_types(node, op, left, ltype, right, rtype)
        if not left.facts() and not right.facts():
            raise _Reject(
                self._at(node),
                f"'{self.text}' reads no fact, so it is always true or always false",
                "compare a fact of the profile",
            )
        reads, base = self._leaf_reads(left, right)
        params = tuple(dict.fromkeys((*left.parameters(), *right.parameters())))
        return Comparison(
            self.text, self.location, self.clause, left, op, right, reads, base, params
        )

    def _check_types(
        self, node: ast.Compare, op: str, left: Expr, lt: ValueType, right: Expr, rt: ValueType
    ) -> None:
        if op in ("in", "not in"):
            return
        ordering = op in ("<", "<=", ">", ">=")
        for expr, vtype in ((left, lt), (right, rt)):
            if vtype.kind == "bool" and (ordering or (lt.kind != rt.kind)):
                name = str(expr)
                raise _Reject(
                    self._at(node),
                    f"type clash in '{self.text}': '{name}' is a yes/no fact and cannot be "
                    f"compared with '{op} {right if expr is left else left}'",
                    f"write '{name}' or 'not {name}'" if isinstance(expr, FactRef) else _EXAMPLE,
                )
        if ordering and (lt.kind != "number" or rt.kind != "number"):
            raise _Reject(
                self._at(node),
                f"type clash in '{self.text}': '{op}' needs numbers on both sides",
                f"found {lt.describe()} and {rt.describe()}",
            )
        if lt.kind != rt.kind:
            raise _Reject(
                self._at(node),
                f"type clash in '{self.text}': {lt.describe()} compared with {rt.describe()}",
                "the same kind of value on both sides",
            )
        if lt.kind == "number" and lt.unit and rt.unit and lt.unit != rt.unit:
            raise _Reject(
                self._at(node),
                f"unit clash in '{self.text}': {lt.unit} compared with {rt.unit}",
                "the same unit on both sides",
            )
        if lt.kind == "text":
            self._check_choice(node, left, right)

    def _check_choice(self, node: ast.AST, left: Expr, right: Expr) -> None:
        for fact_side, const_side in ((left, right), (right, left)):
            if isinstance(fact_side, FactRef) and isinstance(const_side, Const):
                allowed = self.scope.choices.get(fact_side.name)
                values = (
                    const_side.literal
                    if isinstance(const_side.literal, tuple)
                    else (const_side.literal,)
                )
                for value in values:
                    if allowed is not None and value not in allowed:
                        hint = did_you_mean(str(value), allowed) or "one of: " + ", ".join(
                            sorted(allowed)
                        )
                        raise _Reject(
                            self._at(node),
                            f"'{value}' is not a known value of '{fact_side.name}'",
                            hint,
                        )

    def _choices(self, node: ast.expr, ltype: ValueType) -> tuple[Expr, ValueType]:
        if not isinstance(node, (ast.List, ast.Tuple)):
            raise _Reject(
                self._at(node),
                f"'in' needs a list of values in '{self.text}'",
                "for example: town in ['湖塘镇', '牛塘镇']",
            )
        items = []
        for elt in node.elts:
            if not isinstance(elt, ast.Constant) or isinstance(elt.value, bool):
                raise _Reject(
                    self._at(elt),
                    f"'{self._snippet(elt)}' must be a plain value",
                    "numbers or quoted texts",
                )
            items.append(elt.value)
        expected = str if ltype.kind == "text" else (int, float)
        if not all(isinstance(v, expected) for v in items):
            raise _Reject(
                self._at(node),
                f"the list in '{self.text}' holds values of another kind",
                ltype.describe(),
            )
        return Const(tuple(items)), ltype

    # expressions

    def _call(self, node: ast.Call) -> tuple[Expr, ValueType]:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        if name not in _FUNCTIONS or node.keywords:
            raise _Reject(
                self._at(node),
                f"'{self._snippet(node)}' is a function call, which conditions cannot use",
                "only max(…) and min(…) may be called",
            )
        if len(node.args) < 2:
            raise _Reject(
                self._at(node),
                f"'{self._snippet(node)}' needs at least two values",
                f"{name}(a, b)",
            )
        args = []
        unit: str | None = None
        for arg in node.args:
            expr, vtype = self._expr(arg)
            if vtype.kind != "number":
                raise _Reject(
                    self._at(arg),
                    f"'{name}' needs numbers in '{self._snippet(node)}'",
                    f"found {vtype.describe()}",
                )
            if unit and vtype.unit and vtype.unit != unit:
                raise _Reject(
                    self._at(node),
                    f"unit clash in '{self._snippet(node)}': {unit} and {vtype.unit}",
                    "the same unit for every value",
                )
            unit = unit or vtype.unit
            args.append(expr)
        return Func(str(name), tuple(args)), ValueType("number", unit)

    def _expr(self, node: ast.expr) -> tuple[Expr, ValueType]:
        scope = self.scope
        if isinstance(node, ast.Name):
            name = node.id
            if name in scope.facts:
                return FactRef(name), scope.facts[name]
            if name in scope.parameters:
                vtype = scope.parameters[name]
                if vtype.kind != "number":
                    raise _Reject(
                        self._at(node),
                        f"'{name}' is a score table, which cannot be used in a condition or formula",
                        "a parameter with a single value",
                    )
                return ParamRef(name, percent=vtype.unit == "%"), vtype
            if name in _BOOL_WORDS:
                return Const(_BOOL_WORDS[name]), BOOL
            if name in scope.categories:
                raise _Reject(
                    self._at(node),
                    f"'{name}' is a category; it can only stand on its own as a condition",
                    f"write '{name}' or 'not {name}' on its own line",
                )
            raise self._unknown(node)
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool):
                return Const(value), BOOL
            if isinstance(value, (int, float)):
                return Const(value), NUMBER
            if isinstance(value, str):
                return Const(value), TEXT
            raise _Reject(
                self._at(node),
                f"'{self._snippet(node)}' is not a number, text or true/false",
                _EXAMPLE,
            )
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner, vtype = self._expr(node.operand)
            if vtype.kind != "number":
                raise _Reject(
                    self._at(node), f"a sign before {vtype.describe()} in '{self.text}'", "a number"
                )
            if isinstance(node.op, ast.UAdd):
                return inner, vtype
            if isinstance(inner, Const):
                return Const(-inner.literal), vtype
            return Negate(inner), vtype
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.BinOp):
            op = _AST_ARITH.get(type(node.op))
            if op is None:
                raise _Reject(
                    self._at(node),
                    f"the operator in '{self._snippet(node)}' is not allowed",
                    "only + - * may be used",
                )
            left, lt = self._expr(node.left)
            right, rt = self._expr(node.right)
            if lt.kind != "number" or rt.kind != "number":
                raise _Reject(
                    self._at(node),
                    f"'{op}' needs numbers in '{self._snippet(node)}'",
                    f"found {lt.describe()} and {rt.describe()}",
                )
            if op == "*":
                lu, ru = _measure_unit(lt.unit), _measure_unit(rt.unit)
                if lu and ru:
                    raise _Reject(
                        self._at(node),
                        f"'{self._snippet(node)}' multiplies two amounts with units",
                        "multiply by a plain number or a percentage only",
                    )
                unit = lu or ru or lt.unit or rt.unit
            else:
                if lt.unit and rt.unit and lt.unit != rt.unit:
                    raise _Reject(
                        self._at(node),
                        f"unit clash in '{self._snippet(node)}': {lt.unit} {op} {rt.unit}",
                        "the same unit on both sides",
                    )
                unit = lt.unit or rt.unit
            return Arith(op, left, right), ValueType("number", unit)
        what = _what(node)
        raise _Reject(
            self._at(node),
            f"'{self._snippet(node)}' is {what}, which conditions cannot use",
            "facts, parameters, numbers, + - * and comparisons only",
        )


def _measure_unit(unit: str | None) -> str | None:
    """The unit of an amount; a percentage is a plain factor in a product."""
    return None if unit == "%" else unit


_NODE_WORDS: tuple[tuple[type[ast.AST], str], ...] = (
    (ast.Call, "a function call"),
    (ast.Attribute, "an attribute"),
    (ast.Subscript, "an index"),
    (ast.Lambda, "a lambda"),
    (ast.List, "a list"),
    (ast.Dict, "a mapping"),
    (ast.BinOp, "a calculation"),
)


def _what(node: ast.AST) -> str:
    """Words for a kind of syntax a condition may not use."""
    return next((word for kind, word in _NODE_WORDS if isinstance(node, kind)), "an expression")


def decimal_constants(expr: Expr) -> Expr:
    """The same expression with its float constants as Decimals (for exact money arithmetic)."""
    if isinstance(expr, Const) and isinstance(expr.literal, float):
        return Const(Decimal(repr(expr.literal)))
    if isinstance(expr, Arith):
        return Arith(expr.op, decimal_constants(expr.left), decimal_constants(expr.right))
    if isinstance(expr, Negate):
        return Negate(decimal_constants(expr.operand))
    if isinstance(expr, Func):
        return Func(expr.name, tuple(decimal_constants(a) for a in expr.args))
    return expr


def facts_of(condition: Condition, categories: Mapping[str, Condition]) -> list[str]:
    """Every profile fact a condition tree reads, categories expanded, in order."""
    found: dict[str, None] = {}
    stack: list[Condition] = [condition]
    while stack:
        c = stack.pop()
        if isinstance(c, CategoryRef):
            stack.append(categories[c.category])
        elif c.is_leaf:
            for fact in c.base_facts():
                found.setdefault(fact)
        else:
            stack.extend(reversed(children(c)))
    return list(found)


def comparisons_of(condition: Condition) -> list[Comparison]:
    """Every comparison in a condition tree (categories not expanded), in order."""
    found: list[Comparison] = []
    stack: list[Condition] = [condition]
    while stack:
        c = stack.pop()
        if isinstance(c, Comparison):
            found.append(c)
        elif isinstance(c, (AllOf, AnyOf)):
            stack.extend(reversed(c.parts))
        elif isinstance(c, NotOf):
            stack.append(c.part)
    return found


def kinks_of(expr: Expr) -> list[tuple[str, Expr]]:
    """Where a formula bends: ``min(fact, bound)``, ``max(0, fact - bound)`` → (fact, bound)."""
    found: list[tuple[str, Expr]] = []
    stack: list[Expr] = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, Func):
            fixed = [a for a in e.args if not a.facts()]
            for arg in e.args:
                if isinstance(arg, FactRef) and fixed:
                    found += [(arg.name, bound) for bound in fixed]
                elif (
                    isinstance(arg, Arith)
                    and arg.op == "-"
                    and isinstance(arg.left, FactRef)
                    and not arg.right.facts()
                ):
                    found.append((arg.left.name, arg.right))
            stack.extend(e.args)
        elif isinstance(e, Arith):
            stack.extend((e.left, e.right))
        elif isinstance(e, Negate):
            stack.append(e.operand)
    return found


def flatten_parameters(condition: Condition) -> list[str]:
    """Every parameter a condition tree refers to (categories not expanded)."""
    found: dict[str, None] = {}
    stack: list[Condition] = [condition]
    while stack:
        c = stack.pop()
        if isinstance(c, Comparison):
            for p in c.parameters():
                found.setdefault(p)
        elif isinstance(c, (AllOf, AnyOf)):
            stack.extend(c.parts)
        elif isinstance(c, NotOf):
            stack.append(c.part)
    return list(found)


def categories_used(condition: Condition) -> list[str]:
    """Every category a condition tree names directly."""
    found: dict[str, None] = {}
    stack: list[Condition] = [condition]
    while stack:
        c = stack.pop()
        if isinstance(c, CategoryRef):
            found.setdefault(c.category)
        elif isinstance(c, (AllOf, AnyOf)):
            stack.extend(c.parts)
        elif isinstance(c, NotOf):
            stack.append(c.part)
    return list(found)


def children(condition: Condition) -> Sequence[Condition]:
    """The direct parts of a group condition (empty for a leaf or a category reference)."""
    if isinstance(condition, (AllOf, AnyOf)):
        return condition.parts
    if isinstance(condition, NotOf):
        return (condition.part,)
    return ()
