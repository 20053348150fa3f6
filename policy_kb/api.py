"""The knowledge base: one validated policy, and every question asked of it.

:class:`KnowledgeBase` is the one door the public API opens: it holds the model and its compiled
plan, and each method hands the question to the layer that answers it — evaluation
(:mod:`policy_kb.reason`), the graph (:mod:`policy_kb.graph`), rosters (:mod:`policy_kb.district`),
the reasoner (:mod:`policy_kb.backends.owl`). Heavy layers are imported on first use, so
``import policy_kb`` and one evaluation never load numpy, polars, owlready2 or rdflib's SPARQL.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from .backends.trace import Plan
from .errors import UnknownNameError, check_lang
from .policy.loader import load_model
from .policy.model import Benefit, Measure, ParameterValue, PolicyModel, Status, Town
from .policy.profile import Profile, RawProfile, validate_profile
from .reason import evaluate as reason
from .reason import results
from .rules.tree import Expr, FactRef
from .rules.walk import comparisons_of, constant_value, facts_in, kinks_of
from .text import close_matches

if TYPE_CHECKING:
    from rdflib import Graph

    from .backends.columns import ColumnResult
    from .backends.owl import LintReport
    from .district.cells import Batch
    from .district.kernel import Years
    from .district.readiness import Readiness
    from .district.reports import Impact, PoolList, Progress
    from .district.roster import RosterRun

ENGINES = ("fast", "owl")


class Evaluation(results.Evaluation):
    """The answer for one enterprise profile in one year.

    ``status("KM7")`` or ``status("KM7.rd_growth_reward")`` gives a status word;
    :meth:`to_dict` and :meth:`to_json` give the public JSON contract.
    """

    def to_dict(self, lang: str = "zh", detail: str = "full") -> dict[str, Any]:
        """The public JSON contract (see ``schemas/evaluation.schema.json``).

        ``detail="summary"`` gives the short answer instead (statuses, missing facts, amounts,
        citation ids: ``schemas/evaluation-summary.schema.json``).
        """
        from .views import document  # imported on first use: a table answer never needs it

        lang = check_lang(lang)
        if check_detail(detail) == "summary":
            return document.evaluation_summary(self, lang)
        return document.evaluation_to_dict(self, lang)

    def to_json(self, lang: str = "zh", indent: int | None = 2, detail: str = "full") -> str:
        """:meth:`to_dict` as JSON text (UTF-8, Chinese characters unescaped)."""
        return self.to_bytes(lang, indent, detail).decode("utf-8")

    def to_bytes(self, lang: str = "zh", indent: int | None = 2, detail: str = "full") -> bytes:
        """:meth:`to_json` as UTF-8 bytes (what the CLI prints and the HTTP service sends)."""
        from .views import document

        lang, detail = check_lang(lang), check_detail(detail)
        if indent == 2:
            return document.evaluation_json(self, lang, detail)
        return document.dumps(self.to_dict(lang, detail), indent=indent)


def check_detail(detail: object) -> str:
    """``detail`` if it is ``"full"`` or ``"summary"``; :class:`UnknownNameError` otherwise."""
    from .views import document

    if detail not in document.DETAILS:
        raise UnknownNameError("detail", str(detail), close_matches(str(detail), document.DETAILS))
    return str(detail)


class TownEvaluation(results.TownEvaluation):
    """The measures addressed to one town of 附件2, with its 2021 target."""

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        """The JSON of ``policy-kb town NAME --format json``."""
        from .views import document

        return document.town_to_dict(self, check_lang(lang))

    def to_json(self, lang: str = "zh", indent: int | None = 2) -> str:
        """The town's answer as JSON text (``policy-kb town NAME --format json``)."""
        from .views import document

        return document.dumps(self.to_dict(lang), indent=indent).decode("utf-8")


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

    @cached_property
    def plan(self) -> Plan:
        """The rule trees compiled for per-profile evaluation (built on first use)."""
        return Plan(self._model)

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
        from .views import document

        return document.catalogue_to_dict(self._model, check_lang(lang))

    # ── answers ──────────────────────────────────────────────────────────────────────────

    def validate_profile(self, profile: Mapping[str, Any] | RawProfile | Profile) -> Profile:
        """Check a profile; raise :class:`~policy_kb.ProfileError` naming each bad fact."""
        return validate_profile(self._model, profile)

    def parameters_for_year(self, year: int) -> Mapping[str, ParameterValue]:
        """The parameter values in force in ``year``; :class:`~policy_kb.YearError` if one is missing."""
        cached = self._parameter_cache.get(year)
        if cached is None:
            cached = self._parameter_cache[year] = reason.parameters_for_year(self._model, year)
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
        if engine != "fast":
            return self.evaluate_many([profile], year=year, engine=engine)[0]
        checked = validate_profile(self._model, profile)
        when = reason.resolve_year(self._model, checked, year)
        return reason.evaluate_profile(
            self.plan, checked, when, self.parameters_for_year(when), None, engine, Evaluation
        )

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
        years = [reason.resolve_year(self._model, p, year) for p in checked]
        decided: list[Mapping[str, Status] | None] = [None] * len(checked)
        if engine == "owl":
            from .backends.owl import classify

            for when in sorted(set(years)):
                params = self.parameters_for_year(when)
                indices = [i for i, y in enumerate(years) if y == when]
                found = classify(self.plan, [checked[i] for i in indices], when, params)
                for i, statuses in zip(indices, found, strict=True):
                    decided[i] = statuses
        plan = self.plan
        return [
            reason.evaluate_profile(plan, p, y, self.parameters_for_year(y), d, engine, Evaluation)
            for p, y, d in zip(checked, years, decided, strict=True)
        ]

    def town(self, name: str) -> TownEvaluation:
        """The measures addressed to one town or development zone of 附件2, with its target."""
        te = reason.evaluate_town(self._model, name)
        return TownEvaluation(te.model, te.town, te.measures)

    def thresholds(self, *, year: int | None = None) -> dict[str, tuple[int | float, ...]]:
        """Every bound a fact is compared with in the policy, in that year.

        The bounds of the conditions, and where an estimate's formula bends (``min(fact, limit)``):
        ``{"employees": (300, 500), ...}``, fact id (a derived fact too) → its distinct bounds,
        ascending. Handy for generating test rosters that straddle each limit.
        """
        when = self._model.document.year if year is None else year
        params = {name: pv.value for name, pv in self.parameters_for_year(when).items()}
        trees: list[Any] = [c.condition for c in self._model.categories.values()]
        trees += [b.condition for b in self._model.benefits.values()]
        if self._model.evaluation is not None:
            trees += [
                n.condition for n in (*self._model.evaluation.basic, *self._model.evaluation.direct)
            ]
        estimates = [b.estimate for b in self._model.benefits.values() if b.estimate is not None]
        trees += [c.when for e in estimates for c in e.cases if c.when is not None]
        pairs: list[tuple[str, Expr]] = [
            (c.left.name, c.right)
            for tree in trees
            for c in comparisons_of(tree)
            if isinstance(c.left, FactRef) and not facts_in(c.right)
        ]
        pairs += [kink for e in estimates for case in e.cases for kink in kinks_of(case.formula)]
        found: dict[str, set[int | float]] = {}
        for fact, expr in pairs:
            bound = constant_value(expr, params)
            if isinstance(bound, (int, float)) and not isinstance(bound, bool):
                found.setdefault(fact, set()).add(bound)
        return {fact: tuple(sorted(bounds)) for fact, bounds in sorted(found.items())}

    # ── rosters, in columns ──────────────────────────────────────────────────────────────

    def _years(self, year: int | None) -> Years:
        """Each row in ``year`` if given, else in its own year fact, else in the policy year."""
        from .district.kernel import Years

        fixed = None if year is None else reason.check_year(self._model, year)
        if fixed is not None:  # refused once, before reading, as match refuses it (YearError)
            self.parameters_for_year(fixed)
        return Years(self.parameters_for_year, self._model.document.year, fixed)

    def roster(
        self,
        path: str | os.PathLike[str],
        *,
        year: int | None = None,
        output: str | os.PathLike[str] | None = None,
        keep: bool = False,
        progress: bool = False,
        ignore_unknown_columns: bool = False,
        amounts_are_yuan: bool = False,
        each: Callable[[Batch, ColumnResult], None] | None = None,
        lang: str = "zh",
    ) -> RosterRun:
        """Evaluate every enterprise of a roster file (CSV, .xlsx or Parquet), column-wise.

        Writes the answers to ``output`` (.csv, .parquet or .jsonl) and/or keeps them in memory
        (``keep=True``); returns the summary, with the rows that failed validation.

        Reading options, the same for :meth:`progress`, :meth:`mobilise` and :meth:`impact`:
        ``ignore_unknown_columns`` skips columns that are not facts (else they are refused);
        a roster whose amounts all look like 万元 (every amount column's median under 一万元)
        is refused as such unless ``amounts_are_yuan`` confirms they are in 元. ``lang`` is the
        language of the ``error`` column of the answers (``zh`` or ``en``).
        """
        from .district.roster import Reading, run_roster

        return run_roster(
            self._model,
            path,
            self._years(year),
            output=output,
            keep=keep,
            progress=progress,
            reading=Reading(ignore_unknown_columns, amounts_are_yuan),
            each=each,
            lang=check_lang(lang),
        )

    def evaluate_arrow(
        self,
        batch: Any,
        *,
        year: int | None = None,
        lang: str = "zh",
        first_row: int = 2,
        ignore_unknown_columns: bool = False,
    ) -> Any:
        """The roster kernel on one ``pyarrow.RecordBatch`` of enterprises: the answers as a
        ``pyarrow.RecordBatch`` with the columns of ``roster -o answers.parquet``.

        A pure function of the policy, the year and the batch — what ``roster``, ``progress``,
        ``mobilise``, ``impact`` and the Spark engine run on every batch. Columns are fact ids
        or their labels; each cell is checked (a bad row gets its ``error`` in ``lang``, with
        row numbers counted from ``first_row``); statuses are dictionary columns; an unknown
        fact is null, never zero.
        """
        from .district.kernel import evaluate_arrow
        from .district.roster import header_map

        lang = check_lang(lang)
        mapping = header_map(self._model, batch.schema.names, "RecordBatch", ignore_unknown_columns)
        return evaluate_arrow(
            self._model, self._years(year), batch, mapping=mapping, first_row=first_row, lang=lang
        )

    def progress(
        self,
        path: str | os.PathLike[str],
        *,
        year: int | None = None,
        progress: bool = False,
        ignore_unknown_columns: bool = False,
        amounts_are_yuan: bool = False,
    ) -> Progress:
        """Progress of every town of 附件2 over a roster: target, registered, shortfall, pool."""
        from .district.reports import progress as town_progress
        from .district.roster import Reading

        return town_progress(
            self._model,
            path,
            self._years(year),
            show=progress,
            reading=Reading(ignore_unknown_columns, amounts_are_yuan),
        )

    def readiness(
        self,
        path: str | os.PathLike[str],
        *,
        town: str | None = None,
        year: int | None = None,
        progress: bool = False,
        ignore_unknown_columns: bool = False,
        amounts_are_yuan: bool = False,
    ) -> Readiness:
        """免申即享 readiness over a roster, per benefit and per town: how many enterprises could
        be granted a benefit without an application, how many must bring documents (which,
        counted), how many wait on data a government holder keeps (which facts, counted).

        The counts are those of the per-profile answers' ``application``; ``town`` keeps one
        town of 附件2 (an unknown town is refused with a suggestion). The tool advises: the
        granting authority decides.
        """
        from .district.readiness import readiness
        from .district.roster import Reading

        if town is not None:  # refused with a suggestion when unknown; an English name works
            town = reason.evaluate_town(self._model, town).town.name
        return readiness(
            self._model,
            path,
            self._years(year),
            town=town,
            show=progress,
            reading=Reading(ignore_unknown_columns, amounts_are_yuan),
        )

    def mobilise(
        self,
        path: str | os.PathLike[str],
        *,
        town: str | None = None,
        year: int | None = None,
        lang: str = "zh",
        near: bool = False,
        progress: bool = False,
        ignore_unknown_columns: bool = False,
        amounts_are_yuan: bool = False,
    ) -> PoolList:
        """The 应评尽评 pool of a roster: enterprises the pre-check passes, not yet registered.

        ``near=True`` adds those one change away from passing, each with that change. The facts
        to ask for and the change are also given in words, in ``lang``. The list's ``errors``
        are the roster's refused rows (not considered), each with its row number and why.
        """
        from dataclasses import replace

        from .district.reports import PoolList, mobilise
        from .district.roster import Reading
        from .views.words import change_sentence

        check_lang(lang)
        entries = mobilise(
            self._model,
            self.plan,
            path,
            self._years(year),
            town=town,
            show=progress,
            near=near,
            reading=Reading(ignore_unknown_columns, amounts_are_yuan),
        )
        method = self._model.evaluation
        return PoolList(
            (
                replace(
                    e,
                    missing=[self._model.fact_label(f)[lang] for f in e.missing_facts],
                    change=change_sentence(e.smallest, method, self._model, lang)
                    if e.smallest and method
                    else None,
                )
                for e in entries
            ),
            entries.errors,
        )

    def impact(
        self,
        new: KnowledgeBase,
        path: str | os.PathLike[str],
        *,
        year: int | None = None,
        details: bool = False,
        ignore_unknown_columns: bool = False,
        amounts_are_yuan: bool = False,
    ) -> Impact:
        """What replacing this policy by ``new`` would change for every enterprise of a roster."""
        from .district.reports import impact
        from .district.roster import Reading

        return impact(
            self._model,
            new.model,
            path,
            self._years(year),
            new._years(year),
            details=details,
            reading=Reading(ignore_unknown_columns, amounts_are_yuan),
        )

    # ── the reasoner ─────────────────────────────────────────────────────────────────────

    def lint(self, *, year: int | None = None) -> LintReport:
        """Run the HermiT reasoner over the whole policy (needs Java); see :class:`LintReport`."""
        from .backends.owl import lint

        return lint(self.plan, year)

    # ── the graph ────────────────────────────────────────────────────────────────────────

    @cached_property
    def abox(self) -> Graph:
        """The instances generated from measures.yaml (what ``policy-kb export`` writes)."""
        from .graph.rdf import build_abox

        return build_abox(self._model)

    @cached_property
    def graph(self) -> Graph:
        """The hand-written ontology plus the generated instances, for SPARQL."""
        from .graph.rdf import merged

        return merged(self.abox)

    def query(self, sparql: str, **bindings: Any) -> list[dict[str, Any]]:
        """Run a SPARQL SELECT over :attr:`graph`; one dict per row with Python values."""
        from .graph.queries import select

        return select(self.graph, sparql, **bindings)

    def measures_of_part(self, part: str) -> list[dict[str, Any]]:
        """The measures of a part (``"三"`` or ``"四"``), by SPARQL over the graph."""
        from .graph.queries import MEASURES_OF_PART

        return self.query(MEASURES_OF_PART, partNumber=part)

    def benefits_of(self, measure_id: str) -> list[dict[str, Any]]:
        """The benefits of a measure (``"KM7"``), by SPARQL over the graph."""
        from .graph.queries import BENEFITS_OF_MEASURE

        self.measure(measure_id)
        return self.query(BENEFITS_OF_MEASURE, measureId=measure_id)

    def town_targets(self) -> list[dict[str, Any]]:
        """The 附件2 rows (seq, name, target, printed total), by SPARQL over the graph."""
        from .graph.queries import TOWN_TARGETS

        return self.query(TOWN_TARGETS)

    def export(self, fmt: str = "turtle", *, with_ontology: bool = False) -> str:
        """The generated graph as Turtle, JSON-LD, N-Triples or RDF/XML text.

        ``"owl"`` gives the eligibility classes compiled for the reasoner, as N-Triples.
        """
        if fmt.lower() == "owl":
            from .backends.owl import tbox_ntriples

            return tbox_ntriples(self.plan)
        from .graph.rdf import serialize

        return serialize(self.graph if with_ontology else self.abox, fmt, self._model.document.iri)

    def __repr__(self) -> str:
        m = self._model
        return f"<KnowledgeBase {m.document.id}: {len(m.measures)} measures, {len(m.benefits)} benefits from {m.file}>"


def load(path: str | os.PathLike[str] | None = None) -> KnowledgeBase:
    """Load a knowledge base: the shipped measures.yaml, or a policy officer's edited copy.

    Raises :class:`~policy_kb.MeasuresFileError` listing every problem of the file.
    """
    return KnowledgeBase(load_model(path))


@cache
def default_kb() -> KnowledgeBase:
    """The knowledge base of the shipped measures.yaml, loaded once per process.

    The knowledge base never changes after loading, so sharing it is safe.
    """
    return load()


def evaluate(profile: Any, *, year: int | None = None, engine: str = "fast") -> Evaluation:
    """Evaluate one enterprise profile against the shipped policy.

    ``profile`` is a mapping of fact ids to values; absent facts are unknown.
    ``engine="owl"`` decides the statuses with the HermiT reasoner (needs Java).
    Same as ``policy_kb.default_kb().evaluate(profile, year=year, engine=engine)``.
    """
    return default_kb().evaluate(profile, year=year, engine=engine)
