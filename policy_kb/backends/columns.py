"""The column back-end: the same rule tree, evaluated over whole columns of enterprises.

The tree is compiled (:mod:`.program`) into a program for a small machine written in C
(``_vm.c``), which runs it over the batch in chunks of a few hundred rows with Python's lock
released: every benefit's status, the pre-check's verdict, route and score bounds, and every
amount, in one pass over the columns. The machine reads the batch where it lies — Arrow's
buffers of integers, doubles and bit-packed booleans, or numpy arrays — through a
:class:`Source` per fact.

An expression is the range of its value per row and a condition the rows where it certainly
holds and where it certainly fails, so an unknown fact is the range its domain allows, never 0
(Kleene's logic). Numbers are doubles — every whole number below 2**53 is exact, so 200,000,001
never passes a limit of 200,000,000 — ratios are compared with their tiers and amounts rounded
to the fen in exact integers; a row whose numbers are not whole and lie within a rounding error
of a tier or a half fen is returned as *undecided* (:attr:`ColumnResult.undecided`), for the
per-profile engine to answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import PolicyKBError
from ..policy.model import FactType, ParameterValue, PolicyModel, Status
from ..rules.tree import CategoryRef, Comparison, Condition, Const
from ..rules.walk import walk
from ..text import Msg
from .program import ABSENT, ANSWERS, EVERY, SOME, Layout, Program, Programs, TextTest

Bools = NDArray[np.bool_]
Floats = NDArray[np.float64]
Masks = tuple[Bools, Bools]

#: status codes in the result arrays
APPLIES, DOES_NOT_APPLY, UNDETERMINED = 0, 1, 2
STATUS_WORDS = tuple(s.value for s in Status)  # in the order of the codes above

#: how the machine reads a fact's values (low bits) and where they are given (high bits)
F64, I64, I32, BITS, BYTES = 1, 2, 3, 4, 5
_SHIFT = 4
GAPS_BITS, GAPS_BYTES = 1 << _SHIFT, 2 << _SHIFT
VALUES = (1 << _SHIFT) - 1  # the bits of a kind that say how values are laid out
_TEXTS = (FactType.TEXT, FactType.TOWN)


def machine() -> Any:
    """The machine of ``_vm.c`` (a clear error when the extension is not built)."""
    try:
        from . import _vm
    except ImportError as exc:  # a checkout used without installing it
        raise PolicyKBError(Msg("columns.no_machine", detail=str(exc))) from None
    return _vm


Argument = tuple[int, Any, Any, int]


@dataclass(frozen=True)
class Source:
    """How the machine reads one fact of a batch: ``values`` and ``valid`` are buffers (numpy
    arrays or Arrow buffers), ``kind`` their layout (:data:`F64` … :data:`BYTES`, or-ed with
    :data:`GAPS_BITS` / :data:`GAPS_BYTES` when ``valid`` marks where a value is given),
    ``offset`` the first row's place in them; ``every`` says every row gives it.

    A column that comes in parts (a table's chunks, as a CSV is parsed) has ``pieces``: one
    (kind, values, valid, offset) per part, read where they lie (no copy joins them)."""

    kind: int
    values: Any
    valid: Any
    offset: int
    every: bool
    pieces: tuple[Argument, ...] = ()

    def argument(self) -> Argument:
        return (self.kind, self.values, self.valid, self.offset)

    def arguments(self, bounds: tuple[int, ...]) -> list[Argument]:
        """One argument per part of a batch cut at ``bounds`` (each part's first row, then the
        row count): the pieces, or this buffer read from each part's first row."""
        if self.pieces:
            return list(self.pieces)
        return [(self.kind, self.values, self.valid, self.offset + b) for b in bounds[:-1]]

    @property
    def numeric(self) -> bool:
        """Whether the values are numbers (not yes/no)."""
        return self.kind & VALUES not in (BITS, BYTES)


@dataclass
class Column:
    """One fact over all rows: ``values`` (meaningful where ``known``) and ``known``."""

    values: NDArray[Any]
    known: Bools

    def source(self) -> Source:
        """How the machine reads this column."""
        known = np.ascontiguousarray(self.known, dtype=bool)
        if self.values.dtype == np.bool_:
            values: NDArray[Any] = np.ascontiguousarray(self.values)
            kind = BYTES
        else:
            values = np.ascontiguousarray(self.values, dtype=np.float64)
            kind = F64
        return Source(kind | GAPS_BYTES, values, known.view(np.uint8), 0, bool(known.all()))


class _Facts(MutableMapping[str, Column]):
    """The facts of a batch by id, each made into a :class:`Column` on first use (a roster's
    columns are read by the machine where they lie; reports read a few of them as arrays)."""

    def __init__(
        self, columns: Mapping[str, Column], later: Mapping[str, Callable[[], Column]]
    ) -> None:
        self._columns = dict(columns)
        self._later = dict(later)

    def __getitem__(self, name: str) -> Column:
        found = self._columns.get(name)
        if found is None:
            make = self._later.pop(name)  # KeyError: not a fact of the batch
            found = self._columns[name] = make()
        return found

    def __setitem__(self, name: str, column: Column) -> None:
        self._later.pop(name, None)
        self._columns[name] = column

    def __delitem__(self, name: str) -> None:
        self._later.pop(name, None)
        self._columns.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._columns or name in self._later

    def __iter__(self) -> Iterator[str]:
        yield from self._columns
        yield from (k for k in list(self._later) if k not in self._columns)

    def __len__(self) -> int:
        return len(self._columns) + len(self._later)


@dataclass
class CellCheck:
    """The checks of a batch's number cells, not made yet: the machine makes them as it
    evaluates the batch, window by window while the cells are in cache (or on their own, when
    something asks which rows are valid first).

    ``arguments`` are the sources to check, ``specs`` one (minimum, maximum, whole) each,
    ``pairs`` (i, j) for "source i ≤ source j"; ``invalid`` the rows refused so far (text cells),
    marked in place; ``settled`` is told the invalid rows once they are known."""

    arguments: list[Any]
    specs: list[tuple[float, float, int]]
    pairs: list[tuple[int, int]]
    invalid: Bools
    settled: Callable[[Bools], None]

    def machine_argument(self) -> tuple[Any, ...]:
        return (self.arguments, self.specs, self.pairs, self.invalid.view(np.uint8))


class Columns:
    """The facts of a batch of rows, as columns (``valid`` marks the rows that passed validation).

    ``facts`` maps fact ids to columns; ``sources`` (optional) says how the machine reads a fact
    without making it a numpy column first, and ``later`` how to make such a column when
    something asks for it. ``check`` holds the number cells' checks while they are not made
    (:class:`CellCheck`): ``valid`` makes them when read first."""

    def __init__(
        self,
        n: int,
        facts: Mapping[str, Column] | None = None,
        valid: Bools | None = None,
        *,
        sources: Mapping[str, Source] | None = None,
        later: Mapping[str, Callable[[], Column]] | None = None,
        bounds: tuple[int, ...] | None = None,
        check: CellCheck | None = None,
    ) -> None:
        self.n = n
        self.facts: MutableMapping[str, Column] = _Facts(facts or {}, later or {})
        self._valid = valid
        self._sources: dict[str, Source] = dict(sources or {})
        #: where the parts of a batch read in parts begin (then the row count), or None
        self.bounds = bounds
        self.check = check

    @property
    def valid(self) -> Bools | None:
        """The rows that passed validation (None: every row; the cells are checked first when
        their checks are still to be made)."""
        if self.check is not None:
            check, self.check = self.check, None
            machine().check(
                check.arguments,
                check.specs,
                check.pairs,
                self.n,
                check.invalid.view(np.uint8),
                self.bounds,
            )
            self.settle(check)
        return self._valid

    @valid.setter
    def valid(self, value: Bools | None) -> None:
        _ = self.valid  # the cells' own checks first: a mask set now adds to them
        self._valid = value

    def settle(self, check: CellCheck) -> None:
        """The checks made (by the machine, as it evaluated, or on their own): the valid rows."""
        self._valid = ~check.invalid
        check.settled(check.invalid)

    @property
    def rows_valid(self) -> Bools:
        """True for each row that passed validation (every row when none was checked)."""
        return self.valid if self.valid is not None else np.ones(self.n, dtype=bool)

    def subset(self, rows: NDArray[np.intp]) -> Columns:
        """The same facts for the rows at ``rows`` only."""
        return Columns(
            len(rows),
            {
                name: Column(c.values[rows], c.known[rows])
                for name, c in ((name, self.facts[name]) for name in list(self.facts))
            },
            None if self.valid is None else self.valid[rows],
        )

    def column(self, name: str) -> Column:
        """A fact's column (a fact no row gave: unknown everywhere)."""
        if name not in self.facts:
            self.facts[name] = Column(np.zeros(self.n), np.zeros(self.n, dtype=bool))
        return self.facts[name]

    def source(self, name: str) -> Source:
        """How the machine reads a fact the batch gives."""
        found = self._sources.get(name)
        if found is None:
            found = self._sources[name] = self.facts[name].source()
        return found

    def layout(self, model: PolicyModel) -> Layout:
        """What the batch gives of each fact of ``model``: nothing, some rows or every row (a
        text is only compared, never read as a range: SOME whenever it is there)."""
        return Layout(
            tuple(
                ABSENT
                if name not in self.facts
                else SOME
                if fact.type in _TEXTS or not self.source(name).every
                else EVERY
                for name, fact in model.facts.items()
            )
        )

    def argument(self, key: str | TextTest) -> Argument | list[Argument]:
        """An input of a program, as the machine takes it (one per part when in parts)."""
        if isinstance(key, str):
            source = self.source(key)
        else:
            hit, known = _text_test(key.node, [self.column(fact) for fact in key.facts])
            source = Source(BYTES | GAPS_BYTES, hit.view(np.uint8), known.view(np.uint8), 0, False)
        return source.argument() if self.bounds is None else source.arguments(self.bounds)


def _text_test(node: Comparison, columns: Sequence[Column]) -> tuple[Bools, Bools]:
    """A comparison of text facts over their columns of texts: (hit, known). The fact may stand
    on either side of a literal (``'湖塘镇' == town``), or two facts be compared."""
    if len(columns) == 2:
        hit = np.asarray(columns[0].values == columns[1].values, dtype=bool)
        known = columns[0].known & columns[1].known
    else:
        const = node.right if isinstance(node.right, Const) else node.left
        other = const.literal if isinstance(const, Const) else None
        values = columns[0].values
        if node.op in ("in", "not in"):
            hit = np.isin(values, list(other or ()))
        else:
            hit = np.asarray(values == other, dtype=bool)
        known = columns[0].known
    if node.op in ("not in", "!="):
        hit = ~hit
    return np.ascontiguousarray(hit, dtype=bool), np.ascontiguousarray(known, dtype=bool)


@dataclass
class PrecheckColumns:
    """The pre-check over all rows (``qualifies``: 1 yes, 0 no, -1 unknown)."""

    qualifies: NDArray[np.int8]
    route: NDArray[np.int8]  # 1 direct, 2 score, 0 none
    score_low: NDArray[np.int16]
    score_high: NDArray[np.int16]


@dataclass
class ColumnResult:
    """Every benefit's status, the pre-check and the estimates, for a batch of rows.

    ``undecided`` marks the valid rows the machine could not decide exactly (see the module);
    :func:`settle` gives them the per-profile engine's answers."""

    n: int
    statuses: dict[str, NDArray[np.int8]]
    precheck: PrecheckColumns | None
    estimates: dict[str, Floats]  # NaN where there is no amount
    counted: dict[str, Bools]  # the amount counts in the totals (not the lesser of two)
    undecided: Bools

    def settle(
        self,
        rows: Sequence[int],
        statuses: Sequence[Mapping[str, int]],
        prechecks: Sequence[tuple[int, int, int, int] | None],
        amounts: Sequence[Mapping[str, float]],
    ) -> None:
        """Put another engine's answers on ``rows`` (one entry per row: the status codes, the
        pre-check as (qualifies, route, low, high), the amounts, NaN for none)."""
        for i, row in enumerate(rows):
            for benefit, code in statuses[i].items():
                self.statuses[benefit][row] = code
            pre = prechecks[i]
            if self.precheck is not None and pre is not None:
                p = self.precheck
                p.qualifies[row], p.route[row], p.score_low[row], p.score_high[row] = pre
            for benefit, amount in amounts[i].items():
                self.estimates[benefit][row] = amount
            self.undecided[row] = False


def exclusive_counted(
    model: PolicyModel,
    statuses: Mapping[str, NDArray[np.int8]],
    estimates: Mapping[str, Floats],
    n: int,
) -> dict[str, Bools]:
    """Per estimate, the rows where its amount counts in the totals: all but the lesser of two
    benefits that may not be combined (of two equal amounts, the first counts)."""
    counted = {b: np.ones(n, dtype=bool) for b in estimates}
    for rule in model.exclusions:
        if rule.first in estimates and rule.second in estimates:
            a, b = estimates[rule.first], estimates[rule.second]
            both = (
                (statuses[rule.first] == APPLIES)
                & (statuses[rule.second] == APPLIES)
                & ~np.isnan(a)
                & ~np.isnan(b)
            )
            first = rule.first_counts(a, b)
            counted[rule.second] &= ~(both & first)
            counted[rule.first] &= ~(both & ~first)
    return counted


def merge_results(n: int, parts: Sequence[tuple[NDArray[np.intp], ColumnResult]]) -> ColumnResult:
    """One result for ``n`` rows from results over disjoint subsets: (row indices, result) pairs."""
    rows = [where for where, _ in parts]
    results = [result for _, result in parts]
    first = results[0]

    def each(arrays: Sequence[NDArray[Any]]) -> NDArray[Any]:
        out = np.empty(n, dtype=arrays[0].dtype)
        for where, values in zip(rows, arrays, strict=True):
            out[where] = values
        return out

    precheck = None
    pres = [r.precheck for r in results if r.precheck is not None]
    if len(pres) == len(results):
        precheck = PrecheckColumns(
            each([p.qualifies for p in pres]),
            each([p.route for p in pres]),
            each([p.score_low for p in pres]),
            each([p.score_high for p in pres]),
        )
    return ColumnResult(
        n,
        {b: each([r.statuses[b] for r in results]) for b in first.statuses},
        precheck,
        {b: each([r.estimates[b] for r in results]) for b in first.estimates},
        {b: each([r.counted[b] for r in results]) for b in first.counted},
        each([r.undecided for r in results]),
    )


def _run(
    program: Program, columns: Columns, check: CellCheck | None = None
) -> dict[tuple[Any, ...], NDArray[Any]]:
    """The machine over every row of ``columns``: each output by its key (with ``check``, the
    number cells are checked as they are evaluated)."""
    n = columns.n
    outputs = program.output_arrays(n)
    machine().run(
        program.init,
        program.body,
        program.xcode,
        program.sizes,
        program.dconst,
        program.xconst,
        program.dtab,
        program.xtab,
        [columns.argument(key) for key in program.inputs],
        outputs,
        n,
        columns.bounds,
        None if check is None else check.machine_argument(),
    )
    return {o.key: array for o, array in zip(program.outputs, outputs, strict=True)}


def evaluate_columns(
    model: PolicyModel,
    columns: Columns,
    parameters: Mapping[str, ParameterValue],
    programs: Programs | None = None,
) -> ColumnResult:
    """Evaluate every benefit, the pre-check and the estimates over the rows of ``columns``.

    ``programs`` keeps the compiled programs from batch to batch (a roster passes one)."""
    program = (programs or Programs(model)).get(columns.layout(model), parameters, ANSWERS)
    check, columns.check = columns.check, None  # the cells are checked as they are evaluated
    out = _run(program, columns, check)
    if check is not None:
        columns.settle(check)
    statuses = {b: out["status", b] for b in model.benefits}
    estimates = {
        b.id: out["amount", b.id] for b in model.benefits.values() if b.estimate is not None
    }
    precheck = None
    if model.evaluation is not None:
        precheck = PrecheckColumns(
            out["qualifies",], out["route",], out["score_low",], out["score_high",]
        )
    counted = exclusive_counted(model, statuses, estimates, columns.n)
    undecided = out["undecided",]
    if columns.valid is not None and not columns.valid.all():
        invalid = ~columns.valid
        for codes in statuses.values():
            codes[invalid] = UNDETERMINED
        for amounts in estimates.values():
            amounts[invalid] = np.nan
        if precheck is not None:
            precheck.qualifies[invalid] = -1
            precheck.route[invalid] = 0
        undecided &= columns.valid
    return ColumnResult(columns.n, statuses, precheck, estimates, counted, undecided)


def _conditions(model: PolicyModel) -> tuple[Condition, ...]:
    """Every condition node of every benefit, categories followed (what explanations read)."""
    categories = {k: c.condition for k, c in model.categories.items()}
    found: dict[int, Condition] = {}
    for benefit in model.benefits.values():
        for node in walk(benefit.condition, categories):
            if isinstance(node, Condition):
                found.setdefault(id(node), node)
    return tuple(found.values())


def _masks(
    model: PolicyModel,
    columns: Columns,
    parameters: Mapping[str, ParameterValue],
    nodes: tuple[Condition, ...],
    programs: Programs | None,
) -> dict[int, Masks]:
    program = (programs or Programs(model)).get(columns.layout(model), parameters, nodes)
    out = _run(program, columns)
    return {id(node): (out["true", id(node)], out["false", id(node)]) for node in nodes}


def evaluate_condition(
    model: PolicyModel,
    condition: Condition,
    columns: Columns,
    parameters: Mapping[str, ParameterValue],
) -> Masks:
    """One condition over the rows of ``columns``: the masks where it holds and where it fails."""
    return _masks(model, columns, parameters, (condition,), None)[id(condition)]


def condition_masks(
    model: PolicyModel,
    columns: Columns,
    parameters: Mapping[str, ParameterValue],
    programs: Programs | None = None,
) -> Callable[[Condition], Masks]:
    """The (holds, fails) masks of any condition over the rows of ``columns``: those of every
    benefit's conditions in one run of the machine, any other on its own."""
    found = _masks(model, columns, parameters, _conditions(model), programs)

    def masks(condition: Condition) -> Masks:
        key = id(condition)
        if key not in found:
            if isinstance(condition, CategoryRef):
                inner = model.categories[condition.category].condition
                found[key] = masks(inner)
            else:
                found.update(_masks(model, columns, parameters, (condition,), programs))
        return found[key]

    return masks


def sum_fen(amounts: Floats, where: Bools | None = None) -> int:
    """The exact sum, in fen, of amounts already rounded to the fen (no float drift over
    millions), over the rows ``where`` (every row when None; a NaN is no amount)."""
    values = np.ascontiguousarray(amounts, dtype=np.float64)
    if where is None:
        where = ~np.isnan(values)
    return int(machine().fen_total(values, np.ascontiguousarray(where, dtype=bool).view(np.uint8)))


def code_counts(
    arrays: Sequence[NDArray[np.int8]], valid: Bools | None = None
) -> list[tuple[int, int, int, int]]:
    """For each array of codes, how many rows (of those ``valid``) hold -1, 0, 1 and 2 — the
    statuses (applies, does not, undetermined) and the pre-check's verdict, in one pass each."""
    mask = None if valid is None else np.ascontiguousarray(valid, dtype=bool).view(np.uint8)
    found: list[tuple[int, int, int, int]] = machine().counts(
        [np.ascontiguousarray(a, dtype=np.int8) for a in arrays], mask
    )
    return found


def columns_from_values(model: PolicyModel, rows: int, values: Mapping[str, Any]) -> Columns:
    """Columns from plain lists with None for unknown (for tests and in-memory use)."""
    facts = {}
    for name, data in values.items():
        definition = model.facts.get(name)
        if definition is None:
            continue
        known = np.array([v is not None for v in data], dtype=bool)
        if definition.type in (FactType.TEXT, FactType.TOWN):
            arr: NDArray[Any] = np.array([v if v is not None else "" for v in data], dtype=object)
        elif definition.type is FactType.BOOL:
            arr = np.array([bool(v) if v is not None else False for v in data], dtype=bool)
        else:
            arr = np.array([float(v) if v is not None else 0.0 for v in data], dtype=np.float64)
        facts[name] = Column(arr, known)
    return Columns(rows, facts)


__all__ = [
    "APPLIES",
    "DOES_NOT_APPLY",
    "STATUS_WORDS",
    "UNDETERMINED",
    "CellCheck",
    "Column",
    "ColumnResult",
    "Columns",
    "PrecheckColumns",
    "Source",
    "code_counts",
    "condition_masks",
    "evaluate_columns",
    "evaluate_condition",
    "machine",
    "merge_results",
    "sum_fen",
]
