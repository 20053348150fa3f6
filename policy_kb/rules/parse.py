"""The condition language of measures.yaml: one line a policy officer can read aloud.

    employees <= sme_max_employees
    rd_expense - rd_expense_prior_year >= rd_growth_reward_min_increase
    hnte_valid
    not restricted_industry
    sme_size                          # a category defined once in measures.yaml

The text is parsed by Python's ``ast`` module in ``eval`` mode and the tree is *walked* against a
whitelist of node types: it is never compiled or executed. Names are checked against the declared
facts, parameters and categories, and types and units are checked, when the file loads. Every
refusal is a :class:`~policy_kb.ConditionSyntaxError` pointing into the text.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConditionSyntaxError, Location, Problem
from ..records import Valued
from ..text import Msg, did_you_mean
from .tree import (
    AllOf,
    Arith,
    CategoryRef,
    Comparison,
    Condition,
    Const,
    Expr,
    FactRef,
    Flag,
    Func,
    Negate,
    NotOf,
    ParamRef,
)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ValueType(Valued):
    """What an expression yields: ``number`` (with a unit), ``bool``, ``text`` or ``table``."""

    kind: str
    unit: str | None = None

    def describe(self) -> Msg:
        if self.kind in ("bool", "text"):
            return Msg(f"vtype.{self.kind}")
        return Msg("vtype.number_unit", unit=self.unit) if self.unit else Msg("vtype.number")


NUMBER = ValueType("number")
BOOL = ValueType("bool")
TEXT = ValueType("text")


@dataclass(frozen=True, eq=False, repr=False)
class Scope(Valued):
    """The names a condition may use, with their types."""

    facts: Mapping[str, ValueType]
    derived: Mapping[str, tuple[str, ...]]
    parameters: Mapping[str, ValueType]
    categories: frozenset[str]
    labels: Mapping[str, str] = field(default_factory=dict)
    choices: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def all_names(self) -> list[str]:
        return [*self.facts, *self.parameters, *self.categories]


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
    "　": " ",
}
_QUOTE_LOOKALIKES = "“”‘’＂＇"  # a text is written in straight single quotes: '湖塘镇'
_TWO_SIGNS = re.compile(r"[-+]\s*[-+]")  # 'a - -b': a slip of the keys, not a formula
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
_AST_REFUSED = {  # operators Python reads and a policy formula may not use, as written
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
}
_FUNCTIONS = ("max", "min")
_BOOL_WORDS = {"true": True, "false": False, "True": True, "False": False}
_EXAMPLE = Msg("cond.example")
_NODE_WORDS: tuple[tuple[type[ast.AST], str], ...] = (
    (ast.Call, "call"),
    (ast.Attribute, "attribute"),
    (ast.Subscript, "index"),
    (ast.Lambda, "lambda"),
    (ast.List, "list"),
    (ast.Dict, "mapping"),
    (ast.BinOp, "calculation"),
)


class _Reject(Exception):
    """A problem found while walking one condition (offset into the text, message, hint)."""

    def __init__(self, offset: int, message: Msg, expected: Msg | None = None) -> None:
        super().__init__(message.key)
        self.offset = offset
        self.message = message
        self.expected = expected


def parse_condition(text: str, scope: Scope, location: Location, clause: str = "") -> Condition:
    """Compile one condition; raise :class:`ConditionSyntaxError` pointing into the text."""
    try:
        return _Compiler(scope, text, location, clause).condition()
    except _Reject as exc:
        raise _error(exc, location) from None
    except RecursionError:  # hundreds of terms in one formula: said, not a crash
        raise _error(_Reject(0, Msg("cond.too_long")), location) from None


def parse_expression(text: str, scope: Scope, location: Location) -> tuple[Expr, ValueType]:
    """Compile a numeric formula (a derived fact, an estimate)."""
    try:
        return _Compiler(scope, text, location, "").expression()
    except _Reject as exc:
        raise _error(exc, location) from None
    except RecursionError:
        raise _error(_Reject(0, Msg("cond.too_long")), location) from None


def _error(exc: _Reject, location: Location) -> ConditionSyntaxError:
    at = Location(location.file, location.line, location.column + max(exc.offset, 0))
    return ConditionSyntaxError(Problem(at, exc.message, exc.expected))


def _what(node: ast.AST) -> Msg:
    """Words for a kind of syntax a condition may not use."""
    word = next((w for kind, w in _NODE_WORDS if isinstance(node, kind)), "expression")
    return Msg("syntax." + word)


def _measure_unit(unit: str | None) -> str | None:
    """The unit of an amount; a percentage is a plain factor in a product."""
    return None if unit == "%" else unit


class _Compiler:
    def __init__(self, scope: Scope, text: str, location: Location, clause: str) -> None:
        self.scope = scope
        self.raw = text
        self.text = text.strip()
        self.lead = len(text) - len(text.lstrip())
        self.location = location
        self.clause = clause
        self.figures: list[ast.Constant] = []  # numbers other than 0 and 1 written in the text

    # entry points

    def _tree(self) -> ast.expr:
        if not self.text:
            raise _Reject(0, Msg("cond.empty"), _EXAMPLE)
        for i, ch in enumerate(self.raw):
            if ch in _LOOKALIKES:
                raise _Reject(
                    i,
                    Msg("cond.lookalike", char=ch),
                    Msg("cond.write_instead", good=_LOOKALIKES[ch]),
                )
            if ch in _QUOTE_LOOKALIKES:
                raise _Reject(i, Msg("cond.lookalike", char=ch), Msg("cond.write_quotes"))
        signs = _TWO_SIGNS.search(self.raw)
        if signs is not None:
            raise _Reject(
                signs.start(),
                Msg("cond.two_signs", text=self.text, signs=signs.group()),
                Msg("cond.one_sign"),
            )
        try:
            tree = ast.parse(self.text, mode="eval")
        except SyntaxError as exc:
            match = _SINGLE_EQUALS.search(self.text)
            if match:
                raise _Reject(
                    self.lead + match.start(),
                    Msg("cond.single_equals", text=self.text),
                    Msg("cond.single_equals_hint"),
                ) from None
            label = max((x for x in self.scope.labels if x in self.text), key=len, default=None)
            if label is not None:  # a fact's Chinese name, which punctuation keeps from parsing
                raise _Reject(
                    self.lead + self.text.index(label),
                    Msg("cond.unknown_name", name=label, text=self.text),
                    Msg("cond.use_fact_id", fact=self.scope.labels[label]),
                ) from None
            offset = self.lead + max((exc.offset or 1) - 1, 0)
            raise _Reject(offset, Msg("cond.unreadable", text=self.text), _EXAMPLE) from None
        return tree.body

    def condition(self) -> Condition:
        condition = self._condition(self._tree())
        self._no_figures()
        return condition

    def expression(self) -> tuple[Expr, ValueType]:
        expr, vtype = self._expr(self._tree())
        if vtype.kind != "number":
            raise _Reject(
                self.lead, Msg("cond.formula_not_number", text=self.text), Msg("cond.formula_hint")
            )
        self._no_figures()
        return expr, vtype

    def _no_figures(self) -> None:
        """Every figure of the text is a dated parameter; only 0 and 1 (a sign, a complement)
        may be written in a condition or a formula."""
        if self.figures:
            node = self.figures[0]
            raise self._reject(
                node,
                "cond.figure",
                Msg("cond.figure_hint"),
                number=self._snippet(node),
                text=self.text,
            )

    # helpers

    def _at(self, node: ast.AST) -> int:
        return self.lead + getattr(node, "col_offset", 0)

    def _snippet(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or self.text

    def _reject(
        self, node: ast.AST, message: str, expected: Msg | None = None, /, **args: Any
    ) -> _Reject:
        return _Reject(self._at(node), Msg(message, **args), expected)

    def _unknown(self, node: ast.Name) -> _Reject:
        name = node.id
        target = self.scope.labels.get(name)
        if target:
            hint: Msg | None = Msg("cond.use_fact_id", fact=target)
        else:
            hint = did_you_mean(name, self.scope.all_names()) or Msg("cond.declare_name")
        return self._reject(node, "cond.unknown_name", hint, name=name, text=self.text)

    def _leaf_reads(self, *exprs: Expr) -> tuple[tuple[str, ...], tuple[str, ...]]:
        from .walk import facts_in

        reads: dict[str, None] = {}
        base: dict[str, None] = {}
        for expr in exprs:
            for name in facts_in(expr):
                reads.setdefault(name)
                inputs = self.scope.derived.get(name)
                for inner in inputs if inputs is not None else (name,):
                    reads.setdefault(inner)
                    base.setdefault(inner)
        return tuple(reads), tuple(base)

    # conditions

    def _condition(self, node: ast.expr) -> Condition:
        if isinstance(node, ast.BoolOp):
            word, group = ("and", "all") if isinstance(node.op, ast.And) else ("or", "any")
            raise self._reject(
                node, "cond.boolop", Msg("cond.boolop_hint", group=group), word=word, text=self.text
            )
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = node.operand
            if isinstance(inner, ast.Name) and self.scope.facts.get(inner.id) == BOOL:
                return Flag(self.text, self.location, self.clause, inner.id, expected=False)
            return NotOf("not", self.location, self.clause, self._condition(inner))
        if isinstance(node, ast.Name):
            return self._name_condition(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Constant):
            raise self._reject(node, "cond.constant", _EXAMPLE, text=self.text)
        raise self._reject(
            node, "cond.not_a_condition", _EXAMPLE, text=self._snippet(node), what=_what(node)
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
            raise self._reject(
                node,
                "cond.not_yes_no",
                Msg("cond.compare_it", name=name),
                name=name,
                what=vtype.describe(),
            )
        if name in scope.parameters:
            raise self._reject(
                node, "cond.parameter_alone", Msg("cond.compare_with", name=name), name=name
            )
        if name in _BOOL_WORDS:
            raise self._reject(node, "cond.word_alone", _EXAMPLE, name=name)
        raise self._unknown(node)

    def _compare(self, node: ast.Compare) -> Condition:
        if len(node.ops) != 1:
            raise self._reject(node, "cond.chained", Msg("cond.chained_hint"), text=self.text)
        op = _AST_COMPARE[type(node.ops[0])]
        left, ltype = self._expr(node.left)
        right_node = node.comparators[0]
        if op in ("in", "not in"):
            right, rtype = self._choices(right_node, ltype)
        else:
            right, rtype = self._expr(right_node)
        self._check_types(node, op, left, ltype, right, rtype)
        from .walk import facts_in, parameters_in

        if not facts_in(left) and not facts_in(right):
            raise self._reject(
                node, "cond.reads_no_fact", Msg("cond.reads_no_fact_hint"), text=self.text
            )
        reads, base = self._leaf_reads(left, right)
        params = tuple(dict.fromkeys((*parameters_in(left), *parameters_in(right))))
        kind = "text" if ltype.kind == "text" else "number"
        return Comparison(
            self.text, self.location, self.clause, left, op, right, reads, base, params, kind
        )

    def _check_types(
        self, node: ast.Compare, op: str, left: Expr, lt: ValueType, right: Expr, rt: ValueType
    ) -> None:
        if op in ("in", "not in"):  # the list is of texts (_choices): each must be a choice
            self._check_choice(node, left, right)
            return
        ordering = op in ("<", "<=", ">", ">=")
        flags = [e for e, t in ((left, lt), (right, rt)) if t.kind == "bool"]
        if flags:  # a yes/no fact is a condition on its own: 'hnte_valid', 'not hnte_valid'
            named = next((e for e in flags if isinstance(e, FactRef)), flags[0])
            hint = (
                Msg("cond.write_flag", name=str(named)) if isinstance(named, FactRef) else _EXAMPLE
            )
            if lt.kind == rt.kind and not ordering:  # == true, != other_flag: not a number
                raise self._reject(node, "cond.flag_compared", hint, text=self.text, op=op)
            if not isinstance(named, FactRef):  # a number or a text compared with true / false
                raise self._reject(
                    node,
                    "cond.kind_clash",
                    Msg("cond.same_kind"),
                    text=self.text,
                    a=lt.describe(),
                    b=rt.describe(),
                )
            raise self._reject(
                node,
                "cond.bool_clash",
                hint,
                text=self.text,
                name=str(named),
                op=op,
                other=str(right if named is left else left),
            )
        if ordering and (lt.kind != "number" or rt.kind != "number"):
            raise self._reject(
                node,
                "cond.needs_numbers",
                Msg("cond.found", a=lt.describe(), b=rt.describe()),
                text=self.text,
                op=op,
            )
        if lt.kind != rt.kind:
            raise self._reject(
                node,
                "cond.kind_clash",
                Msg("cond.same_kind"),
                text=self.text,
                a=lt.describe(),
                b=rt.describe(),
            )
        if lt.kind == "number" and lt.unit and rt.unit and lt.unit != rt.unit:
            raise self._reject(
                node, "cond.unit_clash", Msg("cond.same_unit"), text=self.text, a=lt.unit, b=rt.unit
            )
        if lt.kind == "text":
            self._check_choice(node, left, right)

    def _check_choice(self, node: ast.AST, left: Expr, right: Expr) -> None:
        for fact_side, const_side in ((left, right), (right, left)):
            if not (isinstance(fact_side, FactRef) and isinstance(const_side, Const)):
                continue
            allowed = self.scope.choices.get(fact_side.name)
            literal = const_side.literal
            for value in literal if isinstance(literal, tuple) else (literal,):
                if allowed is not None and value not in allowed:
                    hint = did_you_mean(str(value), allowed) or Msg(
                        "hint.one_of", names="、".join(sorted(allowed))
                    )
                    raise self._reject(
                        node, "cond.unknown_choice", hint, value=value, fact=fact_side.name
                    )

    def _choices(self, node: ast.expr, ltype: ValueType) -> tuple[Expr, ValueType]:
        if not isinstance(node, (ast.List, ast.Tuple)):
            raise self._reject(node, "cond.in_needs_list", Msg("cond.in_example"), text=self.text)
        if ltype.kind != "text":  # a number is compared with a range: <=, >=, ==
            raise self._reject(node, "cond.in_text_only", Msg("cond.in_numbers"), text=self.text)
        items = []
        for elt in node.elts:
            if not isinstance(elt, ast.Constant) or isinstance(elt.value, bool):
                raise self._reject(
                    elt, "cond.plain_value", Msg("cond.plain_value_hint"), text=self._snippet(elt)
                )
            items.append(elt.value)
        if not all(isinstance(v, str) for v in items):
            raise self._reject(node, "cond.list_kind", ltype.describe(), text=self.text)
        return Const(tuple(items)), ltype

    # expressions

    def _call(self, node: ast.Call) -> tuple[Expr, ValueType]:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        if name not in _FUNCTIONS or node.keywords:
            raise self._reject(node, "cond.call", Msg("cond.call_hint"), text=self._snippet(node))
        if len(node.args) < 2:
            raise self._reject(
                node,
                "cond.call_two",
                Msg("cond.call_two_hint", name=name),
                text=self._snippet(node),
            )
        args = []
        unit: str | None = None
        for arg in node.args:
            expr, vtype = self._expr(arg)
            if vtype.kind != "number":
                raise self._reject(
                    arg,
                    "cond.call_numbers",
                    Msg("cond.found_one", a=vtype.describe()),
                    name=name,
                    text=self._snippet(node),
                )
            if unit and vtype.unit and vtype.unit != unit:
                raise self._reject(
                    node,
                    "cond.call_units",
                    Msg("cond.same_unit_all"),
                    text=self._snippet(node),
                    a=unit,
                    b=vtype.unit,
                )
            unit = unit or vtype.unit
            args.append(expr)
        return Func(str(name), tuple(args)), ValueType("number", unit)

    def _name(self, node: ast.Name) -> tuple[Expr, ValueType]:
        scope = self.scope
        name = node.id
        if name in scope.facts:
            return FactRef(name), scope.facts[name]
        if name in scope.parameters:
            vtype = scope.parameters[name]
            if vtype.kind != "number":
                raise self._reject(
                    node, "cond.table_in_formula", Msg("cond.single_value"), name=name
                )
            return ParamRef(name, percent=vtype.unit == "%"), vtype
        if name in _BOOL_WORDS:
            return Const(_BOOL_WORDS[name]), BOOL
        if name in scope.categories:
            raise self._reject(
                node, "cond.category_in_expr", Msg("cond.category_alone", name=name), name=name
            )
        raise self._unknown(node)

    def _expr(self, node: ast.expr) -> tuple[Expr, ValueType]:
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool):
                return Const(value), BOOL
            if isinstance(value, (int, float)):
                if value not in (0, 1):
                    self.figures.append(node)
                return Const(value), NUMBER
            if isinstance(value, str):
                return Const(value), TEXT
            raise self._reject(node, "cond.bad_constant", _EXAMPLE, text=self._snippet(node))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner, vtype = self._expr(node.operand)
            if vtype.kind != "number":
                raise self._reject(
                    node, "cond.sign", Msg("vtype.number"), what=vtype.describe(), text=self.text
                )
            if isinstance(node.op, ast.UAdd):
                return inner, vtype
            if isinstance(inner, Const):
                return Const(-inner.literal), vtype
            return Negate(inner), vtype
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        raise self._reject(
            node,
            "cond.not_allowed",
            Msg("cond.allowed"),
            text=self._snippet(node),
            what=_what(node),
        )

    def _binop(self, node: ast.BinOp) -> tuple[Expr, ValueType]:
        op = _AST_ARITH.get(type(node.op))
        if op is None:
            raise self._reject(
                node,
                "cond.operator",
                Msg("cond.operator_hint"),
                text=self._snippet(node),
                op=_AST_REFUSED.get(type(node.op), "?"),
            )
        left, lt = self._expr(node.left)
        right, rt = self._expr(node.right)
        if op == "*" and any(
            isinstance(e, Const) and type(e.literal) in (int, float) and e.literal == 0
            for e in (left, right)
        ):
            raise self._reject(
                node, "cond.times_zero", Msg("cond.no_zero"), text=self._snippet(node)
            )
        if lt.kind != "number" or rt.kind != "number":
            raise self._reject(
                node,
                "cond.arith_numbers",
                Msg("cond.found", a=lt.describe(), b=rt.describe()),
                op=op,
                text=self._snippet(node),
            )
        if op == "*":
            lu, ru = _measure_unit(lt.unit), _measure_unit(rt.unit)
            if lu and ru:
                raise self._reject(
                    node, "cond.two_units", Msg("cond.two_units_hint"), text=self._snippet(node)
                )
            unit = lu or ru or lt.unit or rt.unit
        else:
            if lt.unit and rt.unit and lt.unit != rt.unit:
                raise self._reject(
                    node,
                    "cond.arith_units",
                    Msg("cond.same_unit"),
                    text=self._snippet(node),
                    a=lt.unit,
                    op=op,
                    b=rt.unit,
                )
            unit = lt.unit or rt.unit
        return Arith(op, left, right), ValueType("number", unit)


def group(kind: str, location: Location, clause: str, parts: tuple[Condition, ...]) -> Condition:
    """``all`` / ``any`` / ``not`` of already compiled parts (the YAML lists around the lines)."""
    from .tree import AnyOf

    if kind == "any":
        return AnyOf("any", location, clause, parts)
    if kind == "not":
        return NotOf(
            "not",
            location,
            clause,
            parts[0] if len(parts) == 1 else AllOf("all", location, clause, parts),
        )
    return AllOf("all", location, clause, parts)
