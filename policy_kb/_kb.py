"""The knowledge base: one validated policy, its graph, and the questions asked of it."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from rdflib import Graph

from ._conditions import Condition, Context, Expr, FactRef, comparisons_of, kinks_of
from ._errors import UnknownNameError
from ._evaluate import evaluate_profile, evaluate_town, parameters_for_year, resolve_year
from ._graph import build_abox, load_tbox
from ._loader import load_model
from ._model import Benefit, Measure, ParameterValue, PolicyModel, Status, Town
from ._profile import Profile, RawProfile, validate_profile
from ._queries import BENEFITS_OF_MEASURE, MEASURES_OF_PART, TOWN_TARGETS, select
from ._results import Evaluation, TownEvaluation
from ._serialize import catalogue_to_dict
from ._suggest import close_matches
from ._vocab import PREFIXES

if TYPE_CHECKING:
    from ._columnar import ColumnResult
    from ._district import Impact, PoolEntry, Progress
    from ._owl import LintReport
    from ._roster import Batch, RosterRun

ENGINES = ("fast", "owl")
_EXPORT_FORMATS = {
    "turtle": "turtle",
    "ttl": "turtle",
    "json-ld": "json-ld",
    "jsonld": "json-ld",
    "nt": "nt",
    "xml": "xml",
}


class KnowledgeBase:
    """One policy (a validated measures.yaml) ready to answer questions.

    Build it with :func:`policy_kb.load`. It does not change after loading, so one instance can
    serve many evaluations, from many threads.
    """

    def __init__(self, model: PolicyModel) -> None:
        self._model = model
        self._parameter_cache: dict[int, Mapping[str, ParameterValue]] = {}

    # ── what the policy says ─────────────────────────────────────────────────────────────

    @property
    def model(self) -> PolicyModel:
        """The validated policy model (frozen dataclasses)."""
        return self._model

    @property
    def measures(self) -> tuple[Measure, ...]:
        """The measures, in the order of the text."""
        return self._model.measures

    def measure(self, measure_id: str) -> Measure:
        """One measure by id (``"KM7"``)."""
        found = self._model.measures_by_id.get(measure_id)
        if found is None:
            raise UnknownNameError(
                "measure", measure_id, close_matches(measure_id, self._model.measures_by_id)
            )
        return found

    def benefit(self, benefit_id: str) -> Benefit:
        """One benefit by id (``"KM7.rd_growth_reward"``)."""
        found = self._model.benefits.get(benefit_id)
        if found is None:
            raise UnknownNameError(
                "benefit", benefit_id, close_matches(benefit_id, self._model.benefits)
            )
        return found

    @property
    def towns(self) -> tuple[Town, ...]:
        """The towns and development zones of 附件2, in the order printed."""
        return self._model.targets.towns if self._model.targets else ()

    def catalogue(self, lang: str = "zh") -> dict[str, Any]:
        """The measures, benefits, conditions as written and the targets, as JSON-ready data."""
        return catalogue_to_dict(self._model, lang)

    # ── answers ──────────────────────────────────────────────────────────────────────────

    def validate_profile(self, profile: Mapping[str, Any] | RawProfile | Profile) -> Profile:
        """Check a profile; raise :class:`~policy_kb.ProfileError` naming each bad fact."""
        return validate_profile(self._model, profile)

    def parameters_for_year(self, year: int) -> Mapping[str, ParameterValue]:
        """The parameter values in force in ``year``; :class:`~policy_kb.YearError` if one is missing."""
        cached = self._parameter_cache.get(year)
        if cached is None:
            cached = parameters_for_year(self._model, year)
            self._parameter_cache[year] = cached
        return cached

    def evaluate(
        self,
        profile: Mapping[str, Any] | RawProfile | Profile,
        *,
        year: int | None = None,
        engine: str = "fast",
    ) -> Evaluation:
        """Evaluate every measure and benefit for one enterprise profile.

        ``year`` defaults to the profile's ``year`` fact, else the policy year (2021). Missing
        facts are unknown, never false or zero. ``engine="owl"`` decides the statuses with the
        HermiT reasoner instead of the fast engine (same answers, slower; needs Java). Raises
        :class:`~policy_kb.ProfileError` for a bad profile and :class:`~policy_kb.YearError` for a
        year without parameter values.
        """
        return self.evaluate_many([profile], year=year, engine=engine)[0]

    def evaluate_many(
        self,
        profiles: Sequence[Mapping[str, Any] | RawProfile | Profile],
        *,
        year: int | None = None,
        engine: str = "fast",
    ) -> list[Evaluation]:
        """Evaluate many profiles; with ``engine="owl"`` the reasoner classifies them in batches."""
        if engine not in ENGINES:
            raise UnknownNameError("engine", engine, close_matches(engine, ENGINES))
        checked = [validate_profile(self._model, p) for p in profiles]
        years = [resolve_year(self._model, p, year) for p in checked]
        decided: list[Mapping[str, Status] | None] = [None] * len(checked)
        if engine == "owl":
            from ._owl import classify

            for when in sorted(set(years)):
                self.parameters_for_year(when)  # a year without parameters is refused first
                indices = [i for i, y in enumerate(years) if y == when]
                found = classify(self._model, [checked[i] for i in indices], when)
                for i, statuses in zip(indices, found, strict=True):
                    decided[i] = statuses
        return [
            evaluate_profile(self._model, p, y, self.parameters_for_year(y), d, engine)
            for p, y, d in zip(checked, years, decided, strict=True)
        ]

    def roster(
        self,
        path: str | os.PathLike[str],
        *,
        year: int | None = None,
        output: str | os.PathLike[str] | None = None,
        keep: bool = False,
        progress: bool = False,
        ignore_unknown_columns: bool = False,
        each: Callable[[Batch, ColumnResult], None] | None = None,
    ) -> RosterRun:
        """Evaluate every enterprise of a roster file (CSV, .xlsx or Parquet), column-wise.

        Writes the answers to ``output`` (.csv, .parquet or .jsonl) and/or keeps them in memory
        (``keep=True``); returns the summary, with the rows that failed validation.
        """
        from ._roster import run_roster

        when = self._model.document.year if year is None else year
        return run_roster(
            self._model,
            path,
            self.parameters_for_year(when),
            output=output,
            keep=keep,
            progress=progress,
            ignore_unknown_columns=ignore_unknown_columns,
            each=each,
        )

    def progress(
        self, path: str | os.PathLike[str], *, year: int | None = None, progress: bool = False
    ) -> Progress:
        """Progress of every town of 附件2 over a roster: target, registered, shortfall, pool."""
        from ._district import progress as town_progress

        return town_progress(self, path, year=year, show=progress)

    def mobilise(
        self,
        path: str | os.PathLike[str],
        *,
        town: str | None = None,
        year: int | None = None,
        lang: str = "zh",
        near: bool = False,
        progress: bool = False,
    ) -> list[PoolEntry]:
        """The 应评尽评 pool of a roster: enterprises the pre-check passes, not yet registered.

        ``near=True`` adds those one change away from passing, each with that change.
        """
        from ._district import mobilise

        return mobilise(self, path, town=town, year=year, lang=lang, show=progress, near=near)

    def impact(
        self,
        new: KnowledgeBase,
        path: str | os.PathLike[str],
        *,
        year: int | None = None,
        details: bool = False,
    ) -> Impact:
        """What replacing this policy by ``new`` would change for every enterprise of a roster."""
        from ._district import impact

        return impact(self._model, new.model, path, year=year, details=details)

    def thresholds(self, *, year: int | None = None) -> dict[str, tuple[int | float, ...]]:
        """Every bound a fact is compared with in the policy, in that year.

        The bounds of the conditions, and where an estimate's formula bends (``min(fact, limit)``).

        ``{"employees": (300, 500), ...}``: fact id (a derived fact too) → its distinct bounds,
        ascending. Handy for generating test rosters that straddle each limit.
        """
        when = self._model.document.year if year is None else year
        params = {name: pv.value for name, pv in self.parameters_for_year(when).items()}
        categories = {name: c.condition for name, c in self._model.categories.items()}
        ctx = Context({}, params, categories)
        conditions: list[Condition] = [
            *categories.values(),
            *(b.condition for b in self._model.benefits.values()),
        ]
        if self._model.evaluation is not None:
            method = self._model.evaluation
            conditions += [n.condition for n in (*method.basic, *method.direct)]
        for benefit in self._model.benefits.values():
            if benefit.estimate is not None:
                conditions += [c.when for c in benefit.estimate.cases if c.when is not None]
        found: dict[str, set[int | float]] = {}
        pairs: list[tuple[str, Expr]] = []
        for condition in conditions:
            for comparison in comparisons_of(condition):
                if not isinstance(comparison.left, FactRef) or comparison.right.facts():
                    continue
                pairs.append((comparison.left.name, comparison.right))
        for benefit in self._model.benefits.values():
            for case in benefit.estimate.cases if benefit.estimate is not None else ():
                pairs += kinks_of(case.formula)
        for fact, expr in pairs:
            bound = expr.value(ctx)
            if isinstance(bound, (int, float)) and not isinstance(bound, bool):
                found.setdefault(fact, set()).add(bound)
        return {fact: tuple(sorted(bounds)) for fact, bounds in sorted(found.items())}

    def lint(self, *, year: int | None = None) -> LintReport:
        """Run the HermiT reasoner over the whole policy (needs Java); see :class:`LintReport`."""
        from ._owl import lint

        return lint(self._model, year)

    def town(self, name: str) -> TownEvaluation:
        """The measures addressed to one town or development zone of 附件2, with its target."""
        return evaluate_town(self._model, name)

    # ── the graph ────────────────────────────────────────────────────────────────────────

    @cached_property
    def abox(self) -> Graph:
        """The instances generated from measures.yaml (what ``policy-kb export`` writes)."""
        return build_abox(self._model)

    @cached_property
    def graph(self) -> Graph:
        """The hand-written ontology plus the generated instances, for SPARQL."""
        graph = load_tbox()
        for triple in self.abox:
            graph.add(triple)
        for prefix, ns in self.abox.namespaces():
            graph.bind(prefix, ns, override=False)
        return graph

    def query(self, sparql: str, **bindings: Any) -> list[dict[str, Any]]:
        """Run a SPARQL SELECT over :attr:`graph`; one dict per row with Python values."""
        return select(self.graph, sparql, **bindings)

    def measures_of_part(self, part: str) -> list[dict[str, Any]]:
        """The measures of a part (``"三"`` or ``"四"``), by SPARQL over the graph."""
        return self.query(MEASURES_OF_PART, partNumber=part)

    def benefits_of(self, measure_id: str) -> list[dict[str, Any]]:
        """The benefits of a measure (``"KM7"``), by SPARQL over the graph."""
        self.measure(measure_id)
        return self.query(BENEFITS_OF_MEASURE, measureId=measure_id)

    def town_targets(self) -> list[dict[str, Any]]:
        """The 附件2 rows (seq, name, target, printed total), by SPARQL over the graph."""
        return self.query(TOWN_TARGETS)

    def export(self, fmt: str = "turtle", *, with_ontology: bool = False) -> str:
        """The generated graph as Turtle, JSON-LD, N-Triples or RDF/XML text.

        ``"owl"`` gives the eligibility classes compiled for the reasoner, as N-Triples.
        """
        if fmt.lower() == "owl":
            from ._owl import tbox_ntriples

            return tbox_ntriples(self._model)
        name = _EXPORT_FORMATS.get(fmt.lower())
        if name is None:
            raise UnknownNameError("export format", fmt, close_matches(fmt, _EXPORT_FORMATS))
        graph = self.graph if with_ontology else self.abox
        if name == "json-ld":
            context = {**PREFIXES, "wj": self._model.document.iri}
            return graph.serialize(format="json-ld", context=context, indent=2, auto_compact=True)
        return graph.serialize(format=name)

    def __repr__(self) -> str:
        m = self._model
        return f"<KnowledgeBase {m.document.id}: {len(m.measures)} measures, {len(m.benefits)} benefits from {m.file}>"


def load(path: str | os.PathLike[str] | None = None) -> KnowledgeBase:
    """Load a knowledge base: the shipped measures.yaml, or a policy officer's edited copy.

    Raises :class:`~policy_kb.MeasuresFileError` listing every problem of the file.
    """
    return KnowledgeBase(load_model(path))
