"""What proves an answer: the facts that decided it, their evidence, and whether an enterprise
must apply with documents or could be granted the benefit from data the government holds.

A benefit is **免申即享 ready** (``no_application``) when it applies and every fact that decided it
is proven only by evidence the government already holds; it needs **documents** when it applies
or is undetermined and some deciding fact must be proven by the enterprise (evidence it provides,
or whose holder is not established); it is ``not_applicable`` when it does not apply. The tool
advises: the granting authority decides.

The facts that *decided* a condition are read off its record: all the parts of a group that
holds; for a group that fails, one part that fails (the one the government can prove, where
there is one); for an alternative that holds, one part that holds (likewise); for an open
question, every part not yet refuted. A derived fact stands for the facts it is computed from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..backends.trace import Trace
from ..policy.model import EvidenceType, PolicyModel, Status
from ..records import Valued
from ..rules.tree import AnyOf, CategoryRef, Comparison, Condition, Flag, NotOf
from ..rules.walk import facts_in

if TYPE_CHECKING:  # numpy is imported by the column form only: most answers never load it
    import numpy as np
    from numpy.typing import NDArray

    Bools = NDArray[np.bool_]

NO_APPLICATION, DOCUMENTS_NEEDED, NOT_APPLICABLE = (
    "no_application",
    "documents_needed",
    "not_applicable",
)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Application(Valued):
    """How a benefit would be granted: ``mode``, the documents the enterprise must provide, the
    evidence the government holds that decides (or would decide) it, and — for an undetermined
    benefit — ``requests``: the deciding facts the profile does not give although a government
    holder keeps them (what a 科技局 could ask another department for instead of the enterprise).
    """

    mode: str
    documents: tuple[EvidenceType, ...]
    government: tuple[EvidenceType, ...]
    requests: tuple[str, ...] = ()


def inputs(model: PolicyModel, fact: str) -> tuple[str, ...]:
    """The profile facts behind a fact (a derived fact's inputs, else the fact itself)."""
    derived = model.derived.get(fact)
    if derived is None:
        return (fact,)
    return tuple(f for name in derived.inputs for f in inputs(model, name))


def evidence_of(model: PolicyModel, facts: tuple[str, ...] | list[str]) -> tuple[EvidenceType, ...]:
    """The evidence types that prove ``facts`` (each once, in the order of measures.yaml)."""
    wanted = {f for name in facts for f in inputs(model, name)}
    return tuple(k for k in model.evidence if wanted & set(k.proves))


def _government(model: PolicyModel, facts: list[str] | tuple[str, ...]) -> bool:
    """True when the facts are proved by evidence and the government holds all of it (facts
    that no evidence type proves are not the government's to prove)."""
    kinds = evidence_of(model, facts)
    return bool(kinds) and all(k.held is True for k in kinds)


def government_fact(model: PolicyModel, fact: str) -> bool:
    """True when every evidence type that proves ``fact`` is held by the government."""
    return _government(model, (fact,))


def leaf_facts(node: Condition) -> tuple[str, ...]:
    """The facts a leaf condition reads (a derived fact by its own name)."""
    if isinstance(node, Flag):
        return (node.fact,)
    if isinstance(node, Comparison):
        return node.reads
    return ()


def deciding_facts(model: PolicyModel, trace: Trace) -> tuple[str, ...]:
    """The facts whose values decided the condition of ``trace`` (see the module's doc)."""
    found: dict[str, None] = {}
    for fact in _deciding(model, trace):
        found.setdefault(fact)
    return tuple(found)


def _deciding(model: PolicyModel, t: Trace) -> list[str]:
    node = t.condition
    group = model.categories[node.category].condition if isinstance(node, CategoryRef) else node
    if group.is_leaf:
        return [fact for name in leaf_facts(group) for fact in inputs(model, name)]
    parts, outcome = t.parts, t.outcome
    if isinstance(group, NotOf) or len(parts) == 1:
        return [f for p in parts for f in _deciding(model, p)]
    alternative = isinstance(group, AnyOf)
    settled = outcome is alternative
    if settled:  # one part settles it: one the government can prove, where there is one
        settling = [_deciding(model, p) for p in parts if p.outcome is outcome]
        return next((f for f in settling if _government(model, f)), settling[0])
    if alternative and outcome is None:  # the parts still open; the refuted ones do not count
        parts = tuple(p for p in parts if p.outcome is None)
    return [f for p in parts for f in _deciding(model, p)]


def application(model: PolicyModel, status: Status, trace: Trace) -> Application:
    """How a benefit with this status and record would be granted."""
    if status is Status.DOES_NOT_APPLY:
        return Application(NOT_APPLICABLE, (), ())
    deciding = deciding_facts(model, trace)
    # the evidence of a set of facts is the policy's: kept
    kinds = trace.record.plan.keep(("evidence of", deciding), evidence_of, model, deciding)
    documents = tuple(k for k in kinds if k.held is not True)
    government = tuple(k for k in kinds if k.held is True)
    ready = status is Status.APPLIES and not documents
    requests: tuple[str, ...] = ()
    if status is Status.UNDETERMINED:
        given = trace.record.values
        requests = tuple(f for f in deciding if given.get(f) is None and government_fact(model, f))
    mode = NO_APPLICATION if ready else DOCUMENTS_NEEDED
    return Application(mode, documents, government, requests)


def established(model: PolicyModel, values: Mapping[str, Any] | None) -> bool:
    """True when the profile already holds what the tech-SME evaluation establishes (this year's
    registration): the one thing its materials depend on besides the policy."""
    method = model.evaluation
    return (
        method is not None
        and method.establishes is not None
        and (values or {}).get(method.establishes) is True
    )


def materials(model: PolicyModel, values: Mapping[str, Any] | None = None) -> Application:
    """The materials of the tech-SME evaluation's own application: the evidence of every fact
    its rule reads (the evaluation is always applied for, so the mode is documents_needed) —
    ``not_applicable`` for a profile that already holds what the evaluation establishes (this
    year's registration)."""
    method = model.evaluation
    if method is None or established(model, values):
        return Application(NOT_APPLICABLE, (), ())
    categories = {k: c.condition for k, c in model.categories.items()}
    derived = {k: d.formula for k, d in model.derived.items()}
    kinds = evidence_of(model, facts_in(method.rule, categories, derived))
    return Application(
        DOCUMENTS_NEEDED,
        tuple(k for k in kinds if k.held is not True),
        tuple(k for k in kinds if k.held is True),
    )


# ── the same, over columns of enterprises ────────────────────────────────────────────────────


def deciding_columns(
    model: PolicyModel,
    condition: Condition,
    masks: Callable[[Condition], tuple[Bools, Bools]],
    n: int,
) -> dict[str, Bools]:
    """:func:`deciding_facts` for ``n`` rows at once: profile fact → the rows it decided.

    ``masks(node)`` gives a condition's (holds, fails) masks over the rows, as the column
    back-end computes them; the choice of the part that settles a group follows the rule of
    :func:`_deciding` row by row (a part the government can prove first, else the first one).
    """
    import numpy as np

    held = {f: government_fact(model, f) for f in model.facts}
    memo: dict[int, dict[str, Bools]] = {}

    def union(found: list[dict[str, Bools]], where: Bools | None = None) -> dict[str, Bools]:
        out: dict[str, Bools] = {}
        for part in found:
            for fact, rows in part.items():
                rows = rows if where is None else rows & where
                if fact in out:
                    out[fact] = out[fact] | rows
                else:
                    out[fact] = rows
        return out

    def proven(found: dict[str, Bools]) -> Bools:
        """The rows where every deciding fact is held by the government."""
        out = np.ones(n, dtype=bool)
        for fact, rows in found.items():
            if not held.get(fact, False):
                out &= ~rows
        return out

    def deciding(node: Condition) -> dict[str, Bools]:
        found = memo.get(id(node))
        if found is not None:
            return found
        group = model.categories[node.category].condition if isinstance(node, CategoryRef) else node
        if group.is_leaf:
            every = np.ones(n, dtype=bool)
            found = {f: every for name in leaf_facts(group) for f in inputs(model, name)}
            memo[id(node)] = found
            return found
        nodes = [c for c in group.children() if isinstance(c, Condition)]
        parts = [deciding(p) for p in nodes]
        if isinstance(group, NotOf) or len(parts) == 1:
            found = union(parts)
        else:
            true, false = (np.broadcast_to(m, (n,)) for m in masks(node))
            alternative = isinstance(group, AnyOf)
            settled = true if alternative else false  # one part settles it
            open_ = ~(true | false)
            found = union(parts, ~settled & ~(open_ if alternative else np.zeros(n, bool)))
            chosen = np.zeros(n, dtype=bool)
            for require_proof in (True, False):
                for node_, part in zip(nodes, parts, strict=True):
                    t, f = (np.broadcast_to(m, (n,)) for m in masks(node_))
                    take = settled & (t if alternative else f) & ~chosen
                    if require_proof:
                        take &= proven(part)
                    chosen |= take
                    found = _add(found, part, take)
            if alternative:  # the parts still open; the refuted ones do not count
                for node_, part in zip(nodes, parts, strict=True):
                    t, f = (np.broadcast_to(m, (n,)) for m in masks(node_))
                    found = _add(found, part, open_ & ~(t | f))
        memo[id(node)] = found
        return found

    return deciding(condition)


def _add(found: dict[str, Bools], part: dict[str, Bools], where: Bools) -> dict[str, Bools]:
    """``found`` with ``part``'s facts added on the rows ``where``."""
    if not where.any():
        return found
    out = dict(found)
    for fact, rows in part.items():
        add = rows & where
        out[fact] = out[fact] | add if fact in out else add
    return out
