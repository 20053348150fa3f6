"""One generic walk over the rule tree, and the questions every back-end asks of it.

A back-end subclasses :class:`Visitor` and says, in one method per node class, what that node
means to it (a closure to run, a pair of masks, an OWL class, a sentence, RDF triples…).
:meth:`Visitor.visit` dispatches by the node's class and remembers the answer for nodes met twice
(a category or a derived fact named by several conditions), so each is translated once.

The static questions — which facts a condition reads, which parameters, which comparisons, where a
formula bends — are plain generators over :func:`walk`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Generic, TypeVar

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


def facts_in(node: Node) -> tuple[str, ...]:
    """The facts (profile or derived) an expression or condition names, in order."""
    found: dict[str, None] = {}
    for n in walk(node):
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
    if isinstance(expr, Const):
        return expr.literal
    if isinstance(expr, ParamRef):
        value = params.get(expr.name)
        return None if value is None else value / 100 if expr.percent else value
    if isinstance(expr, Negate):
        inner = constant_value(expr.operand, params)
        return None if inner is None else -inner
    if isinstance(expr, Arith):
        a, b = constant_value(expr.left, params), constant_value(expr.right, params)
        if a is None or b is None:
            return None
        return a + b if expr.op == "+" else a - b if expr.op == "-" else a * b
    return None


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
