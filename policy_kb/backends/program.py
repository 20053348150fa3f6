"""The column back-end's compiler: the rule tree → a program for the machine of ``_vm.c``.

A :class:`~policy_kb.rules.walk.Visitor` like every back-end: each node class says which
instructions it stands for. An expression becomes the range of its value per row, a pair of
registers ``(lo, hi)`` — one register twice where every fact it reads is known in the batch, a
number where it reads none — and a condition a pair of byte registers ``(true, false)``: the
rows where it certainly holds and where it certainly fails (Kleene's logic as plain mask
algebra; a row in neither is undetermined). What a batch gives of each fact (nothing, some
rows, every row) is known before it runs, so a program is made for that :class:`Layout` and the
parameter values of a year, and kept: a roster's batches share one.

Exactness is the machine's, stated here once: numbers are doubles (every whole number below
2**53 is one, so a bound is never passed by rounding); a ratio within a rounding error of a tier
is compared again in 128-bit integers where both sides are whole; an amount is rounded to the fen
from its double unless its rounding error — ``gamma`` (the formula's operations × 2**-52) times
its magnitude bound (:class:`_Magnitude`) — could reach a half fen, and then by its exact program
(:class:`_Exact`: whole numbers of 10**-e in 128-bit integers, the exponent known here, run for
that row alone) and rounded half up. A row the machine cannot decide exactly (a number that is
not whole, lying within a rounding error of a tier or of a half fen) is marked *undecided* and
answered by the per-profile engine.

After the tree is walked, unused instructions are dropped and registers are reused once their
value is read for the last time, so a chunk's registers fit in the processor's cache.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, auto
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..policy.model import FactType, ParameterValue, PolicyModel, Tier
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
    NotOf,
    ParamRef,
    Score,
    Total,
)
from ..rules.walk import Visitor, exact_number, walk

WIDTH = 10  # int32 words per instruction (the machine's WIDTH)
INF = math.inf

#: what a batch gives of a fact
ABSENT, SOME, EVERY = 0, 1, 2


class Op(IntEnum):
    """The machine's instructions, numbered as in ``_vm.c`` (which exports its table as
    ``_vm.OPS``; a test holds the two equal)."""

    FILL_D = auto()
    FILL_B = auto()
    LOAD_D = auto()
    LOAD_K = auto()
    LOAD_B = auto()
    ADD = auto()
    SUB = auto()
    MUL = auto()
    MUL0 = auto()
    NEG = auto()
    ABS = auto()
    MAX = auto()
    MIN = auto()
    SEL = auto()
    LT = auto()
    LE = auto()
    GT = auto()
    GE = auto()
    EQ = auto()
    NE = auto()
    AND = auto()
    OR = auto()
    ANDNOT = auto()
    NOT = auto()
    ZERO_B = auto()
    TIERS = auto()
    RATIO = auto()
    STATUS = auto()
    QUALIFIES = auto()
    ROUTE = auto()
    STORE_I16 = auto()
    STORE_B = auto()
    AMOUNT = auto()
    STORE_D = auto()
    # an amount's exact program, run for one row at a time (registers: 128-bit integers)
    X_LOAD = 64  # the exact program's instructions from here
    X_CONST = auto()
    X_SCALE = auto()
    X_ADD = auto()
    X_SUB = auto()
    X_MUL = auto()
    X_NEG = auto()
    X_MAX = auto()
    X_MIN = auto()


#: each instruction's operands: a register written (``D>``), read (``D<``) or both (``B=``) —
#: D doubles, B bytes — an immediate (``i``), an output (``o``), an exact program's register
#: (``x``) or the registers an amount's exact program reads (``*``, not written in the code)
ROLES: dict[Op, tuple[str, ...]] = {
    Op.FILL_D: ("D>", "i"),
    Op.FILL_B: ("B>", "i"),
    Op.LOAD_D: ("D>", "i"),
    Op.LOAD_K: ("B>", "i"),
    Op.LOAD_B: ("B>", "i"),
    **dict.fromkeys((Op.ADD, Op.SUB, Op.MUL, Op.MUL0, Op.MAX, Op.MIN), ("D>", "D<", "D<")),
    Op.NEG: ("D>", "D<"),
    Op.ABS: ("D>", "D<"),
    Op.SEL: ("D>", "B<", "D<", "D<"),
    **dict.fromkeys((Op.LT, Op.LE, Op.GT, Op.GE, Op.EQ, Op.NE), ("B>", "D<", "D<")),
    **dict.fromkeys((Op.AND, Op.OR, Op.ANDNOT), ("B>", "B<", "B<")),
    Op.NOT: ("B>", "B<"),
    Op.ZERO_B: ("B>",),
    Op.TIERS: ("D>", "D<", "i"),
    Op.RATIO: ("D>", "D<", "D<", "i", "i", "B="),
    Op.STATUS: ("o", "B<", "B<"),
    Op.QUALIFIES: ("o", "B<", "B<"),
    Op.ROUTE: ("o", "B<", "B<"),
    Op.STORE_I16: ("o", "D<"),
    Op.STORE_B: ("o", "B<"),
    Op.AMOUNT: ("D>", "D<", "B<", "D<", "D<", "D<", "i", "i", "B=", "*"),
    Op.STORE_D: ("o", "D<"),
    Op.X_LOAD: ("x", "D<", "B<"),
    Op.X_CONST: ("x", "i"),
    Op.X_SCALE: ("x", "x", "i"),
    **dict.fromkeys((Op.X_ADD, Op.X_SUB, Op.X_MUL, Op.X_MAX, Op.X_MIN), ("x", "x", "x")),
    Op.X_NEG: ("x", "x"),
}
#: instructions that read their whole chunk before they write (not in place)
_WHOLE_CHUNK = frozenset({Op.TIERS, Op.RATIO, Op.AMOUNT})
_EFFECTS = frozenset({Op.STATUS, Op.QUALIFIES, Op.ROUTE, Op.STORE_I16, Op.STORE_B, Op.STORE_D})
_COMPARE = {"<": Op.LT, "<=": Op.LE, ">": Op.GT, ">=": Op.GE, "==": Op.EQ, "!=": Op.NE}
_FOLD: dict[Op, Callable[[float, float], Any]] = {
    Op.ADD: lambda a, b: a + b,
    Op.SUB: lambda a, b: a - b,
    Op.MUL: lambda a, b: a * b,
    Op.MAX: lambda a, b: float(np.maximum(a, b)),
    Op.MIN: lambda a, b: float(np.minimum(a, b)),
    Op.LT: lambda a, b: a < b,
    Op.LE: lambda a, b: a <= b,
    Op.GT: lambda a, b: a > b,
    Op.GE: lambda a, b: a >= b,
    Op.EQ: lambda a, b: a == b,
    Op.NE: lambda a, b: a != b,
}
_X_LIMIT = 36  # the largest exponent of an exact amount (10**36 < 2**127)
_X_REGISTERS = 256  # the most registers an exact program may use (the machine's XREGS)


class Reg:
    """A register of the program before allocation: its kind (``D`` doubles, ``B`` bytes)."""

    __slots__ = ("kind", "pinned")

    def __init__(self, kind: str, pinned: bool = False) -> None:
        self.kind, self.pinned = kind, pinned


Num = float | Reg  # a number for every row, or a register
Truth = bool | Reg
Span = tuple[Num, Num]
Masks = tuple[Truth, Truth]


@dataclass(frozen=True)
class Layout:
    """What one batch gives of each fact, in the model's order: ABSENT, SOME rows or EVERY row."""

    states: tuple[int, ...]


@dataclass(frozen=True)
class TextTest:
    """An input the machine cannot compute: a comparison of a text fact, done over the batch's
    texts by the caller (its hit as the input's values, the text's presence as its gaps)."""

    node: Comparison

    @property
    def facts(self) -> tuple[str, ...]:
        """The text facts compared: one with a literal on either side, or two."""
        return tuple(e.name for e in (self.node.left, self.node.right) if isinstance(e, FactRef))


@dataclass(frozen=True)
class Output:
    """An array the program writes, every row of it: its key and its numpy type."""

    key: tuple[Any, ...]
    dtype: str


@dataclass
class Program:
    """A compiled program: the machine's arguments, the inputs it reads and what it writes."""

    init: NDArray[np.int32]
    body: NDArray[np.int32]
    xcode: NDArray[np.int32]  # the amounts' exact programs
    sizes: tuple[int, int]  # machine registers: doubles, bytes
    dconst: NDArray[np.float64]
    xconst: NDArray[np.int64]
    dtab: NDArray[np.float64]
    xtab: NDArray[np.int64]
    inputs: tuple[str | TextTest, ...]
    outputs: tuple[Output, ...]
    params: Mapping[str, ParameterValue] = field(repr=False)

    def output_arrays(self, n: int) -> list[NDArray[Any]]:
        """Fresh arrays for the outputs of ``n`` rows."""
        return [np.empty(n, dtype=o.dtype) for o in self.outputs]


#: what a program is asked for: every answer of a benefit, the pre-check and the amounts
#: (``ANSWERS``), or the masks of some conditions (a tuple of nodes)
ANSWERS = "answers"


class _Compiler(Visitor[Any]):
    """The rule tree as instructions, for one layout and one year's parameter values."""

    def __init__(
        self, model: PolicyModel, layout: Layout, params: Mapping[str, ParameterValue]
    ) -> None:
        super().__init__()
        self.model, self.params = model, params
        self.state = dict(zip(model.facts, layout.states, strict=True))
        self.init: list[tuple[Op, tuple[Any, ...]]] = []
        self.body: list[tuple[Op, tuple[Any, ...]]] = []
        self.inputs: list[str | TextTest] = []
        self.outputs: list[Output] = []
        self.dconst: list[float] = []
        self.xconst: list[int] = []
        self.xcode: list[tuple[Op, tuple[Any, ...]]] = []
        self.dtab: list[float] = []
        self.xtab: list[int] = []
        self._consts: dict[tuple[str, Any], Reg] = {}
        self._cse: dict[tuple[Any, ...], Reg] = {}
        self._spans: dict[str, Span] = {}
        self._raw: dict[str, tuple[Reg, Truth]] = {}
        self._input_of: dict[Any, int] = {}
        self._tables: dict[tuple[Any, ...], tuple[int, int]] = {}
        self._derived = {k: d.formula for k, d in model.derived.items()}
        self.undecided = self.emit(Op.ZERO_B, Reg("B"))

    # ── instructions ─────────────────────────────────────────────────────────────────────

    def emit(self, op: Op, *operands: Any) -> Any:
        """Append an instruction; its first operand when that is a register it writes."""
        self.body.append((op, operands))
        return operands[0]

    def constant(self, value: float | bool, kind: str = "D") -> Reg:
        """A register holding ``value`` on every row (filled once, before the first chunk)."""
        key = (kind, repr(float(value) if kind == "D" else bool(value)))
        found = self._consts.get(key)
        if found is None:
            found = self._consts[key] = Reg(kind, pinned=True)
            if kind == "D":
                self.init.append((Op.FILL_D, (found, self.number(float(value)))))
            else:
                self.init.append((Op.FILL_B, (found, int(bool(value)))))
        return found

    def number(self, value: float) -> int:
        """A place in ``dconst`` holding ``value``."""
        self.dconst.append(value)
        return len(self.dconst) - 1

    def _reg(self, x: Num | Truth, kind: str) -> Reg:
        return x if isinstance(x, Reg) else self.constant(x, kind)

    def d(self, op: Op, a: Num, b: Num) -> Num:
        """A binary operation on numbers (folded when both are known here, shared when asked
        twice)."""
        if not isinstance(a, Reg) and not isinstance(b, Reg):
            folded: float = _FOLD[op](a, b)
            return folded
        return self._shared(op, "D", self._reg(a, "D"), self._reg(b, "D"))

    def compare(self, op: Op, a: Num, b: Num) -> Truth:
        if not isinstance(a, Reg) and not isinstance(b, Reg):
            hit: bool = _FOLD[op](a, b)
            return hit
        return self._shared(op, "B", self._reg(a, "D"), self._reg(b, "D"))

    def _shared(self, op: Op, kind: str, *args: Any) -> Reg:
        key = (op, *args)
        found = self._cse.get(key)
        if found is None:
            found = self._cse[key] = self.emit(op, Reg(kind), *args)
        return found

    def and_(self, a: Truth, b: Truth) -> Truth:
        return self._join(Op.AND, False, a, b)

    def or_(self, a: Truth, b: Truth) -> Truth:
        return self._join(Op.OR, True, a, b)

    def _join(self, op: Op, absorbing: bool, a: Truth, b: Truth) -> Truth:
        """``a op b``, a constant side folded: ``absorbing`` decides it (False for and, True
        for or), its opposite leaves the other side."""
        if a is absorbing or b is absorbing:
            return absorbing
        if a is (not absorbing):
            return b
        if b is (not absorbing):
            return a
        return self._shared(op, "B", a, b)

    def not_(self, a: Truth) -> Truth:
        if isinstance(a, bool):
            return not a
        return self._shared(Op.NOT, "B", a)

    def and_not(self, a: Truth, b: Truth) -> Truth:
        if isinstance(b, bool):
            return a if b is False else False
        if a is False:
            return False
        if a is True:
            return self.not_(b)
        return self._shared(Op.ANDNOT, "B", a, b)

    def select(self, where: Truth, a: Num, b: Num) -> Num:
        if isinstance(where, bool):
            return a if where else b
        if a is b:
            return a
        return self._shared(Op.SEL, "D", where, self._reg(a, "D"), self._reg(b, "D"))

    def neg(self, a: Num) -> Num:
        return -a if not isinstance(a, Reg) else self._shared(Op.NEG, "D", a)

    def times(self, a: Num, b: Num) -> Num:
        """``a × b``, 0 × ∞ read as 0 (a bound times nothing) unless one side is a plain number."""
        plain = _finite_nonzero(a) or _finite_nonzero(b)
        if not isinstance(a, Reg) and not isinstance(b, Reg):
            product = a * b
            return 0.0 if math.isnan(product) and not plain else product
        return self._shared(Op.MUL if plain else Op.MUL0, "D", self._reg(a, "D"), self._reg(b, "D"))

    def table(self, tiers: tuple[Tier, ...]) -> tuple[int, int]:
        """A score table's place in ``dtab`` and ``xtab`` (ascending, at_least inclusive)."""
        steps = sorted(tiers, key=lambda t: t.at_least)
        key = tuple((t.at_least, t.points) for t in steps)
        found = self._tables.get(key)
        if found is None:
            ats = [float(t.at_least) for t in steps]
            points = [0.0, *(float(t.points) for t in steps)]
            d_at = len(self.dtab)
            self.dtab += [float(len(steps)), *ats, *points]
            exact = [exact_number(t.at_least) for t in steps]
            scale = max((max(0, -int(e.as_tuple().exponent)) for e in exact), default=0)
            whole = [int(e.scaleb(scale)) for e in exact]
            if scale > 16 or any(abs(w) >= 2**62 for w in whole):
                scale = -1  # too many decimals for integers: doubles, undecided rows aside
            x_at = len(self.xtab)
            self.xtab += [len(steps), scale, *(whole if scale >= 0 else [0] * len(steps))]
            found = self._tables[key] = (d_at, x_at)
        return found

    def input(self, key: str | TextTest) -> int:
        found = self._input_of.get(key)
        if found is None:
            found = self._input_of[key] = len(self.inputs)
            self.inputs.append(key)
        return found

    def output(self, key: tuple[Any, ...], dtype: str) -> int:
        self.outputs.append(Output(key, dtype))
        return len(self.outputs) - 1

    # ── facts ────────────────────────────────────────────────────────────────────────────

    def raw(self, name: str) -> tuple[Reg, Truth]:
        """A given fact's value register and where it is given (True: on every row)."""
        found = self._raw.get(name)
        if found is None:
            slot = self.input(name)
            flag = self.model.facts[name].type is FactType.BOOL
            value = self.emit(Op.LOAD_B if flag else Op.LOAD_D, Reg("B" if flag else "D"), slot)
            given: Truth = True
            if self.state[name] != EVERY:
                given = self.emit(Op.LOAD_K, Reg("B"), slot)
            found = self._raw[name] = (value, given)
        return found

    def span(self, name: str) -> Span:
        """The range of a number fact per row: its value where given, else what its domain allows."""
        found = self._spans.get(name)
        if found is None:
            found = self._spans[name] = self._span(name)
        return found

    def _span(self, name: str) -> Span:
        fact = self.model.facts[name]
        state = self.state[name]
        if state == EVERY:
            value = self.raw(name)[0]
            return (value, value)
        lo: Num = -INF if fact.minimum is None else float(fact.minimum)
        for other in self.model.facts.values():  # tech_staff ≤ employees: a floor of employees
            if other.maximum == name and self.state[other.id] != ABSENT:
                below, given = self.raw(other.id)
                lo = self.d(Op.MAX, lo, self.select(given, below, lo))
        if isinstance(fact.maximum, str):
            top: Num = self.span(fact.maximum)[1]
        else:
            top = INF if fact.maximum is None else float(fact.maximum)
        if state == ABSENT:
            return (lo, top)
        value, given = self.raw(name)
        return (self.select(given, value, lo), self.select(given, value, top))

    # ── expressions ──────────────────────────────────────────────────────────────────────

    def fact_ref(self, node: FactRef) -> Span:
        derived = self.model.derived.get(node.name)
        if derived is not None:
            span: Span = self.visit(derived.formula)
            return span
        return self.span(node.name)

    def param_ref(self, node: ParamRef) -> Span:
        value = self.params[node.name].value
        assert value is not None
        number = float(value / 100 if node.percent else value)
        return (number, number)

    def const(self, node: Const) -> Span:
        value = float(node.literal)
        return (value, value)

    def arith(self, node: Arith) -> Span:
        a, b = self.visit(node.left), self.visit(node.right)
        if node.op == "+":
            if _point(a) and _point(b):
                return _same(self.d(Op.ADD, a[0], b[0]))
            return (self.d(Op.ADD, a[0], b[0]), self.d(Op.ADD, a[1], b[1]))
        if node.op == "-":
            if _point(a) and _point(b):
                return _same(self.d(Op.SUB, a[0], b[0]))
            return (self.d(Op.SUB, a[0], b[1]), self.d(Op.SUB, a[1], b[0]))
        if _point(a) and _point(b):
            return _same(self.times(a[0], b[0]))
        if _point(a) or _point(b):  # a range times a value: its two ends
            span, point = (a, b[0]) if _point(b) else (b, a[0])
            ends = self.times(span[0], point), self.times(span[1], point)
            return self.d(Op.MIN, *ends), self.d(Op.MAX, *ends)
        products = [self.times(x, y) for x in a for y in b]
        return self._fold(Op.MIN, products), self._fold(Op.MAX, products)

    def _fold(self, op: Op, values: Sequence[Num]) -> Num:
        out = values[0]
        for v in values[1:]:
            out = self.d(op, out, v)
        return out

    def negate(self, node: Negate) -> Span:
        a = self.visit(node.operand)
        if _point(a):
            return _same(self.neg(a[0]))
        return (self.neg(a[1]), self.neg(a[0]))

    def func(self, node: Func) -> Span:
        pick = Op.MAX if node.name == "max" else Op.MIN
        parts = [self.visit(x) for x in node.args]
        lo, hi = parts[0]
        for p in parts[1:]:
            lo, hi = self.d(pick, lo, p[0]), self.d(pick, hi, p[1])
        return (lo, hi)

    def score(self, node: Score) -> Span:
        tiers = self.params[node.table].tiers
        d_at, x_at = self.table(tiers)
        n = self.visit(node.numerator)
        if node.denominator is None:
            return (self._tiers(n[0], d_at), self._tiers(n[1], d_at))
        d = self.visit(node.denominator)
        if _point(n) and _point(d):  # every fact known: one ratio (a zero denominator scores 0)
            return _same(self._ratio(n[0], d[0], d_at, x_at))
        top = float(max(t.points for t in tiers))
        low = self._ratio(n[0], d[1], d_at, x_at)
        high = self._ratio(n[1], d[0], d_at, x_at)
        low = self.select(
            self.compare(Op.EQ, d[0], 0.0), 0.0, low
        )  # a denominator that may be 0 may not count
        maybe = self.select(self.compare(Op.GT, n[1], 0.0), top, 0.0)
        high = self.select(
            self.compare(Op.EQ, d[1], 0.0),
            0.0,
            self.select(self.compare(Op.EQ, d[0], 0.0), maybe, high),
        )
        return (low, high)

    def _tiers(self, x: Num, d_at: int) -> Num:
        return self._shared(Op.TIERS, "D", self._reg(x, "D"), d_at)

    def _ratio(self, num: Num, den: Num, d_at: int, x_at: int) -> Num:
        key = (Op.RATIO, self._reg(num, "D"), self._reg(den, "D"), d_at)
        found = self._cse.get(key)
        if found is None:
            found = self._cse[key] = self.emit(
                Op.RATIO, Reg("D"), key[1], key[2], d_at, x_at, self.undecided
            )
        return found

    def best(self, node: Best) -> Span:
        parts = [self.visit(p) for p in node.parts]
        return self._fold(Op.MAX, [p[0] for p in parts]), self._fold(Op.MAX, [p[1] for p in parts])

    def total(self, node: Total) -> Span:
        parts = [self.visit(p) for p in node.parts]
        return self._fold(Op.ADD, [p[0] for p in parts]), self._fold(Op.ADD, [p[1] for p in parts])

    # ── conditions ───────────────────────────────────────────────────────────────────────

    def comparison(self, node: Comparison) -> Masks:
        if node.kind == "text":
            return self._text(node)
        a, b = self.visit(node.left), self.visit(node.right)
        op = node.op
        if _point(a) and _point(b):
            hit = self.compare(_COMPARE[op], a[0], b[0])
            return hit, self.not_(hit)
        lt, le = self.compare(Op.LT, a[1], b[0]), self.compare(Op.LE, a[1], b[0])
        if op == "<=":
            return le, self.compare(Op.GT, a[0], b[1])
        if op == "<":
            return lt, self.compare(Op.GE, a[0], b[1])
        if op == ">=":
            return self.compare(Op.GE, a[0], b[1]), lt
        if op == ">":
            return self.compare(Op.GT, a[0], b[1]), le
        same = self.and_(
            self.and_(self.compare(Op.EQ, a[0], a[1]), self.compare(Op.EQ, b[0], b[1])),
            self.compare(Op.EQ, a[0], b[0]),
        )
        apart = self.or_(lt, self.compare(Op.LT, b[1], a[0]))
        return (same, apart) if op == "==" else (apart, same)

    def _text(self, node: Comparison) -> Masks:
        test = TextTest(node)
        if any(self.state.get(fact, ABSENT) == ABSENT for fact in test.facts):
            return False, False
        slot = self.input(test)
        hit = self.emit(Op.LOAD_B, Reg("B"), slot)
        given = self.emit(Op.LOAD_K, Reg("B"), slot)
        return self.and_(given, hit), self.and_not(given, hit)

    def flag(self, node: Flag) -> Masks:
        if self.state[node.fact] == ABSENT:
            return False, False
        value, given = self.raw(node.fact)
        hit = value if node.expected is True else self.not_(value)
        return self.and_(given, hit), self.and_not(given, hit)

    def category_ref(self, node: CategoryRef) -> Masks:
        masks: Masks = self.visit(self.model.categories[node.category].condition)
        return masks

    def all_of(self, node: AllOf) -> Masks:
        return self._group(node.parts, every=True)

    def any_of(self, node: AnyOf) -> Masks:
        return self._group(node.parts, every=False)

    def _group(self, parts: Sequence[Condition], every: bool) -> Masks:
        """All of the parts hold where every part holds and fail where one fails; any of them,
        the other way round (Kleene's logic: the two are each other's mirror)."""
        join_true, join_false = (self.and_, self.or_) if every else (self.or_, self.and_)
        true: Truth = every
        false: Truth = not every
        for t, f in (self.visit(p) for p in parts):
            true, false = join_true(true, t), join_false(false, f)
        return true, false

    def not_of(self, node: NotOf) -> Masks:
        true, false = self.visit(node.part)
        return false, true

    # ── what a program writes ────────────────────────────────────────────────────────────

    def store(self, key: tuple[Any, ...], value: Truth) -> None:
        self.emit(Op.STORE_B, self.output(key, "bool"), self._reg(value, "B"))

    def answers(self) -> None:
        """Every benefit's status, the pre-check and every amount."""
        for benefit in self.model.benefits.values():
            true, false = self.visit(benefit.condition)
            out = self.output(("status", benefit.id), "int8")
            self.emit(Op.STATUS, out, self._reg(true, "B"), self._reg(false, "B"))
        method = self.model.evaluation
        if method is not None:
            true, false = self.visit(method.rule)
            direct = self.visit(method.direct_rule)[0]
            low, high = self.visit(method.total)
            t, f = self._reg(true, "B"), self._reg(false, "B")
            self.emit(Op.QUALIFIES, self.output(("qualifies",), "int8"), t, f)
            self.emit(Op.ROUTE, self.output(("route",), "int8"), t, self._reg(direct, "B"))
            self.emit(Op.STORE_I16, self.output(("score_low",), "int16"), self._reg(low, "D"))
            self.emit(Op.STORE_I16, self.output(("score_high",), "int16"), self._reg(high, "D"))
        for benefit in self.model.benefits.values():
            if benefit.estimate is not None:
                self.estimate(benefit.estimate, self.visit(benefit.condition)[1])

    def estimate(self, estimate: Estimate, refused: Truth) -> None:
        """The amount per row: the first case whose ``when`` holds (NaN where none does).

        A case is worth nothing on a row where the benefit is refused, and a case whose
        ``when`` is still open there stops the search (no later case is reached)."""
        amount: Num = math.nan
        done = refused
        for case in estimate.cases:
            if case.when is None:
                true: Truth = True
                open_: Truth = False
            else:
                true, false = self.visit(case.when)
                open_ = self.not_(self.or_(true, false))
            if all(
                self.params.get(p) is not None and self.params[p].value is not None
                for p in case.parameters
            ):
                chosen = self.and_not(true, done)
                if chosen is not False:
                    amount = self._amount(amount, case.formula, chosen)
            if case.when is None:
                break
            done = self.or_(self.or_(done, true), open_)
        out = self.output(("amount", estimate.benefit), "float64")
        self.emit(Op.STORE_D, out, self._reg(amount, "D"))

    def _amount(self, before: Num, formula: Expr, chosen: Truth) -> Reg:
        """An amount: rounded from its double, where the rounding error (``gamma`` times the
        formula's magnitude) cannot reach a half fen; else from its exact program."""
        lo, hi = self.visit(formula)
        magnitude = _Magnitude(self).of(formula)
        operations = sum(1 for _ in walk(formula, None, self._derived)) + 2
        gamma = operations * 2.0**-52  # twice the first-order bound of the rounding error
        start = len(self.xcode)
        try:
            root, exp, reads = _Exact(self).program(formula)
            count = len(self.xcode) - start
        except _NoExact:
            del self.xcode[start:]
            root, exp, reads, count = 0, 2, (), -1
        meta = len(self.xtab)
        self.xtab += [start, count, root, exp]
        acc: Reg = self.emit(
            Op.AMOUNT,
            Reg("D"),
            self._reg(before, "D"),
            self._reg(chosen, "B"),
            self._reg(lo, "D"),
            self._reg(hi, "D"),
            self._reg(magnitude, "D"),
            meta,
            self.number(gamma),
            self.undecided,
            reads,
        )
        return acc

    def masks_of(self, nodes: Sequence[Condition]) -> None:
        """The (holds, fails) masks of each node."""
        for node in nodes:
            true, false = self.visit(node)
            self.store(("true", id(node)), true)
            self.store(("false", id(node)), false)

    # ── the program ──────────────────────────────────────────────────────────────────────

    def program(self) -> Program:
        self.emit(Op.STORE_B, self.output(("undecided",), "bool"), self.undecided)
        body = _live(self.body)
        registers = _allocate(self.init, body)
        return Program(
            _encode(self.init, registers),
            _encode(body, registers),
            _encode(self.xcode, registers),
            _sizes(registers),
            np.array(self.dconst or [0.0], dtype=np.float64),
            np.array(self.xconst or [0], dtype=np.int64),
            np.array(self.dtab or [0.0], dtype=np.float64),
            np.array(self.xtab or [0], dtype=np.int64),
            tuple(self.inputs),
            tuple(self.outputs),
            self.params,
        )


class _NoExact(Exception):
    """A formula the exact integers cannot compute (a node other than + − × min max, or
    numbers too long): its amounts are rounded from doubles, undecided rows aside."""


class _Exact:
    """A formula's exact program: each node an exact register (or a number known here) holding
    whole multiples of 10**-exp, the exponent fixed at compile time (facts are whole numbers, the
    parameters short decimals). The machine runs it for one row at a time, only where the
    double may round to the wrong fen."""

    def __init__(self, compiler: _Compiler) -> None:
        self.c = compiler
        self.memo: dict[int, tuple[int | _X, int]] = {}
        self.count = 0
        self.reads: dict[int, Reg] = {}

    def program(self, formula: Expr) -> tuple[int, int, tuple[Reg, ...]]:
        """Emit the program into the compiler's ``xcode``: (root register, exponent, the
        machine registers it reads)."""
        value, exp = self.of(formula)
        root = value if isinstance(value, _X) else self._const(value)
        return root.index, exp, tuple(self.reads.values())

    def _new(self) -> _X:
        if self.count >= _X_REGISTERS:
            raise _NoExact
        self.count += 1
        return _X(self.count - 1)

    def _emit(self, op: Op, *operands: Any) -> _X:
        out = self._new()
        self.c.xcode.append((op, (out, *operands)))
        return out

    def _const(self, value: int) -> _X:
        if abs(value) >= 2**63:
            raise _NoExact
        self.c.xconst.append(value)
        return self._emit(Op.X_CONST, len(self.c.xconst) - 1)

    def _x(self, value: int | _X) -> _X:
        return value if isinstance(value, _X) else self._const(value)

    def of(self, node: Expr) -> tuple[int | _X, int]:
        found = self.memo.get(id(node))
        if found is None:
            found = self.memo[id(node)] = self._of(node)
        return found

    def _of(self, node: Expr) -> tuple[int | _X, int]:
        c = self.c
        if isinstance(node, Const):
            return _fixed(node.literal)
        if isinstance(node, ParamRef):
            whole, exp = _fixed(c.params[node.name].value)
            return whole, exp + 2 if node.percent else exp
        if isinstance(node, FactRef):
            derived = c.model.derived.get(node.name)
            if derived is not None:
                return self.of(derived.formula)
            if c.state[node.name] == ABSENT:
                raise _NoExact
            value, given = c.raw(node.name)
            self.reads[id(value)] = value
            if isinstance(given, Reg):
                self.reads[id(given)] = given
            return self._emit(Op.X_LOAD, value, given if isinstance(given, Reg) else -1), 0
        if isinstance(node, Negate):
            x, exp = self.of(node.operand)
            return (-x if isinstance(x, int) else self._emit(Op.X_NEG, x)), exp
        if isinstance(node, Arith):
            (a, ea), (b, eb) = self.of(node.left), self.of(node.right)
            if node.op == "*":
                if ea + eb > _X_LIMIT:
                    raise _NoExact
                return self._binary(Op.X_MUL, a, b), ea + eb
            exp = max(ea, eb)
            a, b = self._scale(a, exp - ea), self._scale(b, exp - eb)
            return self._binary(Op.X_ADD if node.op == "+" else Op.X_SUB, a, b), exp
        if isinstance(node, Func):
            parts = [self.of(x) for x in node.args]
            exp = max(e for _, e in parts)
            values = [self._scale(x, exp - e) for x, e in parts]
            op = Op.X_MAX if node.name == "max" else Op.X_MIN
            out = values[0]
            for v in values[1:]:
                if isinstance(out, int) and isinstance(v, int):
                    out = max(out, v) if op is Op.X_MAX else min(out, v)
                else:
                    out = self._emit(op, self._x(out), self._x(v))
            return out, exp
        raise _NoExact

    def _scale(self, x: int | _X, power: int) -> int | _X:
        if power == 0:
            return x
        if power > _X_LIMIT:
            raise _NoExact
        if isinstance(x, int):
            return int(x * 10**power)
        return self._emit(Op.X_SCALE, x, power)

    def _binary(self, op: Op, a: int | _X, b: int | _X) -> int | _X:
        if isinstance(a, int) and isinstance(b, int):
            return a * b if op is Op.X_MUL else a + b if op is Op.X_ADD else a - b
        return self._emit(op, self._x(a), self._x(b))


class _X:
    """A register of an exact program (128 bits, one row at a time)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


class _Magnitude:
    """A bound on a formula's magnitude per row: the formula over its numbers' magnitudes, every
    − read as + (the rounding error of its doubles is at most this times ``gamma``)."""

    def __init__(self, compiler: _Compiler) -> None:
        self.c = compiler

    def of(self, node: Expr) -> Num:
        c = self.c
        if isinstance(node, Const):
            return abs(float(node.literal))
        if isinstance(node, ParamRef):
            return abs(c.param_ref(node)[0])  # type: ignore[arg-type]
        if isinstance(node, FactRef):
            derived = c.model.derived.get(node.name)
            if derived is not None:
                return self.of(derived.formula)
            lo = c.span(node.name)[0]
            return abs(lo) if not isinstance(lo, Reg) else c._shared(Op.ABS, "D", lo)
        if isinstance(node, Negate):
            return self.of(node.operand)
        if isinstance(node, Arith):
            a, b = self.of(node.left), self.of(node.right)
            return c.d(Op.MUL if node.op == "*" else Op.ADD, a, b)
        if isinstance(node, Func):
            parts = [self.of(x) for x in node.args]
            out = parts[0]
            for p in parts[1:]:
                out = c.d(Op.MAX, out, p)
            return out
        return INF  # not a formula of sums and products: every amount decided exactly


def _fixed(value: Any) -> tuple[int, int]:
    """A number as (whole, exp): ``whole · 10**-exp`` exactly, as it was written."""
    number = exact_number(value)
    exp = max(0, -int(number.as_tuple().exponent))
    whole = int(number.scaleb(exp))
    if exp > _X_LIMIT or abs(whole) >= 2**63:
        raise _NoExact
    return whole, exp


def _finite_nonzero(x: Any) -> bool:
    return isinstance(x, float) and x != 0 and math.isfinite(x)


def _point(span: Span) -> bool:
    return span[0] is span[1] or (not isinstance(span[0], Reg) and span[0] == span[1])


def _same(value: Num) -> Span:
    return (value, value)


# ── after the walk: dead instructions out, registers reused ──────────────────────────────────


def _operands(op: Op, operands: tuple[Any, ...], mark: str) -> list[Reg]:
    """The registers an instruction reads (``mark`` "<=") or writes (">")."""
    found: list[Reg] = []
    for role, x in zip(ROLES[op], operands, strict=True):
        if role == "*":
            if "<" in mark:
                found += x
        elif role[-1] in mark and isinstance(x, Reg):
            found.append(x)
    return found


def _live(body: list[tuple[Op, tuple[Any, ...]]]) -> list[tuple[Op, tuple[Any, ...]]]:
    """The instructions whose results are read by an output, in order."""
    needed: set[int] = set()
    kept: list[tuple[Op, tuple[Any, ...]]] = []
    for op, operands in reversed(body):
        writes = _operands(op, operands, ">")
        if op in _EFFECTS or any(id(r) in needed for r in writes):
            kept.append((op, operands))
            for r in _operands(op, operands, "<="):
                if isinstance(r, Reg):
                    needed.add(id(r))
    kept.reverse()
    return kept


def _allocate(
    init: list[tuple[Op, tuple[Any, ...]]], body: list[tuple[Op, tuple[Any, ...]]]
) -> dict[Reg, int]:
    """A machine register for each register of the program: constants keep theirs, the others
    take one freed by a value read for the last time. An instruction that works row by row may
    write where it reads; the others (:data:`_WHOLE_CHUNK`) write after reading the whole chunk
    and get a register of their own."""
    registers: dict[Reg, int] = {}
    used = {"D": 0, "B": 0}
    for _, operands in init:
        reg = operands[0]
        registers[reg] = used[reg.kind]
        used[reg.kind] += 1
    last: dict[int, int] = {}
    for i, (op, operands) in enumerate(body):
        for r in _operands(op, operands, "<="):
            last[id(r)] = i
    free: dict[str, list[int]] = {"D": [], "B": []}

    def release(op: Op, operands: tuple[Any, ...], i: int) -> None:
        for r in dict.fromkeys(_operands(op, operands, "<=")):
            if not r.pinned and last[id(r)] == i:
                free[r.kind].append(registers[r])

    for i, (op, operands) in enumerate(body):
        if op not in _WHOLE_CHUNK:
            release(op, operands, i)
        for r in _operands(op, operands, ">"):
            if free[r.kind]:
                registers[r] = free[r.kind].pop()
            else:
                registers[r] = used[r.kind]
                used[r.kind] += 1
            if id(r) not in last:  # written, never read (an output's side effect only)
                free[r.kind].append(registers[r])
        if op in _WHOLE_CHUNK:
            release(op, operands, i)
    return registers


def _sizes(registers: Mapping[Reg, int]) -> tuple[int, int]:
    """How many machine registers of each kind (doubles, bytes) a program uses."""
    d, b = (
        max((r for k, r in registers.items() if k.kind == kind), default=-1) + 1 for kind in "DB"
    )
    return d, b


def _encode(
    code: list[tuple[Op, tuple[Any, ...]]], registers: Mapping[Reg, int]
) -> NDArray[np.int32]:
    out = np.zeros((len(code), WIDTH), dtype=np.int32)
    for i, (op, operands) in enumerate(code):
        out[i, 0] = int(op)
        for j, (role, x) in enumerate(zip(ROLES[op], operands, strict=True)):
            if role == "*":
                continue
            out[i, j + 1] = (
                registers[x] if isinstance(x, Reg) else x.index if isinstance(x, _X) else int(x)
            )
    return out


def compile_program(
    model: PolicyModel,
    layout: Layout,
    params: Mapping[str, ParameterValue],
    wanted: str | tuple[Condition, ...] = ANSWERS,
) -> Program:
    """A program for batches of ``layout`` with the parameter values ``params``: every answer
    (:data:`ANSWERS`), or the masks of the conditions ``wanted``."""
    compiler = _Compiler(model, layout, params)
    if isinstance(wanted, str):
        compiler.answers()
    else:
        compiler.masks_of(wanted)
    return compiler.program()


class Programs:
    """Compiled programs, kept by parameter table, layout and what is asked (a roster's
    batches share one; a run of several years has one per year)."""

    def __init__(self, model: PolicyModel, most: int = 64) -> None:
        self.model, self.most = model, most
        self._kept: dict[tuple[int, Layout, Any], Program] = {}

    def get(
        self,
        layout: Layout,
        params: Mapping[str, ParameterValue],
        wanted: str | tuple[Condition, ...] = ANSWERS,
    ) -> Program:
        key = (id(params), layout, wanted if isinstance(wanted, str) else tuple(map(id, wanted)))
        found = self._kept.get(key)
        if found is None or found.params is not params:
            if len(self._kept) >= self.most:
                self._kept.clear()
            found = self._kept[key] = compile_program(self.model, layout, params, wanted)
        return found


__all__ = [
    "ABSENT",
    "ANSWERS",
    "EVERY",
    "SOME",
    "Layout",
    "Op",
    "Program",
    "Programs",
    "TextTest",
    "compile_program",
]
