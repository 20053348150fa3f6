"""Rosters: thousands or millions of enterprises from CSV, Excel or Parquet, evaluated column-wise.

Reading streams the file in batches (pyarrow's CSV and Parquet readers; openpyxl's read-only mode
for .xlsx), so a file larger than memory is fine. Each batch is converted column by column
(:mod:`policy_kb.district.cells`): a cell that does not read as its fact's type marks the row as
invalid. An empty cell is unknown. Invalid rows are reported with their spreadsheet row number
(the header is row 1) and the message the per-profile validator gives for that row; the other
rows go on. Valid rows are evaluated by the column back-end (:mod:`policy_kb.backends.columns`),
then written to CSV, Parquet or JSON Lines.

Why these libraries: numpy gives the boolean masks of the three-valued logic; pyarrow reads and
writes CSV and Parquet in streaming batches and checks text cells with its compute functions;
polars writes CSV and JSON Lines quickly and holds the rows kept in memory. polars is imported
only for those (0.4 s and 45 MB that a Parquet run never pays).
"""

from __future__ import annotations

import csv
import mmap
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pyarrow as pa

from ..backends.columns import (
    APPLIES,
    DOES_NOT_APPLY,
    UNDETERMINED,
    ColumnResult,
    code_counts,
    machine,
    sum_fen,
)
from ..errors import ProfileIssue, RosterError
from ..files import FORMULA_START, atomic_path, check_output
from ..policy.loader import files_read
from ..policy.model import NUMERIC, FactType, PolicyModel
from ..policy.profile import NO_WORDS, YES_WORDS
from ..text import SHOWN_CHARACTERS, Msg, Words, cut, did_you_mean, printable
from .cells import CELLS_COLUMN, Batch, RowError, convert_batch
from .kernel import Years, answers, counted_amounts, evaluate_batch, known_total, unknown_amounts
from .pipeline import Behind
from .plaincsv import plain_table

if TYPE_CHECKING:
    import polars as pl

BATCH_ROWS = 50_000
#: amounts in 元 whose median (of the non-zero values in a column) is below this look like 万元
WAN_YUAN_MEDIAN = 10_000
#: a column needs this many non-zero amounts before its median is trusted
WAN_YUAN_SAMPLE = 10
CSV_BLOCK_BYTES = 8 * 1024 * 1024  # how much CSV text is parsed at a time (whole rows)
CSV_FIRST_BYTES = 1024 * 1024  # … and the first time (the engine and the writer start sooner)
CSV_PARSE_BLOCK = 2 * 1024 * 1024  # the parallel reader's block within that
CSV_STREAM_BLOCK = 16 * 1024 * 1024  # the streaming reader's block (a file with quotes)
_TEXTS = (FactType.TEXT, FactType.TOWN)


# ── reading ──────────────────────────────────────────────────────────────────────────────────


def header_map(
    model: PolicyModel, header: Sequence[str], source: str, ignore_unknown: bool
) -> dict[str, str]:
    """Column name → fact id, accepting fact ids and their Chinese or English labels."""
    by_name: dict[str, str] = {}
    for fact in model.facts.values():
        by_name[fact.id] = by_name[fact.label.zh] = by_name[fact.label.en] = fact.id
    mapping: dict[str, str] = {}
    unknown: list[str] = []
    blank = [i for i, column in enumerate(header) if not column.strip()]
    if blank and not ignore_unknown:  # cells of a sheet beside the table, with no column name
        raise RosterError(
            Msg(
                "roster.blank_header",
                source=source,
                columns=_column_letters(blank),
                n=f"{len(blank):,}",
            )
        )
    for column in header:
        name = column.strip()
        fact_id = by_name.get(name)
        if not name:
            continue
        if fact_id is None:
            if name in model.derived:
                raise RosterError(Msg("roster.derived_column", source=source, name=name))
            unknown.append(name)
            continue
        if fact_id in mapping.values():
            first = next(c for c, f in mapping.items() if f == fact_id)
            raise RosterError(
                Msg("roster.column_twice", source=source, fact=fact_id, name=name, first=first)
            )
        mapping[column] = fact_id
    if len(header) == 1 and (sep := next((c for c in (";", "\t", "|") if c in header[0]), None)):
        # one column whose name holds the separators: a file saved with another delimiter
        raise RosterError(Msg("roster.delimiter", source=source, sep=repr(sep)))
    if unknown and not ignore_unknown:
        names = [
            Msg("roster.column_hint", name=printable(n), hint=h)
            if (h := did_you_mean(n, list(by_name)))
            else Msg("literal", text=f"'{printable(n)}'")
            for n in unknown
        ]
        key = "roster.unknown_columns.one" if len(names) == 1 else "roster.unknown_columns"
        raise RosterError(Msg(key, source=source, names=Words(names)))
    return mapping


def _column_letters(indices: Sequence[int], shown: int = 5) -> str:
    """Columns as a spreadsheet names them, runs joined: ``C–D, F`` (the first few runs)."""

    def letter(i: int) -> str:
        name = ""
        i += 1
        while i:
            i, rest = divmod(i - 1, 26)
            name = chr(65 + rest) + name
        return name

    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    words = [letter(a) if a == b else f"{letter(a)}–{letter(b)}" for a, b in runs[:shown]]
    return ", ".join(words) + (", …" if len(runs) > shown else "")


ColumnTypes = Mapping[str, pa.DataType]
#: a batch of rows as read: one record batch, or a table of several read one after another
RawBatch: TypeAlias = pa.RecordBatch | pa.Table


@dataclass
class RosterFile:
    """An opened roster: its header, its row count when the format tells, and its batches."""

    path: Path
    header: list[str]
    rows: int | None
    _open: Callable[[ColumnTypes], Iterator[RawBatch]]

    def batches(self, types: ColumnTypes | None = None) -> Iterator[RawBatch]:
        """The rows in batches. ``types`` (column → Arrow type) lets a CSV be parsed typed;
        a column typed so is still checked cell by cell if any cell does not parse. A batch may
        come in parts (a table): :func:`one_batch` joins them."""
        return self._open(types or {})


def column_types(model: PolicyModel, mapping: Mapping[str, str]) -> dict[str, pa.DataType]:
    """The Arrow type each mapped column is parsed as: numbers as float64, yes/no as bool."""
    types: dict[str, pa.DataType] = {}
    for column, fact_id in mapping.items():
        kind = model.facts[fact_id].type
        if kind is FactType.BOOL:
            types[column] = pa.bool_()
        elif kind in NUMERIC:
            types[column] = pa.float64()
        elif kind is FactType.TOWN:
            types[column] = pa.dictionary(pa.int32(), pa.string())
    return types


def open_roster(path: str | os.PathLike[str], batch_rows: int = BATCH_ROWS) -> RosterFile:
    """Open a CSV, Parquet or .xlsx roster for streaming."""
    p = Path(path)
    suffix = p.suffix.lower()
    if p.is_dir():
        raise RosterError(Msg("roster.is_directory", path=str(path)))
    if not p.is_file():  # a device or a pipe exists, and is not a roster file
        key = "roster.not_a_file" if p.exists() else "file.no_such"
        raise RosterError(Msg(key, path=str(path)))
    if suffix == ".parquet":
        return _parquet_roster(p, batch_rows)
    if suffix in (".csv", ".txt"):
        return _csv_roster(p, batch_rows)
    if suffix == ".xlsx":
        return _xlsx_roster(p, batch_rows)
    raise RosterError(
        Msg("roster.format", path=str(path), suffix=suffix or Msg("roster.no_extension"))
    )


def _parquet_roster(p: Path, batch_rows: int) -> RosterFile:
    import pyarrow.parquet as pq

    # mapped, not read: the pages are decoded from the file's own memory, where a read copied
    # each column chunk into fresh memory first (measured on 1,000,000 rows in a fresh process:
    # 35 ms less CPU, the first batch 40 ms sooner)
    try:
        reader = pq.ParquetFile(p, memory_map=True)
    except (pa.ArrowInvalid, OSError) as exc:
        raise RosterError(Msg("roster.parquet", path=str(p), detail=str(exc))) from None
    schema = reader.schema_arrow

    def batches(types: ColumnTypes) -> Iterator[pa.RecordBatch]:
        # text columns asked for as dictionaries are decoded as such (a town: 11 values)
        wanted = [
            c
            for c, t in types.items()
            if pa.types.is_dictionary(t)
            and c in schema.names
            and pa.types.is_string(schema.field(c).type)
        ]
        typed = pq.ParquetFile(p, read_dictionary=wanted, memory_map=True) if wanted else reader
        # one thread decodes: with the engine's machine this fast, the answers' writer is the
        # slowest stage, and a second decoding thread only takes its core (measured: 0.07 s
        # less on 1,000,000 rows, two cores)
        found: Iterator[pa.RecordBatch] = typed.iter_batches(
            batch_size=batch_rows, use_threads=False
        )
        try:
            yield from found
        except (pa.ArrowException, OSError) as exc:  # a damaged page, found where it is read
            raise RosterError(Msg("roster.parquet", path=str(p), detail=str(exc))) from None

    return RosterFile(p, list(schema.names), reader.metadata.num_rows, batches)


def _spellings(words: frozenset[str]) -> list[str]:
    return sorted({w for word in words for w in (word, word.upper(), word.capitalize())})


def _csv_roster(path: Path, batch_rows: int) -> RosterFile:
    import pyarrow.csv as pacsv

    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        try:
            header = next(csv.reader(fh))
        except StopIteration:
            raise RosterError(Msg("roster.empty", path=str(path))) from None
        except UnicodeDecodeError:
            raise RosterError(Msg("roster.not_utf8", path=str(path))) from None
    if not header:  # a blank first line
        raise RosterError(Msg("roster.empty", path=str(path)))
    text = {name: pa.string() for name in header}

    convert = pacsv.ConvertOptions(
        null_values=[""],
        true_values=_spellings(YES_WORDS),
        false_values=_spellings(NO_WORDS),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )

    yes, no = _spellings(YES_WORDS), _spellings(NO_WORDS)

    def parse(data: pa.Buffer, types: ColumnTypes, quoted: bool) -> pa.Table:
        """One slice of whole rows: of the plain shape, by the machine's reader
        (:mod:`.plaincsv`); else by pyarrow's parallel reader."""
        if types and not quoted:
            plain = plain_table(data, header, {**text, **types}, yes, no)
            if plain is not None:
                return plain
        if types and _tiny(data):
            types = {}  # read as text: each cell checked on its own, a number below 5e-324 refused
        read = pacsv.ReadOptions(
            use_threads=True,
            block_size=max(CSV_PARSE_BLOCK, data.size // 8),
            column_names=header,
        )
        # a quoted cell may hold a line end: the reader's blocks must then follow the quotes
        # an empty line is a row (refused as empty): the rows after it keep their numbers
        options = pacsv.ParseOptions(newlines_in_values=quoted, ignore_empty_lines=False)
        convert.column_types = {**text, **types}
        try:
            return pacsv.read_csv(
                data, read_options=read, parse_options=options, convert_options=convert
            )
        except pa.ArrowInvalid as exc:
            if "straddles" not in str(exc):
                raise
            read.block_size = data.size + 1  # a row longer than a block: one block
            return pacsv.read_csv(
                data, read_options=read, parse_options=options, convert_options=convert
            )

    def unreadable(exc: pa.ArrowInvalid, stop: list[int], first: int) -> RosterError:
        """The run's error for a read that stopped: at a row that runs over a line end, named
        by its row in the file (``first`` is the file row of the read's first row)."""
        if stop:
            return RosterError(Msg("roster.csv_line_end", path=str(path), row=first + stop[0]))
        return RosterError(Msg("roster.csv", path=str(path), detail=str(exc)))

    def misshapen(data: pa.Buffer, quoted: bool, error: pa.ArrowInvalid, first: int) -> pa.Table:
        """A slice with rows of more or fewer cells than the header, read as text: each such
        row kept in its place with every cell empty, its count of cells in
        :data:`~policy_kb.district.cells.CELLS_COLUMN` (the row is refused, the others are
        read). Any other problem stops the run, as before. ``first``: the file row of the
        slice's first row."""
        bad: dict[int, int] = {}  # the row in the slice, from 0 → its cells
        stop: list[int] = []
        read = pacsv.ReadOptions(use_threads=False, block_size=data.size + 1, column_names=header)
        options = pacsv.ParseOptions(
            newlines_in_values=quoted,
            ignore_empty_lines=False,
            invalid_row_handler=_noting(bad, stop),
        )
        convert.column_types = dict(text)
        try:
            table = pacsv.read_csv(
                data, read_options=read, parse_options=options, convert_options=convert
            )
        except pa.ArrowInvalid as exc:
            raise unreadable(exc, stop, first) from None
        if not bad:
            raise RosterError(Msg("roster.csv", path=str(path), detail=str(error))) from None
        return _placed(table, bad, 0, len(header), rest=True)

    def streamed(rest: pa.Buffer, types: ColumnTypes, first: int) -> Iterator[pa.RecordBatch]:
        """The rest of the file from a row's start, by pyarrow's streaming reader (it follows
        quotes across its blocks): typed, and from the first cell that does not parse on, text;
        from the first row of the wrong number of cells on, text read row by row in order, each
        such row kept in its place and refused (as :func:`misshapen` does). ``first``: the
        file row of the first row of ``rest``."""
        done = 0  # rows of ``rest`` given so far, refused ones included
        current = dict(types)
        careful = False
        bad: dict[int, int] = {}  # the row of ``rest``, from 0 → its cells
        stop: list[int] = []
        note = _noting(bad, stop)
        while True:
            bad.clear()
            stop.clear()
            read = pacsv.ReadOptions(
                block_size=CSV_STREAM_BLOCK,
                use_threads=not careful,  # in order, so that pyarrow knows each row's number
                column_names=header,
                skip_rows_after_names=done,
            )
            options = pacsv.ParseOptions(
                newlines_in_values=True,  # this reader is for files with quotes
                ignore_empty_lines=False,
                invalid_row_handler=note if careful else None,
            )
            convert.column_types = {**text, **current}
            try:  # the reader parses its first block when it opens
                stream = pacsv.open_csv(
                    pa.BufferReader(rest),
                    read_options=read,
                    parse_options=options,
                    convert_options=convert,
                )
                for batch in stream:
                    if careful:
                        batch = _placed(batch, bad, done, len(header))
                    yield _marked(batch, len(header))
                    done += batch.num_rows
                if careful and bad and max(bad) >= done:  # refused rows at the very end
                    none = pa.RecordBatch.from_pylist([], schema=stream.schema)
                    yield _placed(none, bad, done, len(header), rest=True)
                return
            except pa.ArrowInvalid as exc:
                if current:
                    current = {}
                elif not careful:
                    careful = True
                else:
                    raise unreadable(exc, stop, first) from None

    def batches(types: ColumnTypes) -> Iterator[RawBatch]:
        # The rows after the header are cut into slices of whole rows — at a line end outside
        # every quoted cell, found by following the quotes as the parser does — each parsed by
        # pyarrow's parallel reader (twice as fast here as its streaming reader). A slice where
        # no row ends (a cell longer than a slice, a file of bare CR line ends) or with more
        # quotes than are worth following sends the rest of the file to the streaming reader.
        # Typed parsing is several times faster than text; a slice with a cell that does not
        # parse is read again as text, where every cell is checked on its own.
        pending: list[pa.RecordBatch] = []
        rows = 0

        def gather(found: Iterable[pa.RecordBatch]) -> Iterator[RawBatch]:
            nonlocal pending, rows
            for batch in found:
                if pending and not batch.schema.equals(pending[0].schema):
                    yield _gathered(pending)  # typed rows before, text rows from here
                    pending, rows = [], 0
                pending.append(batch)
                rows += batch.num_rows
                if rows >= batch_rows:
                    yield _gathered(pending)
                    pending, rows = [], 0

        with (
            path.open("rb") as fh,
            mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as scan,
            pa.memory_map(str(path), "r") as mapped,
        ):
            whole = mapped.read_buffer()
            start = _first_row_end(scan, 3 if scan[:3] == b"\xef\xbb\xbf" else 0)
            total = _data_end(scan, start, whole.size)
            size = CSV_FIRST_BYTES  # a small first slice: the engine and the writer start sooner
            given = 0  # rows read so far (the first is the file's row 2)
            while start < total:
                cut, quoted = _rows_end(scan, start, min(start + size, total))
                if cut is None:
                    opened = _open_quote_row(scan, start, total)
                    if opened is not None:
                        row = 2 + given + opened
                        raise RosterError(Msg("roster.csv_open_quote", path=str(path), row=row))
                    break
                data = whole.slice(start, cut - start)
                try:
                    table = parse(data, types, quoted)
                except pa.ArrowInvalid:
                    try:
                        table = parse(data, {}, quoted)
                    except pa.ArrowInvalid as exc:
                        table = misshapen(data, quoted, exc, 2 + given)
                given += table.num_rows
                yield from gather(_marked(table, len(header)).to_batches())
                if size < CSV_BLOCK_BYTES and pending:  # the first rows go on at once
                    yield _gathered(pending)
                    pending, rows = [], 0
                size = CSV_BLOCK_BYTES
                start = cut
            if start < total:
                rest = whole.slice(start, total - start)
                yield from gather(streamed(rest, {} if _tiny(rest) else types, 2 + given))
        if pending:
            yield _gathered(pending)

    return RosterFile(path, header, None, batches)


def _tiny(data: pa.Buffer) -> bool:
    """Whether CSV bytes may hold a number a double does not hold: one written smaller than the
    least double (``1e-400``, a decimal with 400 zeros), which pyarrow's typed parse reads as 0,
    or one of 16 digits or more, which it rounds (199999.99999999999999 → 200000). Such rows are
    read as text, where each cell is checked on its own and that one refused. Asked only of the
    rows the machine's reader leaves to pyarrow (it takes no exponent and no long decimal)."""
    return bool(machine().tiny(data))


def _noting(bad: dict[int, int], stop: list[int]) -> Callable[[Any], str]:
    """pyarrow's ``invalid_row_handler`` for a read in order: notes each row of the wrong number
    of cells in ``bad`` (its row, from 0 → its cells; 0 for a row of blank cells, refused as
    empty), to be refused in its place, and leaves it out of the read. It stops the read instead
    (noting the row, from 0, in ``stop``) when the row runs over a line end: a quote never
    closed takes the rest of the file into one cell, and refusing it as one row would lose every
    later row without a word; or when pyarrow cannot say which row it is."""

    def note(row: Any) -> str:
        text = row.text or ""
        if row.number is None:
            return "error"
        if "\n" in text or "\r" in text:
            stop.append(row.number - 1)
            return "error"
        bad[row.number - 1] = 0 if not text.replace(",", "").strip() else row.actual_columns
        return "skip"

    return note


def _placed(
    batch: RawBatch, bad: Mapping[int, int], first: int, expected: int, rest: bool = False
) -> RawBatch:
    """``batch`` (rows read in order from row ``first`` on, the refused ones left out) with each
    refused row of ``bad`` back in its place, every cell empty, its count of cells in
    :data:`~policy_kb.district.cells.CELLS_COLUMN`. ``rest``: also the refused rows after the
    batch's last row (the end of the file)."""
    picks: list[int | None] = []
    cells: list[int | None] = []
    position, taken = first, 0
    while taken < batch.num_rows or (rest and position in bad):
        if position in bad:
            picks.append(None)
            cells.append(bad[position])
        else:
            picks.append(taken)
            cells.append(None)
            taken += 1
        position += 1
    placed = batch.take(pa.array(picks, pa.int64())) if picks else batch
    return type(placed).from_arrays(
        [*placed.columns, pa.array(cells, pa.int32())],
        schema=placed.schema.append(_cells_field(expected)),
    )


def _cells_field(expected: int) -> pa.Field:
    """The field of :data:`~policy_kb.district.cells.CELLS_COLUMN`, with the header's count."""
    return pa.field(CELLS_COLUMN, pa.int32(), metadata={"expected": str(expected)})


def _marked(raw: RawBatch, expected: int) -> RawBatch:
    """``raw`` with its empty rows (no cell has a value: each is empty or spaces, as a cell of
    spaces is read as unknown) marked 0 in :data:`~policy_kb.district.cells.CELLS_COLUMN`, to
    be refused in their place."""
    names = raw.schema.names
    columns = [raw.column(i) for i, name in enumerate(names) if name != CELLS_COLUMN]
    texts = [pa.types.is_string(c.type) for c in columns]
    if (
        not raw.num_rows
        or not columns
        or any(not c.null_count and not text for c, text in zip(columns, texts, strict=True))
    ):
        return raw  # a typed column with no empty cell: no row is empty
    import pyarrow.compute as pc  # 40 ms to import: only here, where a row may be empty

    empty = np.ones(raw.num_rows, dtype=bool)
    for column, text in sorted(zip(columns, texts, strict=True), key=lambda ct: ct[1]):
        blank = column.is_null()
        if text:  # spaces only read as unknown
            blank = pc.or_(blank, pc.equal(pc.utf8_trim_whitespace(column), ""))
        empty &= np.asarray(blank.fill_null(True), dtype=bool)
        if not empty.any():
            return raw
    arrays, fields = list(raw.columns), list(raw.schema)
    if CELLS_COLUMN not in names:
        fields.append(_cells_field(expected))
        arrays.append(pa.array(np.zeros(raw.num_rows, np.int32), mask=~empty))
    else:
        at = names.index(CELLS_COLUMN)
        given = raw.column(at)
        known = np.asarray(given.is_valid(), dtype=bool)  # a misshapen row stays one
        cells = np.asarray(given.fill_null(0), dtype=np.int32)
        arrays[at] = pa.array(cells, mask=~(known | empty))
    return type(raw).from_arrays(arrays, schema=pa.schema(fields, raw.schema.metadata))


def _data_end(scan: mmap.mmap, start: int, size: int) -> int:
    """Where the rows end: lines with no value at the very end of a file — empty, or commas and
    spaces only, as a spreadsheet saves rows formatted and left empty — are not rows, while such
    a line between rows is one, refused as empty in its place. The last row keeps its line end."""
    end = size
    while end > start:
        body = end
        while body > start and scan[body - 1] in (0x0A, 0x0D):
            body -= 1  # the line end(s) of the last line
        line = max(scan.rfind(b"\n", start, body) + 1, start)
        if scan[line:body].strip(b" ,\t\r"):  # a line with a value: the rows end after it
            return body + (2 if scan[body : body + 2] == b"\r\n" else 1 if body < end else 0)
        end = line
    return start


_FIELD_START = frozenset(b",\r\n")  # what comes just before a quote that opens a cell
_QUOTE = 0x22
#: a slice with more quotes than this is left to the streaming reader (following each quote in
#: Python costs about as much as the parallel reader saves)
CSV_MAX_QUOTES = 20_000


def _quoted_spans(
    scan: mmap.mmap, start: int, end: int, most: int = CSV_MAX_QUOTES
) -> list[tuple[int, int]] | None:
    """The quoted cells of ``scan[start:end]`` (``start`` starts a row), as (open, close)
    positions of their quotes (close = ``end`` for one still open), following the quotes as the
    CSV parser does: a ``"`` opens a cell only at the start of a field, ``""`` inside is a
    quote, the next lone ``"`` closes it, and any other ``"`` is a plain character. None when
    there are more than ``most``."""
    spans: list[tuple[int, int]] = []
    opened = -1
    seen = 0
    found = scan.find(b'"', start, end)
    while found >= 0:
        seen += 1
        if seen > most:
            return None
        if opened < 0:
            if found == start or scan[found - 1] in _FIELD_START:
                opened = found
            found = scan.find(b'"', found + 1, end)
        elif found + 1 < end and scan[found + 1] == _QUOTE:  # "" inside a quoted cell
            found = scan.find(b'"', found + 2, end)
        else:
            spans.append((opened, found))
            opened = -1
            found = scan.find(b'"', found + 1, end)
    if opened >= 0:
        spans.append((opened, end))
    return spans


def _rows_end(scan: mmap.mmap, start: int, end: int) -> tuple[int | None, bool]:
    """Where the last whole row of ``scan[start:end]`` ends (``start`` starts a row): after a
    line end outside every quoted cell, or at the end of the file; and whether the slice holds
    a quoted cell. None where no row ends in the slice or its quotes are too many to follow."""
    spans = _quoted_spans(scan, start, end)
    if spans is None:
        return None, True
    at_end = end == len(scan)
    if at_end and (not spans or spans[-1][1] < end):
        return end, bool(spans)
    limit, k = end, len(spans) - 1
    while True:
        found = scan.rfind(b"\n", start, limit)
        if found < 0:
            return None, bool(spans)
        while k >= 0 and spans[k][0] > found:
            k -= 1
        if k >= 0 and found < spans[k][1]:  # inside a quoted cell: look before it
            limit = spans[k][0]
            continue
        return found + 1, bool(spans)


def _open_quote_row(scan: mmap.mmap, start: int, end: int) -> int | None:
    """The row (0 for the one at ``start``) where a quote opens that is never closed in
    ``scan[start:end]`` — a row of the right number of cells would otherwise take the rest of the
    file into its last cell without a word; None when every quote closes (or there are too many
    to follow)."""
    spans = _quoted_spans(scan, start, end)
    if not spans or spans[-1][1] != end:
        return None
    opened = spans[-1][0]
    inside = sum(scan[a:b].count(b"\n") for a, b in spans[:-1])  # line ends within cells
    return scan[start:opened].count(b"\n") - inside


def _first_row_end(scan: mmap.mmap, start: int) -> int:
    """Where the header row that begins at ``start`` ends: after its first line end (LF, CRLF or
    a bare CR) outside the quoted cells of :func:`_quoted_spans` — a quoted name may hold one."""
    total, size = len(scan), _HEADER_WINDOW
    while True:
        end = min(total, start + size)
        spans = _quoted_spans(scan, start, end, most=end - start) or []  # every quote followed
        position = start
        for opened, closed in [*spans, (end, end)]:
            line_end = _line_end(scan, position, opened)
            if line_end >= 0:
                crlf = scan[line_end] == 0x0D and scan[line_end + 1 : line_end + 2] == b"\n"
                return line_end + (2 if crlf else 1)
            position = closed + 1
        if end == total:
            return total  # the header is the whole file
        size *= 2


_HEADER_WINDOW = 4 * 1024  # where the header's end is looked for first


def _line_end(scan: mmap.mmap, position: int, end: int) -> int:
    """The first LF or CR in ``scan[position:end]`` (-1: none)."""
    lf = scan.find(b"\n", position, end)
    cr = scan.find(b"\r", position, end if lf < 0 else lf)
    return cr if cr >= 0 else lf


def _gathered(batches: list[pa.RecordBatch]) -> RawBatch:
    """Batches read one after another as one: a table of them (no copy), made one batch by
    :func:`one_batch` where it is converted."""
    return batches[0] if len(batches) == 1 else pa.Table.from_batches(batches)


def one_batch(raw: RawBatch) -> pa.RecordBatch:
    """A raw batch of a roster as one record batch (the copy that joins its parts; the engine
    itself reads a table's parts where they lie, see :func:`~.cells.convert_batch`)."""
    if isinstance(raw, pa.RecordBatch):
        return raw
    return raw.combine_chunks().to_batches()[0]


def _xlsx_roster(path: Path, batch_rows: int) -> RosterFile:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except Exception:  # openpyxl raises several types for a damaged file
        raise RosterError(Msg("roster.xlsx", path=str(path))) from None
    rows: Iterator[tuple[Any, ...]]
    if _has_formulas(path, getattr(sheet, "_worksheet_path", None)):
        # a formula's saved result is what is read: check that there is one
        rows = _with_results(path, sheet.iter_rows())
    else:
        rows = sheet.iter_rows(values_only=True)
    rows = _undamaged(path, rows)
    try:
        header = ["" if h is None else str(h) for h in next(rows)]
    except StopIteration:
        raise RosterError(Msg("roster.sheet_empty", path=str(path))) from None

    def cell(value: Any) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def batches(_types: ColumnTypes) -> Iterator[pa.RecordBatch]:
        # empty rows are held back until a row with a value follows: between rows they keep the
        # numbering (and are refused as empty); at the end of the sheet (rows formatted but
        # left empty) they are not rows
        chunk: list[list[str | None]] = []
        empty = 0
        for row in rows:
            cells = [cell(value) for value in row]  # each cell read once
            if all(value is None for value in cells):
                empty += 1
                continue
            chunk.extend([[]] * empty)
            empty = 0
            chunk.append(cells)
            if len(chunk) >= batch_rows:
                yield _to_batch(header, chunk)
                chunk = []
        if chunk:
            yield _to_batch(header, chunk)
        book.close()

    return RosterFile(path, header, max(sheet.max_row - 1, 0) if sheet.max_row else None, batches)


def _undamaged(path: Path, rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """The rows of a sheet, a damage found on the way (the sheet's XML cut short, an entity
    that is not defined, a part missing from the archive) said as a damaged workbook."""
    try:
        yield from rows
    except RosterError:
        raise
    except Exception:  # the XML parser's, zipfile's and openpyxl's own errors alike
        raise RosterError(Msg("roster.xlsx", path=str(path))) from None


def _has_formulas(path: Path, part: str | None) -> bool:
    """Whether the sheet read holds a formula (an ``<f>`` element of its XML, ``part`` of the
    archive; every sheet's when openpyxl does not say which): a look at the zipped XML, much
    quicker than reading the cells."""
    import zipfile

    wanted = part.lstrip("/") if part else None
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name == wanted or (
                    wanted is None and name.startswith("xl/worksheets/") and name.endswith(".xml")
                ):
                    with archive.open(name) as stream:
                        tail = b""
                        while chunk := stream.read(1 << 20):
                            text = tail + chunk
                            if b"<f>" in text or b"<f " in text or b":f>" in text or b":f " in text:
                                return True
                            tail = text[-3:]
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError):
        return False  # openpyxl read it: its reading decides
    return False


def _with_results(path: Path, rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """The values of the first sheet's cells, refused at the first formula whose result the file
    does not hold (a workbook written by a program, never opened in a spreadsheet): that cell
    would otherwise be read as empty, a fact unknown that the sheet does give. A saved empty
    text (=IF(…,"x","") in Excel or WPS) is a result: its cell is typed text, not a number."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        written = book.worksheets[0].iter_rows(values_only=True)
        for number, cells in enumerate(rows, start=1):
            row = tuple(getattr(c, "value", None) for c in cells)
            formulas = next(written, ())
            for column, value in enumerate(row):
                unsaved = value is None and getattr(cells[column], "data_type", None) == "n"
                if unsaved and column < len(formulas):
                    given = getattr(formulas[column], "text", formulas[column])  # array formulas
                    if isinstance(given, str) and given.startswith("="):
                        cell = f"{get_column_letter(column + 1)}{number}"
                        raise RosterError(
                            Msg(
                                "roster.xlsx_formula",
                                path=str(path),
                                cell=cell,
                                formula=given if len(given) <= SHOWN_CHARACTERS else cut(given),
                            )
                        )
            yield row
    finally:
        book.close()


def _to_batch(header: list[str], rows: list[list[str | None]]) -> pa.RecordBatch:
    """A sheet's rows, each cell already read as text (None: empty), as a batch of text."""
    columns = [
        pa.array([r[i] if i < len(r) else None for r in rows], type=pa.string())
        for i in range(len(header))
    ]
    return _marked(pa.RecordBatch.from_arrays(columns, names=header), len(header))


def name_key(name: object) -> str:
    """An enterprise's name as repeats are found: every space left out (full-width ones too),
    so 常州 乙 公司 and 常州乙公司 are one enterprise."""
    return "".join(str(name).split())


def refuse_repeats(model: PolicyModel, batch: Batch, seen: dict[str, int]) -> None:
    """A row naming an enterprise an earlier row already named is refused (and so counted once),
    with the row it repeats; ``seen`` carries the names from batch to batch."""
    fact = model.fact_of_type(FactType.TEXT)
    if fact is None:
        return
    if batch.name_column.null_count == len(batch.name_column):
        return  # no names in this batch: nothing can repeat
    valid = batch.columns.rows_valid
    repeated = []
    for i, name in enumerate(batch.names.tolist()):
        if name is None or not valid[i]:
            continue
        key = name_key(name)
        row = batch.first_row + i
        first = seen.setdefault(key, row)
        if first != row:
            repeated.append(i)
            batch.errors[row] = RowError(
                row, (fact,), (ProfileIssue(fact, Msg("roster.repeated", first=first)),)
            )
    if repeated:
        valid = valid.copy()
        valid[repeated] = False
        batch.columns.valid = valid


@dataclass(frozen=True)
class Reading:
    """How a roster is read; every district command (roster, progress, mobilise, impact) takes
    the same options.

    ``ignore_unknown_columns`` skips columns that are not facts instead of refusing the file.
    ``amounts_are_yuan`` confirms that amounts which look like 万元 are really in 元 (see
    :func:`refuse_wan_amounts`)."""

    ignore_unknown_columns: bool = False
    amounts_are_yuan: bool = False


#: the reading options when none are given
DEFAULT_READING = Reading()


def refuse_wan_amounts(model: PolicyModel, batch: Batch, source: str) -> None:
    """Refuse a roster whose amounts look as if they were written in 万元, not 元.

    Every column of amounts in 元 with at least :data:`WAN_YUAN_SAMPLE` non-zero values is
    looked at; when each such column has a median (of the absolute non-zero values) below
    :data:`WAN_YUAN_MEDIAN` — an enterprise roster whose typical revenue, assets and R&D
    spending are all under 一万元 — the amounts are almost surely in 万元, and every estimate,
    ratio and limit would be off by 10,000. Read from the first batch, before anything is
    evaluated or written; the first column whose median is in 元 ends the check (on the
    critical path of a run: 12 ms of the first batch when every column was read)."""
    medians: list[tuple[str, float]] = []
    for fact_id, column in batch.columns.facts.items():
        fact = model.facts[fact_id]
        if fact.unit != "元" or not fact.numeric:
            continue
        given = column.known & batch.columns.rows_valid
        values = np.abs(column.values[given].astype(np.float64))
        values = values[values > 0]
        if values.size >= WAN_YUAN_SAMPLE:
            median = _median(values)
            if median >= WAN_YUAN_MEDIAN:
                return  # one column in 元 is enough to clear the roster: the others not read
            medians.append((fact_id, median))
    if not medians:
        return
    shown = [
        Msg("roster.wan.column", fact=fid, label=model.fact_label(fid), median=f"{m:,.2f}")
        for fid, m in medians[:3]
    ]
    raise RosterError(Msg("roster.wan", source=source, columns=Words(shown)))


def _median(values: np.ndarray) -> float:
    """The median of a non-empty array (``np.median`` imports numpy.ma: 40 ms of each run)."""
    half = len(values) // 2
    ordered = np.partition(values, [half - 1, half] if len(values) % 2 == 0 else [half])
    if len(values) % 2:
        return float(ordered[half])
    return float((ordered[half - 1] + ordered[half]) / 2)


# ── the roster run ───────────────────────────────────────────────────────────────────────────


@dataclass
class RosterSummary:
    """Counts over a whole roster."""

    rows: int = 0
    invalid: int = 0
    statuses: dict[str, list[int]] = field(
        default_factory=dict
    )  # benefit → [applies, refused, undetermined]
    precheck: list[int] = field(
        default_factory=lambda: [0, 0, 0]
    )  # qualifies, does not, undetermined
    fen: dict[str, int] = field(default_factory=dict)  # estimate kind → amount in fen, exact
    errors: list[RowError] = field(default_factory=list)
    # estimate kind → the amounts summed in ``fen``, and the amounts of benefits that apply but
    # cannot be worked out (a fact unknown): left out of the sum, never counted as 0
    known: dict[str, int] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)
    # the year asked for (--year), and the valid rows whose own year it overrode (None: not
    # counted, as on Spark; never a 0 that was not counted)
    year: int | None = None
    overridden: int | None = 0

    @property
    def totals(self) -> dict[str, float]:
        """Estimate kind → total amount in yuan (summed in whole fen, so exact) of the known
        amounts; :attr:`unknown` counts the ones left out, and a kind whose every amount is
        unknown has no total here (its sum of no amount is not 0)."""
        return {
            kind: fen / 100
            for kind, fen in self.fen.items()
            if known_total(fen, self.known.get(kind, 0), self.unknown.get(kind, 0)) is not None
        }

    def count_amounts(self, kind: str, fen: int, known: int, unknown: int) -> None:
        """Add a batch's sum of known amounts of one benefit (in fen), how many there were, and
        how many of its amounts are unknown where it applies."""
        self.fen[kind] = self.fen.get(kind, 0) + fen
        self.known[kind] = self.known.get(kind, 0) + known
        if unknown:
            self.unknown[kind] = self.unknown.get(kind, 0) + unknown

    def add(self, model: PolicyModel, batch: Batch, result: ColumnResult) -> None:
        valid = batch.columns.rows_valid
        invalid = result.n - int(np.count_nonzero(valid))
        self.rows += result.n
        self.invalid += invalid
        self.errors.extend(sorted(batch.errors.values(), key=lambda e: e.row))  # in row order
        mask = valid if invalid else None  # the valid rows are counted (every row when all are)
        arrays = list(result.statuses.values())
        if result.precheck is not None:
            arrays.append(result.precheck.qualifies)
        counts = code_counts(arrays, mask)
        for benefit, (_, applies, refused, open_) in zip(result.statuses, counts, strict=False):
            total = self.statuses.setdefault(benefit, [0, 0, 0])
            total[APPLIES] += applies
            total[DOES_NOT_APPLY] += refused
            total[UNDETERMINED] += open_
        if result.precheck is not None:
            unknown, no, yes, _ = counts[-1]
            self.precheck[0] += yes
            self.precheck[1] += no
            self.precheck[2] += unknown
        for benefit, amounts in result.estimates.items():
            spec = model.benefits[benefit].estimate
            assert spec is not None
            where = counted_amounts(result, benefit, valid)
            self.count_amounts(
                spec.kind,
                sum_fen(amounts, where),
                int(np.count_nonzero(where)),
                int(np.count_nonzero(unknown_amounts(result, benefit, valid))),
            )


class _Writer:
    """Writes answer batches to CSV, Parquet or JSON Lines, chosen by the file's extension.

    The batches go to a temporary file beside the target; :meth:`commit` renames it onto the
    target once every batch is written, :meth:`abort` removes it (see :mod:`policy_kb.files`).
    """

    def __init__(
        self, path: str | os.PathLike[str], inputs: Sequence[str | os.PathLike[str]]
    ) -> None:
        self.path = Path(path)
        self.kind = self.path.suffix.lower()
        check_output(self.path, inputs)  # a folder, a missing folder, an input: said first
        if self.kind not in (".csv", ".parquet", ".jsonl", ".ndjson"):
            raise RosterError(
                Msg(
                    "roster.output_format",
                    path=str(path),
                    suffix=self.kind or Msg("roster.no_extension"),
                )
            )
        self._parquet: Any = None
        self._handle: Any = None
        self._first = True
        self._behind: Behind[pa.RecordBatch] = Behind(self._write)
        self._target = atomic_path(path, inputs)
        try:
            self._tmp = self._target.__enter__()
        except BaseException:  # refused, or interrupted before the file existed
            self._behind.cancel()
            raise

    def write(self, batch: pa.RecordBatch) -> None:
        """Write a batch of answers (on the writing thread, while the next batch is evaluated)."""
        self._behind.put(batch)

    def _write(self, batch: pa.RecordBatch) -> None:
        if self.kind == ".parquet":
            import pyarrow.parquet as pq

            if self._parquet is None:
                # statuses and texts have a few values each: dictionary-encoded; the numbers
                # (row numbers, amounts) have as many values as rows and carry min/max statistics
                texts = [f.name for f in batch.schema if not _is_number_type(f.type)]
                numbers = [f.name for f in batch.schema if _is_number_type(f.type)]
                # whole numbers (row numbers, score bounds) as deltas: 40 % less writing time
                # than plain values, and a smaller file (standard Parquet; every reader reads it)
                ints = [f.name for f in batch.schema if pa.types.is_integer(f.type)]
                self._parquet = pq.ParquetWriter(
                    self._tmp,
                    batch.schema,
                    use_dictionary=texts,
                    write_statistics=numbers,
                    column_encoding=dict.fromkeys(ints, "DELTA_BINARY_PACKED"),
                )
            self._parquet.write_batch(batch)
            return
        import polars as pl

        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        if self._handle is None:
            self._handle = self._tmp.open("wb")
        if (
            self.kind == ".csv"
        ):  # only a CSV is opened by a spreadsheet: the other formats keep names as given
            neutralise_text(frame).write_csv(self._handle, include_header=self._first)
        else:
            frame.write_ndjson(self._handle)
        self._first = False

    def _close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._handle is not None:
            self._handle.close()

    def commit(self) -> None:
        """Every batch is written: put the file under its final name."""
        try:
            self._behind.finish()
        except BaseException as exc:
            self.abort(exc)
            raise
        self._close()
        self._target.__exit__(None, None, None)

    def abort(self, exc: BaseException) -> None:
        """The run failed or was interrupted: leave nothing under the final name."""
        try:
            self._behind.cancel()
            self._close()
        finally:
            self._target.__exit__(type(exc), exc, exc.__traceback__)


def _is_number_type(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def as_frame(rows: pa.RecordBatch) -> pl.DataFrame:
    """A batch of answers as a polars frame, the statuses as text (what ``keep=True`` gives)."""
    import polars as pl

    plain = pa.RecordBatch.from_arrays(
        [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in rows.columns],
        names=rows.schema.names,
    )
    frame = pl.from_arrow(plain)
    assert isinstance(frame, pl.DataFrame)
    return frame


def neutralise_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading ``'`` (OWASP's advice
    on CSV injection); numbers are left as they are."""
    import polars as pl

    fixes = [
        pl.when(pl.any_horizontal([pl.col(name).str.starts_with(c) for c in FORMULA_START]))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    ]
    return frame.with_columns(fixes) if fixes else frame


@dataclass
class RosterRun:
    """What a roster run produced: the summary, and the rows if they were kept."""

    summary: RosterSummary
    frames: list[pl.DataFrame]


class Converter:
    """Raw batches of a roster, in order, into the engine's batches: each cell checked, the row
    numbers counted on (the header is row 1), repeated enterprises refused across batches and
    amounts that look like 万元 refused on the first batch (:func:`refuse_wan_amounts`)."""

    def __init__(
        self, model: PolicyModel, mapping: Mapping[str, str], source: str, reading: Reading
    ) -> None:
        self.model, self.mapping, self.source, self.reading = model, mapping, source, reading
        self.first_row = 2
        self.seen: dict[str, int] = {}

    def __call__(self, raw: RawBatch) -> Batch:
        batch = convert_batch(self.model, raw, self.mapping, self.first_row)
        if self.first_row == 2 and not self.reading.amounts_are_yuan:
            refuse_wan_amounts(self.model, batch, self.source)
        refuse_repeats(self.model, batch, self.seen)
        self.first_row += raw.num_rows
        return batch


def batches_of(
    model: PolicyModel,
    path: str | os.PathLike[str],
    *,
    reading: Reading = DEFAULT_READING,
    batch_rows: int = BATCH_ROWS,
) -> tuple[RosterFile, Iterator[RawBatch], Converter]:
    """A roster's raw batches as read, and what converts each, in order, for the engine."""
    roster = open_roster(path, batch_rows)
    mapping = header_map(model, roster.header, str(path), reading.ignore_unknown_columns)
    return (
        roster,
        roster.batches(column_types(model, mapping)),
        Converter(model, mapping, str(path), reading),
    )


def run_roster(
    model: PolicyModel,
    path: str | os.PathLike[str],
    years: Years,
    *,
    output: str | os.PathLike[str] | None = None,
    keep: bool = False,
    progress: bool = False,
    reading: Reading = DEFAULT_READING,
    batch_rows: int = BATCH_ROWS,
    each: Callable[[Batch, ColumnResult], None] | None = None,
    lang: str = "zh",
) -> RosterRun:
    """Evaluate every row of a roster file; write the answers to ``output`` and/or keep them.

    The file is read on the calling thread (pyarrow decodes on threads of its own) while the
    batch read before is converted and evaluated on the engine's thread and the one before that
    written on the writer's (:mod:`.pipeline`): on two cores reading, evaluating and writing
    overlap instead of taking turns. ``each`` is called on the engine's thread, batch by batch
    in order."""
    writer: _Writer | None = None
    engine: Behind[RawBatch] | None = None
    raw: Iterator[RawBatch] | None = None
    bar: Any = None
    summary = RosterSummary()
    frames: list[pl.DataFrame] = []
    # one try from the first file made to the last batch: an interrupt anywhere in between
    # (Ctrl-C, SIGTERM) stops every stage and leaves no output file
    try:
        if output is not None:  # refused before reading
            writer = _Writer(output, [path, *files_read(model)])
        roster, raw, convert = batches_of(model, path, reading=reading, batch_rows=batch_rows)
        bar = _progress_bar(roster.rows, progress)

        def step(batch_read: RawBatch) -> None:
            batch = convert(batch_read)
            result = evaluate_batch(model, batch, years)
            summary.add(model, batch, result)
            summary.year = years.fixed
            summary.overridden = (summary.overridden or 0) + years.overridden(model, batch.columns)
            if each is not None:
                each(batch, result)
            if writer is not None or keep:
                rows = answers(model, batch, result, lang)
                if writer is not None:
                    writer.write(rows)
                if keep:
                    frames.append(as_frame(rows))
            if bar is not None:
                bar.update(result.n)

        engine = Behind(step, depth=1, name="policy-kb-engine")
        handed = 0
        for batch_read in raw:
            engine.put(batch_read)
            handed += 1
        if not handed and (writer is not None or keep):
            # a roster of a header alone: its answers are a table of no rows with every column
            # (a 0-byte .parquet was no Parquet file, a 0-byte .csv had no header)
            engine.put(_no_rows(model, roster, convert.mapping))
        engine.finish()
    except BaseException as exc:
        if engine is not None:
            engine.cancel()
        if writer is not None:
            writer.abort(exc)
        raise
    else:
        if writer is not None:
            writer.commit()
    finally:
        close = getattr(raw, "close", None)
        if close is not None:
            close()  # closes the file if the run ended early
        if bar is not None:
            bar.close()
    return RosterRun(summary, frames)


def _no_rows(model: PolicyModel, roster: RosterFile, mapping: Mapping[str, str]) -> RawBatch:
    """A batch of no rows with the roster's columns, typed as its batches would be."""
    types = column_types(model, mapping)
    return pa.RecordBatch.from_pylist(
        [], schema=pa.schema([(c, types.get(c, pa.string())) for c in roster.header])
    )


def _progress_bar(total: int | None, wanted: bool) -> Any:
    if not wanted or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit=" rows", unit_scale=True, file=sys.stderr, leave=False)
