"""The rule tree: every rule of measures.yaml as one kind of data, read by every back-end.

Expressions give a number (or a text); conditions give a three-valued truth. The tech-SME
evaluation is written in the same nodes — :class:`Score` (a tier table), :class:`Best` (the
higher of several ways of scoring), :class:`Total` (a sum) and ordinary comparisons — and so are
the amounts (:class:`Estimate`) and the rule that two benefits cannot be taken together
(:class:`Exclusive`). A back-end (the per-profile trace, the column kernel, the OWL compiler, the
explanation, the RDF description) is a table of what each node class means to it; the walk over
the tree is the same for all of them (:mod:`policy_kb.rules.walk`).

Nodes are frozen and compared by identity: a node is one place in measures.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import Location
from ..records import Shown
from ..text import Text


class Node(Shown):
    """Base of every node of the rule tree."""

    __slots__ = ()

    def children(self) -> tuple[Node, ...]:
        """The direct sub-nodes, in the order they are written."""
        return ()


# ── expressions ──────────────────────────────────────────────────────────────────────────────


class Expr(Node):
    """A number (an amount, a count, a percentage, points) or a text."""

    __slots__ = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FactRef(Expr):
    """A fact of the profile, or a derived fact (whose formula is evaluated in its place)."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ParamRef(Expr):
    """A parameter's value in the evaluation year; a percentage reads as a fraction (15 % → 0.15)."""

    name: str
    percent: bool = False

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Const(Expr):
    """A number, a text, a yes/no or a list of texts written in a condition."""

    literal: Any

    def __str__(self) -> str:
        if isinstance(self.literal, bool):
            return "true" if self.literal else "false"
        if isinstance(self.literal, str):
            return repr(self.literal)
        if isinstance(self.literal, tuple):
            return "[" + ", ".join(str(Const(v)) for v in self.literal) + "]"
        return str(self.literal)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Arith(Expr):
    """``left + right``, ``left - right`` or ``left * right``."""

    op: str
    left: Expr
    right: Expr

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Negate(Expr):
    """``-operand``."""

    operand: Expr

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def __str__(self) -> str:
        return f"-{self.operand}"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Func(Expr):
    """``max(a, b, …)`` or ``min(a, b, …)``."""

    name: str
    args: tuple[Expr, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args

    def __str__(self) -> str:
        return f"{self.name}({', '.join(str(a) for a in self.args)})"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Score(Expr):
    """Points from a score table: a count read against it, or a ratio (as a percentage).

    ``table`` names a parameter whose dated values carry tiers (``at_least`` inclusive → points).
    A ratio whose denominator is 0 does not count: it scores 0.
    """

    table: str
    numerator: Expr
    denominator: Expr | None
    location: Location

    def children(self) -> tuple[Node, ...]:
        if self.denominator is None:
            return (self.numerator,)
        return (self.numerator, self.denominator)

    def __str__(self) -> str:
        if self.denominator is None:
            return f"{self.table}({self.numerator})"
        return f"{self.table}({self.numerator} / {self.denominator})"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Best(Expr):
    """A scored indicator: the highest of its ways of scoring counts (科技人员, 研发投入, 科技成果)."""

    id: str
    label: Text
    max_points: int
    parts: tuple[Score, ...]
    location: Location

    def children(self) -> tuple[Node, ...]:
        return self.parts

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Total(Expr):
    """The sum of its parts (the evaluation's total score)."""

    name: str
    parts: tuple[Expr, ...]

    def children(self) -> tuple[Node, ...]:
        return self.parts

    def __str__(self) -> str:
        return self.name


# ── conditions ───────────────────────────────────────────────────────────────────────────────


class Condition(Node):
    """A three-valued condition. ``text`` is the condition as written; ``clause`` its clause."""

    __slots__ = ()
    text: str
    location: Location
    clause: str

    @property
    def is_leaf(self) -> bool:
        return True


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Comparison(Condition):
    """``left OP right``: a leaf condition over facts, parameters and numbers (or a text)."""

    text: str
    location: Location
    clause: str
    left: Expr
    op: str
    right: Expr
    reads: tuple[str, ...]  # the facts it shows, derived ones with their inputs
    base: tuple[str, ...]  # the profile facts it depends on
    params: tuple[str, ...] = ()
    kind: str = "number"  # "number" or "text"

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def parameters(self) -> tuple[str, ...]:
        return self.params


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Flag(Condition):
    """A yes/no fact, required to be true (``hnte_valid``) or false (``not hnte_valid``)."""

    text: str
    location: Location
    clause: str
    fact: str
    expected: bool = True


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CategoryRef(Condition):
    """A named category (``sme_size``), defined once and referred to by name."""

    text: str
    location: Location
    clause: str
    category: str

    @property
    def is_leaf(self) -> bool:
        return False


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class AllOf(Condition):
    """Every part must hold (a plain list of conditions means the same)."""

    text: str
    location: Location
    clause: str
    parts: tuple[Condition, ...]

    @property
    def is_leaf(self) -> bool:
        return False

    def children(self) -> tuple[Node, ...]:
        return self.parts


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class AnyOf(Condition):
    """At least one part must hold."""

    text: str
    location: Location
    clause: str
    parts: tuple[Condition, ...]

    @property
    def is_leaf(self) -> bool:
        return False

    def children(self) -> tuple[Node, ...]:
        return self.parts


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class NotOf(Condition):
    """The part must not hold."""

    text: str
    location: Location
    clause: str
    part: Condition

    @property
    def is_leaf(self) -> bool:
        return False

    def children(self) -> tuple[Node, ...]:
        return (self.part,)


# ── what a benefit is worth, and what cannot be taken together ──────────────────────────────


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EstimateCase(Node):
    """One formula of an estimate, used when its ``when`` condition holds (always if None)."""

    when: Condition | None
    formula_text: str
    formula: Expr
    location: Location
    parameters: tuple[str, ...]

    def children(self) -> tuple[Node, ...]:
        return (self.formula,) if self.when is None else (self.when, self.formula)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Estimate(Node):
    """How much a benefit is worth (``cash``, ``tax_saving`` or ``deduction``): the first case
    whose ``when`` holds gives the amount, in exact decimals rounded to the fen."""

    benefit: str
    kind: str
    cases: tuple[EstimateCase, ...]
    note: Text | None
    location: Location

    def children(self) -> tuple[Node, ...]:
        return self.cases


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Exclusive(Node):
    """Two benefits that cannot be taken together: when both apply, only the larger amount counts."""

    first: str
    second: str
    location: Location

    @staticmethod
    def first_counts(first: Any, second: Any) -> Any:
        """Whether the first benefit's amount is the one counted when both apply: the larger
        one, and of two equal amounts the first. Amounts or numpy arrays of amounts alike (every
        back-end asks this one rule)."""
        return first >= second
