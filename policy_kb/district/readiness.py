"""免申即享 readiness of a roster: per benefit and per town, who could be granted without an
application, who must bring documents (which, counted), and whose answer waits on data that
another department already holds (the facts a 科技局 could ask that department for, counted).

Each row is read as the per-profile answer reads it (:func:`~policy_kb.reason.evidence.application`):
the facts that decided a benefit, and their evidence (``evidence:`` in measures.yaml). The counts
are over the rows that passed validation; the same kernel as ``roster`` evaluates them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..backends.columns import APPLIES, DOES_NOT_APPLY, UNDETERMINED, ColumnResult
from ..policy.model import PolicyModel
from ..reason.evidence import government_fact
from .cells import Batch
from .kernel import Years, deciding_batch
from .roster import DEFAULT_READING, Reading, run_roster

Bools = NDArray[np.bool_]

#: what a row of the counts is about: one benefit, or any benefit (documents and requests)
ANY_BENEFIT = "*"


@dataclass
class Counts:
    """How the enterprises of one town stand for one benefit (or, for ``ANY_BENEFIT``, which
    documents and data they need for at least one benefit)."""

    enterprises: int = 0
    no_application: int = 0  # applies, every deciding fact proven by government-held evidence
    documents_needed: int = (
        0  # applies or undetermined, some deciding fact proven by the enterprise
    )
    not_applicable: int = 0
    undetermined: int = 0
    waiting_for_data: int = (
        0  # undetermined and a deciding fact unknown that a government holder keeps
    )
    documents: dict[str, int] = field(default_factory=dict)  # evidence id → enterprises
    requests: dict[str, int] = field(default_factory=dict)  # fact → enterprises

    def add(self, other: Counts) -> None:
        """Add ``other``'s counts to these."""
        for name in (
            "enterprises",
            "no_application",
            "documents_needed",
            "not_applicable",
            "undetermined",
            "waiting_for_data",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for mine, theirs in ((self.documents, other.documents), (self.requests, other.requests)):
            for key, value in theirs.items():
                mine[key] = mine.get(key, 0) + value

    def to_dict(self) -> dict[str, Any]:
        return {
            "enterprises": self.enterprises,
            "no_application": self.no_application,
            "documents_needed": self.documents_needed,
            "not_applicable": self.not_applicable,
            "undetermined": self.undetermined,
            "waiting_for_government_data": self.waiting_for_data,
            "documents": dict(self.documents),
            "data_requests": dict(self.requests),
        }


@dataclass
class Readiness:
    """The readiness report: ``counts[(benefit or ANY_BENEFIT, town)]``; a town of None is a
    row that names none. ``town`` is the one town asked for, if any."""

    rows: int = 0
    invalid: int = 0
    town: str | None = None
    benefits: tuple[str, ...] = ()
    towns: list[str | None] = field(default_factory=list)
    counts: dict[tuple[str, str | None], Counts] = field(default_factory=dict)
    errors: list[Any] = field(default_factory=list)  # the refused rows (RowError), in file order

    def of(self, benefit: str, town: str | None) -> Counts:
        """The counts of one benefit (or ``ANY_BENEFIT``) in one town (zero where none)."""
        return self.counts.get((benefit, town), Counts())

    def district(self, benefit: str) -> Counts:
        """The counts of one benefit over every town of the report."""
        total = Counts()
        for town in self.towns:
            total.add(self.of(benefit, town))
        return total

    def to_dict(self) -> dict[str, Any]:
        def block(benefit: str) -> dict[str, Any]:
            return {
                "towns": [
                    {"town": town, **self.of(benefit, town).to_dict()} for town in self.towns
                ],
                "total": self.district(benefit).to_dict(),
            }

        every = block(ANY_BENEFIT)
        for entry in (*every["towns"], every["total"]):  # no status is "any benefit"'s own
            del entry["not_applicable"], entry["undetermined"]
        return {
            "rows": self.rows,
            "invalid_rows": self.invalid,
            "town": self.town,
            "benefits": [{"benefit": b, **block(b)} for b in self.benefits],
            "any_benefit": every,
        }


def readiness(
    model: PolicyModel,
    path: str | os.PathLike[str],
    years: Years,
    *,
    town: str | None = None,
    show: bool = False,
    reading: Reading = DEFAULT_READING,
) -> Readiness:
    """The 免申即享 readiness of every benefit, per town, over the rows of a roster."""
    report = Readiness(town=town, benefits=tuple(model.benefits))
    held = {f: government_fact(model, f) for f in model.facts}
    asked = tuple(k for k in model.evidence if k.held is not True)  # what an enterprise provides
    seen: dict[str | None, int] = {}

    def each(batch: Batch, result: ColumnResult) -> None:
        n = result.n
        valid = batch.columns.rows_valid
        report.rows += n
        report.invalid += int((~valid).sum())
        report.errors.extend(batch.errors.values())
        names = batch.towns
        keep = valid if town is None else valid & (names == town)
        codes = np.fromiter((seen.setdefault(t, len(seen)) for t in names), np.intp, n)
        decided = deciding_batch(model, batch, years)
        any_docs: dict[str, Bools] = {}
        any_requests: dict[str, Bools] = {}
        any_ready = np.zeros(n, dtype=bool)
        for benefit, status in result.statuses.items():
            facts = decided[benefit]
            applies, refused = status == APPLIES, status == DOES_NOT_APPLY
            open_ = status == UNDETERMINED
            docs = {
                k.id: _any((facts[f] for f in k.proves if f in facts), n) & ~refused for k in asked
            }
            needs = _any(docs.values(), n)
            requests = {
                f: open_ & rows & ~batch.columns.column(f).known
                for f, rows in facts.items()
                if held.get(f, False)
            }
            masks = {
                "enterprises": np.ones(n, dtype=bool),
                "no_application": applies & ~needs,
                "documents_needed": needs,  # (the document masks already exclude refused rows)
                "not_applicable": refused,
                "undetermined": open_,
                "waiting_for_data": _any(requests.values(), n),
            }
            _tally(report, benefit, codes, keep, masks, docs, requests, seen)
            any_ready |= masks["no_application"]
            for key, rows in docs.items():
                any_docs[key] = any_docs[key] | rows if key in any_docs else rows
            for key, rows in requests.items():
                any_requests[key] = any_requests[key] | rows if key in any_requests else rows
        masks = {
            "enterprises": np.ones(n, dtype=bool),
            "no_application": any_ready,
            "documents_needed": _any(any_docs.values(), n),
            "waiting_for_data": _any(any_requests.values(), n),
        }
        _tally(report, ANY_BENEFIT, codes, keep, masks, any_docs, any_requests, seen)

    run_roster(model, path, years, progress=show, each=each, reading=reading)
    order = {t.name: t.seq for t in model.targets.towns} if model.targets else {}
    present = {t for (_, t), c in report.counts.items() if c.enterprises}
    report.towns = sorted(present, key=lambda t: (t is None, order.get(t or "", 10**6), t or ""))
    return report


def _any(masks: Iterable[Bools], n: int) -> Bools:
    out = np.zeros(n, dtype=bool)
    for mask in masks:
        out |= mask
    return out


def _tally(
    report: Readiness,
    benefit: str,
    codes: NDArray[np.intp],
    keep: Bools,
    masks: dict[str, Bools],
    docs: dict[str, Bools],
    requests: dict[str, Bools],
    seen: dict[str | None, int],
) -> None:
    """Add one batch's masks to the report, counted per town (``seen``: town → code)."""
    index = {code: name for name, code in seen.items()}
    towns = len(seen)

    def per_town(mask: Bools) -> NDArray[np.int64]:
        return np.bincount(codes[keep & mask], minlength=towns)

    for attr, mask in masks.items():
        for code, count in enumerate(per_town(mask).tolist()):
            if count:
                entry = report.counts.setdefault((benefit, index[code]), Counts())
                setattr(entry, attr, getattr(entry, attr) + count)
    for into, found in (("documents", docs), ("requests", requests)):
        for key, mask in found.items():
            for code, count in enumerate(per_town(mask).tolist()):
                if count:
                    counter = getattr(
                        report.counts.setdefault((benefit, index[code]), Counts()), into
                    )
                    counter[key] = counter.get(key, 0) + count


__all__ = ["ANY_BENEFIT", "Counts", "Readiness", "readiness"]
