"""District views of a roster: progress per town against 附件2, the 应评尽评 pool, reform impact.

四(二) asks every town to track its target (附件2); 四(三) asks that every enterprise that could pass
the evaluation take part (应评尽评). ``progress`` counts, per town, the enterprises holding the fact
the evaluation leads to (``establishes`` in measures.yaml: this year's registration) against the
target, and the pool that the pre-check says would qualify but does not hold it yet; ``mobilise``
lists that pool; ``impact`` compares the answers of two versions of measures.yaml over the same
roster. The reports are data; the tables and the CSV are written by the views.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backends.columns import STATUS_WORDS, ColumnResult, sum_fen
from ..backends.trace import Plan
from ..errors import PolicyKBError, RosterError
from ..policy.model import FactType, PolicyModel
from ..policy.profile import validate_profile
from ..reason.evaluate import evaluate_profile, evaluate_town, resolve_year
from ..reason.results import Change
from ..rules.walk import facts_of
from ..text import Msg, Words
from .cells import Batch, RowError, convert_batch
from .kernel import (
    Years,
    counted_amounts,
    established,
    evaluate_batch,
    known_total,
    pool_masks,
    unknown_amounts,
)
from .roster import (
    DEFAULT_READING,
    Reading,
    column_types,
    header_map,
    one_batch,
    open_roster,
    refuse_repeats,
    refuse_wan_amounts,
    run_roster,
)


def _require(
    model: PolicyModel, path: str | os.PathLike[str], facts: tuple[str | None, ...], what: str
) -> None:
    """Refuse a roster without the columns a district report cannot do without."""
    given = set(
        header_map(model, open_roster(path).header, str(path), ignore_unknown=True).values()
    )
    missing = [f for f in facts if f is not None and f not in given]
    if missing:
        names = Words(
            [Msg("roster.column_named", fact=f, label=model.facts[f].label) for f in missing], "and"
        )
        key = "roster.needs_column" if len(missing) == 1 else "roster.needs_columns"
        raise RosterError(Msg(key, path=str(path), what=what, names=names))


# ── progress ─────────────────────────────────────────────────────────────────────────────────


@dataclass
class TownProgress:
    """One row of 附件2 against the roster."""

    seq: int
    name: str
    name_en: str | None
    target: int
    enterprises: int = 0
    registered: int = 0
    pool: int = 0
    pool_registration_unknown: int = 0

    @property
    def rate(self) -> float | None:
        """Registered ÷ target; None for a target of 0 (no rate, not 0 %)."""
        return completion(self.registered, self.target)

    @property
    def shortfall(self) -> int:
        return max(0, self.target - self.registered)

    @property
    def pool_closes(self) -> int:
        """How much of the shortfall the 应评尽评 pool would close if all of it registered."""
        return min(self.pool, self.shortfall)

    @property
    def rate_with_pool(self) -> float | None:
        return completion(self.registered + self.pool_closes, self.target)


def completion(done: int, target: int) -> float | None:
    """How much of a target is done, as a fraction; None when the target is 0 (a town with no
    target has no completion rate: not 0 %, not 100 %)."""
    return done / target if target else None


def _rounded(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 4)


@dataclass
class Progress:
    """Progress of every town, the district totals, and the rows the roster could not place."""

    year: int
    towns: list[TownProgress]
    printed_total: int
    rows: int = 0
    invalid: int = 0
    outside: int = 0  # valid rows whose town is unknown or not in 附件2
    errors: list[RowError] = field(default_factory=list)  # the refused rows, with why

    @property
    def target(self) -> int:
        return sum(t.target for t in self.towns)

    @property
    def registered(self) -> int:
        return sum(t.registered for t in self.towns)

    @property
    def pool(self) -> int:
        return sum(t.pool for t in self.towns)

    @property
    def shortfall(self) -> int:
        return sum(t.shortfall for t in self.towns)

    @property
    def pool_closes(self) -> int:
        return sum(t.pool_closes for t in self.towns)

    @property
    def rate(self) -> float | None:
        """The district's registered ÷ its target (None for a target of 0)."""
        return completion(self.registered, self.target)

    @property
    def rate_with_pool(self) -> float | None:
        """The district's rate if every town's pool closed what it can (None for a target of 0)."""
        return completion(self.registered + self.pool_closes, self.target)

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        """``policy-kb progress --format json``; the refused rows' messages in ``lang``."""
        return {
            "year": self.year,
            "rows": self.rows,
            "invalid_rows": self.invalid,
            "errors": [e.to_dict(lang) for e in self.errors],
            "rows_outside_annex": self.outside,
            "towns": [
                {
                    "seq": t.seq,
                    "name": t.name,
                    "name_en": t.name_en,
                    "target": t.target,
                    "enterprises": t.enterprises,
                    "registered": t.registered,
                    "completion_rate": _rounded(t.rate),
                    "shortfall": t.shortfall,
                    "pool": t.pool,
                    "pool_registration_unknown": t.pool_registration_unknown,
                    "pool_closes": t.pool_closes,
                    "completion_rate_with_pool": _rounded(t.rate_with_pool),
                }
                for t in self.towns
            ],
            "district": {
                "target": self.target,
                "printed_total": self.printed_total,
                "registered": self.registered,
                "completion_rate": _rounded(self.rate),
                "shortfall": self.shortfall,
                "pool": self.pool,
                "pool_closes": self.pool_closes,
            },
        }


def progress(
    model: PolicyModel,
    path: str | os.PathLike[str],
    years: Years,
    *,
    show: bool = False,
    reading: Reading = DEFAULT_READING,
) -> Progress:
    """Per town of 附件2: target, registered, completion, shortfall and the 应评尽评 pool."""
    if model.targets is None:
        raise PolicyKBError(Msg("district.no_targets"))
    towns = {t.name: TownProgress(t.seq, t.name, t.name_en, t.target) for t in model.targets.towns}
    year = years.default if years.fixed is None else years.fixed
    report = Progress(year, list(towns.values()), model.targets.total)

    def each(batch: Batch, result: ColumnResult) -> None:
        masks = pool_masks(model, batch, result)
        valid = batch.columns.rows_valid
        report.rows += result.n
        report.invalid += int((~valid).sum())
        names = batch.towns[valid]
        if not len(names):
            return
        seen: dict[Any, int] = {}
        codes = np.fromiter((seen.setdefault(t, len(seen)) for t in names), np.intp, len(names))
        size = len(seen)
        enterprises = np.bincount(codes, minlength=size)
        counted = [np.bincount(codes, weights=m[valid], minlength=size) for m in masks]
        for name, k in seen.items():
            entry = towns.get(name) if name else None
            if entry is None:
                report.outside += int(enterprises[k])
                continue
            entry.enterprises += int(enterprises[k])
            entry.registered += int(counted[0][k])
            entry.pool += int(counted[1][k])
            entry.pool_registration_unknown += int(counted[2][k])

    _require(model, path, (model.fact_of_type(FactType.TOWN), established(model)), "progress")
    run = run_roster(model, path, years, progress=show, each=each, reading=reading)
    report.errors = list(run.summary.errors)
    return report


# ── mobilise ─────────────────────────────────────────────────────────────────────────────────


@dataclass
class PoolEntry:
    """One enterprise to call: it would pass the evaluation and is not registered this year.

    With ``near=True`` the list also holds the near misses (``group == "near"``): not registered,
    failing the pre-check, and one change to a single fact away from passing (``change``).
    """

    town: str
    seq: int
    row: int
    name: str | None
    route: str | None
    score: int | None
    registered: str  # "no" or "unknown"
    missing_facts: list[str]  # the evaluation form's facts the roster does not give
    smallest: Change | None  # for a near miss: the one change that makes it pass
    group: str = "pool"  # "pool": qualifies now; "near": one change away (only with near=True)
    missing: list[str] = field(default_factory=list)  # those facts' labels, in the language asked
    change: str | None = None  # that change in words


def _profile_of(model: PolicyModel, batch: Batch, index: int) -> dict[str, Any]:
    profile: dict[str, Any] = {}
    for fact, column in batch.columns.facts.items():
        definition = model.facts.get(fact)
        if definition is None or not column.known[index]:
            continue
        value = column.values[index]
        if definition.type is FactType.BOOL:
            profile[fact] = bool(value)
        elif definition.type in (FactType.TEXT, FactType.TOWN):
            profile[fact] = str(value)
        else:
            number = float(value)
            profile[fact] = int(number) if number.is_integer() else number
    return profile


def form_facts(model: PolicyModel) -> list[str]:
    """The facts the evaluation form asks for (its conditions and its scored ratios)."""
    method = model.evaluation
    if method is None:
        return []
    categories = {name: c.condition for name, c in model.categories.items()}
    found = facts_of(method.rule, categories)
    return list(dict.fromkeys(f for f in found if f in model.facts))


def mobilise(
    model: PolicyModel,
    plan: Plan,
    path: str | os.PathLike[str],
    years: Years,
    *,
    town: str | None = None,
    show: bool = False,
    near: bool = False,
    reading: Reading = DEFAULT_READING,
) -> PoolList:
    """The 应评尽评 pool, per town: who to call, their score, what to ask for.

    ``near=True`` adds the enterprises one change away from passing, with that change.
    """
    if town is not None:
        town = evaluate_town(model, town).town.name  # refused with a suggestion when unknown
    seqs = {t.name: t.seq for t in model.targets.towns} if model.targets else {}
    asked = form_facts(model)
    fact = established(model)
    entries: list[PoolEntry] = []

    def each(batch: Batch, result: ColumnResult) -> None:
        registered, pool, _ = pool_masks(model, batch, result)
        candidates = pool
        if near and result.precheck is not None:
            candidates = pool | (
                (result.precheck.qualifies == 0) & ~registered & batch.columns.rows_valid
            )
        towns, names = batch.towns, batch.names
        reg = batch.columns.column(fact)
        for index in np.flatnonzero(candidates):
            where = towns[index]
            if where is None or where not in seqs or (town is not None and where != town):
                continue
            profile = _profile_of(model, batch, int(index))
            checked = validate_profile(model, profile)
            year = resolve_year(model, checked, years.fixed)
            pre = evaluate_profile(plan, checked, year, years.parameters_of(year)).precheck
            assert pre is not None
            if pool[index]:
                assert pre.qualifies is True  # the column and per-profile engines agree
                group, change = "pool", None
            elif pre.smallest_change is not None:
                group, change = "near", pre.smallest_change
            else:
                continue
            entries.append(
                PoolEntry(
                    where,
                    seqs[where],
                    batch.first_row + int(index),
                    names[index],
                    pre.route,
                    pre.score,
                    "unknown" if not reg.known[index] else "no",
                    [f for f in asked if f not in profile],
                    change,
                    group,
                )
            )

    _require(model, path, (model.fact_of_type(FactType.TOWN),), "mobilise")
    run = run_roster(model, path, years, progress=show, each=each, reading=reading)
    # by town, the pool before the near misses, then: a score not known (a direct route needs
    # none) first, the highest scores next; the file's order last
    entries.sort(
        key=lambda e: (e.seq, e.group != "pool", e.score is not None, -(e.score or 0), e.row)
    )
    return PoolList(entries, run.summary.errors)


class PoolList(list[PoolEntry]):
    """The entries of :func:`mobilise`, in order (a list), with ``errors``: the rows of the
    roster that were refused, so not considered (each with its row number and why)."""

    def __init__(self, entries: Iterable[PoolEntry] = (), errors: Iterable[RowError] = ()) -> None:
        super().__init__(entries)
        self.errors: list[RowError] = list(errors)


# ── impact ───────────────────────────────────────────────────────────────────────────────────


@dataclass
class BenefitImpact:
    """How one benefit's answers move between two versions of the policy."""

    benefit: str
    moves: dict[tuple[str, str], int] = field(default_factory=dict)  # (old, new) → rows
    old_fen: int | None = None  # estimated total before, in fen (exact); None: no amount
    new_fen: int | None = None  # (the version has no formula for this benefit)
    old_unknown: int = 0  # rows where it applies with an amount a missing fact leaves open
    new_unknown: int = 0
    old_known: int = 0  # rows whose amount is in the total
    new_known: int = 0

    @property
    def old_total(self) -> float | None:
        """The estimated total before, in yuan; None when the version has no amount for the
        benefit or every amount is unknown."""
        return self._total(self.old_fen, self.old_known, self.old_unknown)

    @property
    def new_total(self) -> float | None:
        """The estimated total after (see :attr:`old_total`)."""
        return self._total(self.new_fen, self.new_known, self.new_unknown)

    @staticmethod
    def _total(fen: int | None, known: int, unknown: int) -> float | None:
        found = None if fen is None else known_total(fen, known, unknown)
        return None if found is None else found / 100

    @property
    def change(self) -> float | None:
        """The change of the estimated total, in yuan; None when a version has no total (an
        amount it does not state, or does not know, is not 0: no change can be worked out)."""
        old, new = self.old_total, self.new_total
        if old is None or new is None:
            return None
        return ((self.new_fen or 0) - (self.old_fen or 0)) / 100

    def count(self, old: str | None = None, new: str | None = None) -> int:
        return sum(
            v
            for (a, b), v in self.moves.items()
            if a != b and old in (None, a) and new in (None, b)
        )

    @property
    def gains(self) -> int:
        return self.count(new="applies")

    @property
    def losses(self) -> int:
        return self.count(old="applies")

    @property
    def to_undetermined(self) -> int:
        return self.count(new="undetermined")

    @property
    def from_undetermined(self) -> int:
        return self.count(old="undetermined")


@dataclass
class Impact:
    """The reform impact over a roster."""

    benefits: dict[str, BenefitImpact]
    rows: int = 0
    invalid: int = 0
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "invalid_rows": self.invalid,
            "benefits": [
                {
                    "benefit": b.benefit,
                    "gains": b.gains,
                    "losses": b.losses,
                    "to_undetermined": b.to_undetermined,
                    "from_undetermined": b.from_undetermined,
                    "moves": [
                        {"from": a, "to": c, "rows": n}
                        for (a, c), n in sorted(b.moves.items())
                        if a != c
                    ],
                    "estimated_total_old": b.old_total,
                    "estimated_total_new": b.new_total,
                    "estimated_total_change": b.change,
                    "unknown_amounts_old": b.old_unknown,
                    "unknown_amounts_new": b.new_unknown,
                }
                for b in self.benefits.values()
            ],
            "details": self.details,
        }


def impact(
    old: PolicyModel,
    new: PolicyModel,
    path: str | os.PathLike[str],
    old_years: Years,
    new_years: Years,
    *,
    details: bool = False,
    reading: Reading = DEFAULT_READING,
) -> Impact:
    """Compare every benefit's answers for the same roster under two versions of measures.yaml."""
    common = [b for b in new.benefits if b in old.benefits]
    report = Impact({b: BenefitImpact(b) for b in common})
    roster = open_roster(path)
    old_map, new_map = (
        header_map(old, roster.header, str(path), reading.ignore_unknown_columns),
        header_map(new, roster.header, str(path), reading.ignore_unknown_columns),
    )
    old_types, new_types = column_types(old, old_map), column_types(new, new_map)
    shared = {c: t for c, t in old_types.items() if new_types.get(c) == t}
    first_row = 2
    seen_old: dict[str, int] = {}
    seen_new: dict[str, int] = {}
    for part in roster.batches(shared):
        raw = one_batch(part)
        a_batch, b_batch = (
            convert_batch(old, raw, old_map, first_row),
            convert_batch(new, raw, new_map, first_row),
        )
        if first_row == 2 and not reading.amounts_are_yuan:
            refuse_wan_amounts(old, a_batch, str(path))
        refuse_repeats(old, a_batch, seen_old)
        refuse_repeats(new, b_batch, seen_new)
        a, b = (
            evaluate_batch(old, a_batch, old_years),
            evaluate_batch(new, b_batch, new_years),
        )
        valid = a_batch.columns.rows_valid & b_batch.columns.rows_valid
        report.rows += raw.num_rows
        report.invalid += int((~valid).sum())
        for benefit in common:
            _move(report.benefits[benefit], benefit, a, b, valid)
            if details:
                report.details += _details(benefit, a, b, valid, b_batch, first_row)
        first_row += raw.num_rows
    report.details.sort(key=lambda d: (d["row"], d["benefit"]))
    return report


def _move(
    entry: BenefitImpact, benefit: str, a: ColumnResult, b: ColumnResult, valid: np.ndarray
) -> None:
    pairs = a.statuses[benefit][valid].astype(np.int16) * 3 + b.statuses[benefit][valid]
    for code, count in enumerate(np.bincount(pairs, minlength=9)):
        if count:
            key = (STATUS_WORDS[code // 3], STATUS_WORDS[code % 3])
            entry.moves[key] = entry.moves.get(key, 0) + int(count)
    for result, side in ((a, "old"), (b, "new")):
        if benefit in result.estimates:
            amounts = result.estimates[benefit]
            total = getattr(entry, side + "_fen") or 0
            setattr(
                entry,
                side + "_fen",
                total + sum_fen(amounts, counted_amounts(result, benefit, valid)),
            )
            unknown = int(np.count_nonzero(unknown_amounts(result, benefit, valid)))
            setattr(entry, side + "_unknown", getattr(entry, side + "_unknown") + unknown)
            known = int(np.count_nonzero(counted_amounts(result, benefit, valid)))
            setattr(entry, side + "_known", getattr(entry, side + "_known") + known)


def _details(
    benefit: str, a: ColumnResult, b: ColumnResult, valid: np.ndarray, batch: Batch, first_row: int
) -> list[dict[str, Any]]:
    names, where = batch.names, batch.towns
    changed = np.flatnonzero(valid & (a.statuses[benefit] != b.statuses[benefit]))
    return [
        {
            "row": first_row + int(i),
            "name": names[i],
            "town": where[i],
            "benefit": benefit,
            "old": STATUS_WORDS[int(a.statuses[benefit][i])],
            "new": STATUS_WORDS[int(b.statuses[benefit][i])],
        }
        for i in changed
    ]
