"""One generic walk over the rule tree, and the questions every back-end asks of it.

A back-end subclasses :class:`Visitor` and says, in one method per node class, what that node
means to it (a closure to run, a pair of masks, an OWL class, a sentence, RDF triples…).
:meth:`Visitor.visit` dispatches by the node's class and remembers the answer for nodes met twice
(a category or a derived fact named by several conditions), so each is translated once.

The static questions — which facts a condition reads, which parameters, which comparisons, where a
formula bends — are plain generators over :func:`walk`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from .tree import (
    AllOf,
    AnyOf,
    Arith,
    Best,
    CategoryRef,
    Comparison,
    Condition,
    Const,
    Estimate,
    EstimateCase,
    Exclusive,
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

R = TypeVar("R")

#: node class → the name of the visitor method that handles it
METHODS: dict[type[Node], str] = {
    FactRef: "fact_ref",
    ParamRef: "param_ref",
    Const: "const",
    Arith: "arith",
    Negate: "negate",
    Func: "func",
    Score: "score",
    Best: "best",
    Total: "total",
    Comparison: "comparison",
    Flag: "flag",
    CategoryRef: "category_ref",
    AllOf: "all_of",
    AnyOf: "any_of",
    NotOf: "not_of",
    EstimateCase: "estimate_case",
    Estimate: "estimate",
    Exclusive: "exclusive",
}


class Visitor(Generic[R]):
    """A back-end: one method per node class (named in :data:`METHODS`), results memoised by node.

    ``memoise`` lists the node classes whose results are kept, by identity, for the life of the
    visitor (by default every node: a tree is a DAG where categories and derived facts are shared).
    """

    memoise: ClassVar[bool] = True

    def __init__(self) -> None:
        self._memo: dict[int, tuple[Node, R]] = {}

    def visit(self, node: Node) -> R:
        if self.memoise:
            found = self._memo.get(id(node))
            if found is not None:
                return found[1]
        method = getattr(self, METHODS[type(node)], None)
        if method is None:
            raise NotImplementedError(f"{type(self).__name__} cannot read a {type(node).__name__}")
        result: R = method(node)
        if self.memoise:
            self._memo[id(node)] = (node, result)  # the node is kept so its id stays unique
        return result


def walk(
    node: Node,
    categories: Mapping[str, Condition] | None = None,
    derived: Mapping[str, Expr] | None = None,
) -> Iterator[Node]:
    """Every node under ``node``, depth first in written order.

    With ``categories`` a category reference is followed into the category's conditions; with
    ``derived`` a derived fact into its formula.
    """
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        inner: tuple[Node, ...] = current.children()
        if categories is not None and isinstance(current, CategoryRef):
            inner = (categories[current.category],)
        elif derived is not None and isinstance(current, FactRef) and current.name in derived:
            inner = (derived[current.name],)
        stack.extend(reversed(inner))


def facts_in(
    node: Node,
    categories: Mapping[str, Condition] | None = None,
    derived: Mapping[str, Expr] | None = None,
) -> tuple[str, ...]:
    """The facts (profile or derived) an expression or condition names, in order; with
    ``categories`` / ``derived`` also those of the categories and formulas it refers to."""
    found: dict[str, None] = {}
    for n in walk(node, categories, derived):
        if isinstance(n, FactRef):
            found.setdefault(n.name)
        elif isinstance(n, Flag):
            found.setdefault(n.fact)
    return tuple(found)


def parameters_in(node: Node) -> tuple[str, ...]:
    """The parameters a tree refers to (categories not followed), in order."""
    found: dict[str, None] = {}
    for n in walk(node):
        if isinstance(n, ParamRef):
            found.setdefault(n.name)
        elif isinstance(n, Score):
            found.setdefault(n.table)
    return tuple(found)


def facts_of(condition: Node, categories: Mapping[str, Condition]) -> list[str]:
    """Every profile fact a condition tree depends on, categories and derived facts expanded."""
    found: dict[str, None] = {}
    for n in walk(condition, categories):
        if isinstance(n, Comparison):
            for fact in n.base:
                found.setdefault(fact)
        elif isinstance(n, Flag):
            found.setdefault(n.fact)
        elif isinstance(n, Score):
            for fact in facts_in(n):
                found.setdefault(fact)
    return list(found)


def comparisons_of(condition: Node) -> list[Comparison]:
    """Every comparison in a tree (categories not followed), in order."""
    return [n for n in walk(condition) if isinstance(n, Comparison)]


def categories_used(condition: Node) -> list[str]:
    """Every category a tree names directly."""
    return list(dict.fromkeys(n.category for n in walk(condition) if isinstance(n, CategoryRef)))


def leaves(condition: Condition) -> list[Condition]:
    """The leaf conditions of a tree (comparisons and yes/no facts), in order."""
    return [n for n in walk(condition) if isinstance(n, (Comparison, Flag))]


def kinks_of(expr: Expr) -> list[tuple[str, Expr]]:
    """Where a formula bends: ``min(fact, bound)``, ``max(0, fact - bound)`` → (fact, bound)."""
    found: list[tuple[str, Expr]] = []
    for e in walk(expr):
        if not isinstance(e, Func):
            continue
        fixed = [a for a in e.args if not facts_in(a)]
        for arg in e.args:
            if isinstance(arg, FactRef) and fixed:
                found += [(arg.name, bound) for bound in fixed]
            elif (
                isinstance(arg, Arith)
                and arg.op == "-"
                and isinstance(arg.left, FactRef)
                and not facts_in(arg.right)
            ):
                found.append((arg.left.name, arg.right))
    return found


def constant_value(expr: Expr, params: Mapping[str, Any]) -> Any:
    """The value of an expression that reads no fact (a bound of a condition), or None.

    ``params`` maps parameter ids to their values in the year (a percentage as written, 15 for 15 %).
    """
    return value_of(expr, params)


def exact_number(x: Any) -> Decimal:
    """A number as the exact decimal it was written as (a float by its shortest repr)."""
    if isinstance(x, Decimal):
        return x
    return Decimal(repr(float(x))) if isinstance(x, float) else Decimal(x)


class Known(Protocol):
    """What :func:`value_of` reads facts from: anything with ``get(fact)`` (a dict, a row)."""

    def get(self, name: str, /) -> Any: ...


def value_of(
    expr: Expr,
    params: Mapping[str, Any],
    facts: Known | None = None,
    derived: Mapping[str, Expr] | None = None,
    number: Callable[[Any], Any] = lambda x: x,
    pick: tuple[Callable[..., Any], Callable[..., Any]] = (max, min),
) -> Any:
    """The value of an expression from known values, or None when something it reads is unknown.

    ``facts`` maps fact ids to values (None: unknown), ``derived`` a derived fact to its formula;
    ``number`` converts each value read (``Decimal`` for exact arithmetic). ``pick`` is the
    (larger, smaller) of two values: ``np.maximum`` / ``np.minimum`` when the values are arrays
    (the column back-end evaluates many rows at once this way).
    """
    larger, smaller = pick

    def of(e: Expr) -> Any:
        if isinstance(e, Const):
            return number(e.literal)
        if isinstance(e, ParamRef):
            value = params.get(e.name)
            return None if value is None else number(value) / 100 if e.percent else number(value)
        if isinstance(e, FactRef):
            if derived is not None and e.name in derived:
                return of(derived[e.name])
            given = None if facts is None else facts.get(e.name)
            return None if given is None else number(given)
        parts = [of(c) for c in e.children() if isinstance(c, Expr)]
        if any(x is None for x in parts) or not parts:
            return None
        if isinstance(e, Negate):
            return -parts[0]
        if isinstance(e, Func):
            chosen = larger if e.name == "max" else smaller
            result = parts[0]
            for other in parts[1:]:
                result = chosen(result, other)
            return result
        if isinstance(e, Arith):
            a, b = parts
            return a + b if e.op == "+" else a - b if e.op == "-" else a * b
        return None

    return of(expr)


def as_written(condition: Condition, top: bool = False) -> Any:
    """A condition tree back in the shape of measures.yaml (texts and all/any/not)."""
    if condition.is_leaf or isinstance(condition, CategoryRef):
        return condition.text
    parts = [as_written(c) for c in condition.children() if isinstance(c, Condition)]
    if top:
        return parts
    if isinstance(condition, NotOf):
        return {"not": parts[0]}
    return {condition.text: parts}
