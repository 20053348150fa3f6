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

from dataclasses import dataclass

from ..backends.trace import Trace
from ..policy.model import EvidenceType, PolicyModel, Status
from ..rules.tree import AnyOf, CategoryRef, NotOf
from ..rules.walk import facts_in

NO_APPLICATION, DOCUMENTS_NEEDED, NOT_APPLICABLE = (
    "no_application",
    "documents_needed",
    "not_applicable",
)


@dataclass(frozen=True, slots=True)
class Application:
    """How a benefit would be granted: ``mode``, the documents the enterprise must provide, and
    the evidence the government holds that decides (or would decide) it."""

    mode: str
    documents: tuple[EvidenceType, ...]
    government: tuple[EvidenceType, ...]


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
    return all(k.held is True for k in evidence_of(model, facts))


def deciding_facts(model: PolicyModel, trace: Trace) -> tuple[str, ...]:
    """The facts whose values decided the condition of ``trace`` (see the module's doc)."""
    found: dict[str, None] = {}
    for fact in _deciding(model, trace):
        found.setdefault(fact)
    return tuple(found)


def _deciding(model: PolicyModel, t: Trace) -> list[str]:
    node = t.condition
    if node.is_leaf:
        return [fact for name in t.facts for fact in inputs(model, name)]
    group = model.categories[node.category].condition if isinstance(node, CategoryRef) else node
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
    kinds = evidence_of(model, deciding_facts(model, trace))
    documents = tuple(k for k in kinds if k.held is not True)
    government = tuple(k for k in kinds if k.held is True)
    ready = status is Status.APPLIES and not documents
    return Application(NO_APPLICATION if ready else DOCUMENTS_NEEDED, documents, government)


def materials(model: PolicyModel) -> Application:
    """The materials of the tech-SME evaluation's own application: the evidence of every fact
    its rule reads (the evaluation is always applied for, so the mode is documents_needed)."""
    method = model.evaluation
    if method is None:
        return Application(NOT_APPLICABLE, (), ())
    categories = {k: c.condition for k, c in model.categories.items()}
    derived = {k: d.formula for k, d in model.derived.items()}
    kinds = evidence_of(model, facts_in(method.rule, categories, derived))
    return Application(
        DOCUMENTS_NEEDED,
        tuple(k for k in kinds if k.held is not True),
        tuple(k for k in kinds if k.held is True),
    )
