"""Rosters: the column engine against the per-profile engine, file formats, bad rows, bounds."""

from __future__ import annotations

import csv
import json
import random
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import policy_kb
from policy_kb import RosterError
from policy_kb.backends.columns import (
    APPLIES,
    UNDETERMINED,
    Column,
    Columns,
    columns_from_values,
    evaluate_columns,
    evaluate_condition,
)
from policy_kb.district import roster as _roster
from policy_kb.rules.tree import Comparison, FactRef
from policy_kb.rules.walk import comparisons_of, constant_value, facts_in

ROWS = 5_000
TYPICAL = {  # ordinary values, mixed with the policy's own bounds (read from the model)
    "employees": [8, 60, 150, 1200],
    "tech_staff": [0, 3, 12, 40],
    "annual_revenue": [3_000_000, 30_000_000, 450_000_000],
    "total_assets": [4_000_000, 90_000_000, 380_000_000],
    "total_costs": [2_500_000, 25_000_000, 300_000_000],
    "taxable_income": [-50_000, 400_000, 6_000_000],
    "rd_expense": [150_000, 900_000, 8_000_000],
    "rd_expense_prior_year": [0, 700_000, 4_000_000],
    "ip_class1": [0, 1, 2],
    "ip_class2": [0, 1, 3, 4, 7],
    "tech_transfer_income": [0, 800_000, 9_000_000],
    "local_contribution": [0, 600_000, 2_500_000],
    "local_contribution_prior_year": [0, 500_000, 2_500_000],
}
AMOUNTS = [f for f in TYPICAL if f not in ("employees", "tech_staff", "ip_class1", "ip_class2")]


# ── a generated roster with unknowns and values at every bound ───────────────────────────────


def generate_rows(kb: policy_kb.KnowledgeBase, n: int, seed: int) -> list[dict[str, Any]]:
    """Profiles with ~20 % unknown facts and numbers at, just under and just over every bound."""
    rng = random.Random(seed)
    bounds = kb.thresholds()
    params = kb.parameters_for_year(2021)
    method = kb.model.evaluation
    assert method is not None
    ratios = [s for i in method.indicators for s in i.parts if s.denominator is not None]
    flags = [f.id for f in kb.model.facts.values() if f.type.value == "bool"]
    towns = [t.name for t in kb.towns]
    rows = []
    for i in range(n):
        row: dict[str, Any] = {"name": f"测试企业{i:05d}有限公司"}
        for fact, typical in TYPICAL.items():
            if rng.random() < 0.2:
                continue
            value = rng.choice([*typical, *bounds.get(fact, ())])
            value += rng.choice([-1, 0, 0, 1])
            row[fact] = max(value, 0) if fact != "taxable_income" else value
        if rng.random() < 0.3 and {"rd_expense", "rd_expense_prior_year"} <= row.keys():
            growth = rng.choice(bounds["rd_expense_growth"])  # a growth at its bound, ± 1 yuan
            row["rd_expense"] = row["rd_expense_prior_year"] + growth + rng.choice([-1, 0, 1])
        if rng.random() < 0.3:  # a ratio exactly at a tier of the evaluation's score tables
            source = rng.choice(ratios)
            tier = rng.choice(params[source.table].tiers)
            den = rng.choice(TYPICAL[str(source.denominator)])
            row[str(source.denominator)] = den
            row[str(source.numerator)] = max(den * tier.at_least // 100 + rng.choice([-1, 0, 1]), 0)
        if rng.random() < 0.1:  # a ratio exactly at a tier, with amounts in fen
            source = rng.choice([r for r in ratios if str(r.numerator) in AMOUNTS])
            tier = rng.choice(params[source.table].tiers)
            k = Decimal(rng.randrange(1, 10**6))  # numerator / denominator = at_least % exactly
            row[str(source.numerator)] = float(k * Decimal(str(tier.at_least)) / 10)
            row[str(source.denominator)] = float(k * 10)
        if rng.random() < 0.15:  # amounts in fen: estimates that end in a half fen must round up
            for fact in AMOUNTS:
                if fact in row and rng.random() < 0.5:
                    row[fact] = round(row[fact] + rng.randrange(100) / 100, 2)
        if "employees" in row and "tech_staff" in row:
            row["tech_staff"] = min(row["tech_staff"], row["employees"])
        if rng.random() < 0.1 and "rd_expense" in row:
            row["rd_expense"] += 0.5  # half a yuan: amounts need not be whole
        for fact in flags:
            if rng.random() >= 0.2:
                row[fact] = rng.random() < 0.5
        if rng.random() >= 0.05:
            row["town"] = rng.choice(towns)
        rows.append(row)
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]], header: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else _cell(row[c]) for c in header])


def _cell(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def write_parquet(path: Path, rows: list[dict[str, Any]], kb: policy_kb.KnowledgeBase) -> None:
    columns = sorted({k for r in rows for k in r})
    arrays = []
    for c in columns:
        kind = kb.model.facts[c].type.value
        arrow = {"bool": pa.bool_(), "text": pa.string(), "town": pa.string()}.get(kind)
        if arrow is None:
            fractional = any(isinstance(r.get(c), float) for r in rows)
            arrow = pa.float64() if fractional else pa.int64()
        arrays.append(pa.array([r.get(c) for r in rows], type=arrow))
    pq.write_table(pa.Table.from_arrays(arrays, names=columns), path)


@pytest.fixture(scope="module")
def generated(kb, tmp_path_factory) -> tuple[list[dict[str, Any]], Path]:
    rows = generate_rows(kb, ROWS, seed=7)
    path = tmp_path_factory.mktemp("roster") / "generated.csv"
    header = ["name", "town", *sorted({k for r in rows for k in r} - {"name", "town"})]
    write_csv(path, rows, header)
    return rows, path


def _disagreements(
    kb, rows: list[dict[str, Any]], frame: pl.DataFrame, totals: dict[str, Decimal] | None = None
) -> list[str]:
    """Every difference between the roster's answers and ``evaluate`` on each row alone."""
    found = []
    for i, profile in enumerate(rows):
        got = frame.row(i, named=True)
        ev = kb.evaluate(profile)
        if totals is not None:
            for kind, amount in ev.totals().items():
                totals[kind] = totals.get(kind, Decimal(0)) + amount
        for b in ev.benefits:
            if got[b.id] != b.status.value:
                found.append(f"row {i + 2} {b.id}: {got[b.id]} != {b.status.value}")
        pre = ev.precheck
        want = (pre.qualifies, pre.route, pre.score, pre.score_low, pre.score_high)
        have = tuple(
            got[k]
            for k in (
                "precheck_qualifies",
                "precheck_route",
                "precheck_score",
                "precheck_score_low",
                "precheck_score_high",
            )
        )
        if have != want:
            found.append(f"row {i + 2} pre-check: {have} != {want}")
        for benefit, estimate in ev.estimates.items():
            value = got.get(f"estimate:{benefit}")
            if estimate.amount is None:
                if value is not None:
                    found.append(f"row {i + 2} {benefit}: {value} != None")
            elif value is None or Decimal(str(value)) != estimate.amount:
                found.append(f"row {i + 2} {benefit}: {value} != {estimate.amount}")
    return found


def test_roster_equals_evaluate_on_every_row_of_a_generated_roster(kb, generated):
    rows, path = generated
    run = kb.roster(path, keep=True)
    frame = pl.concat(run.frames)
    assert frame.height == ROWS
    assert run.summary.invalid == 0
    # the roster exercises all three answers of every benefit and of the pre-check
    for benefit, counts in run.summary.statuses.items():
        assert all(c > 0 for c in counts), (benefit, counts)
    assert all(c > 0 for c in run.summary.precheck)
    totals: dict[str, Decimal] = {}
    assert _disagreements(kb, rows, frame, totals) == []
    # the estimated totals, summed in fen, equal the per-profile totals added up exactly
    assert {k: Decimal(v) / 100 for k, v in run.summary.fen.items()} == totals
    # and the amounts left out, unknown where their benefit applies, are counted as each
    # profile counts them
    unknown: dict[str, int] = {}
    for row in rows:
        for kind, n in kb.evaluate(row).unknown_amounts().items():
            unknown[kind] = unknown.get(kind, 0) + n
    assert run.summary.unknown == unknown
    assert unknown


def test_the_generated_roster_sits_on_every_bound(kb, generated):
    rows, _ = generated
    for fact, bounds in kb.thresholds().items():
        if fact == "rd_expense_growth":  # derived: rd_expense - rd_expense_prior_year
            have = {"rd_expense", "rd_expense_prior_year"}
            seen = {r["rd_expense"] - r["rd_expense_prior_year"] for r in rows if have <= r.keys()}
        else:
            seen = {r[fact] for r in rows if fact in r}
        minimum = kb.model.facts[fact].minimum if fact in kb.model.facts else None
        for bound in bounds:
            wanted = {bound, bound + 1}
            if minimum is None or bound - 1 >= minimum:
                wanted.add(bound - 1)
            assert wanted <= seen, (fact, bound, sorted(wanted - seen))


def test_parquet_and_xlsx_give_the_same_answers_as_csv(kb, generated, tmp_path):
    rows, path = generated
    expected = pl.concat(kb.roster(path, keep=True).frames)
    parquet = tmp_path / "roster.parquet"
    write_parquet(parquet, rows, kb)
    got = pl.concat(kb.roster(parquet, keep=True).frames)
    assert got.equals(expected)

    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    header = ["name", "town", *sorted(TYPICAL), "hnte_valid", "tech_sme_registered"]
    sheet.append(header)
    for r in rows[:300]:
        sheet.append([r.get(c) for c in header])
    xlsx = tmp_path / "roster.xlsx"
    book.save(xlsx)
    small = kb.roster(xlsx, keep=True)
    assert small.summary.rows == 300
    assert small.summary.invalid == 0
    narrowed = [{k: v for k, v in r.items() if k in header} for r in rows[:300]]
    assert _disagreements(kb, narrowed, pl.concat(small.frames)) == []


def test_chinese_column_headers_are_accepted(kb, generated, tmp_path):
    rows, _ = generated
    ids = ["name", "town", "employees", "annual_revenue", "hnte_valid", "tech_sme_registered"]
    labels = [kb.model.facts[f].label.zh for f in ids]
    write_csv(tmp_path / "ids.csv", rows[:200], ids)
    by_id = pl.concat(kb.roster(tmp_path / "ids.csv", keep=True).frames)
    with (tmp_path / "zh.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)  # with a byte-order mark, as Excel saves "CSV UTF-8"
        writer.writerow(labels)
        for r in rows[:200]:
            writer.writerow(["" if r.get(c) is None else _cell(r[c]) for c in ids])
    by_label = pl.concat(kb.roster(tmp_path / "zh.csv", keep=True).frames)
    assert by_label.equals(by_id)
    assert (by_id["KM2.hnte_priority"] == "applies").sum() > 0


def test_unknown_column_is_refused_with_a_suggestion(kb, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("name,employes\nA,10\n", encoding="utf-8")
    with pytest.raises(RosterError) as raised:
        kb.roster(path)
    assert re.search(
        r"unknown column 'employes' \(did you mean 'employees'", raised.value.render("en")
    ), raised.value.render("en")
    run = kb.roster(path, ignore_unknown_columns=True, keep=True)
    assert run.summary.rows == 1


def test_a_derived_fact_cannot_be_a_column(kb, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("name,rd_expense_growth\nA,10\n", encoding="utf-8")
    with pytest.raises(RosterError) as raised:
        kb.roster(path)
    assert re.search(
        "rd_expense_growth' is computed from other facts", raised.value.render("en")
    ), raised.value.render("en")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("r.xls", "x", "a roster is a .csv, .xlsx or .parquet file, not '.xls'"),
        ("r.csv", "", "the file is empty"),
        ("missing.csv", None, "no such file"),
    ],
)
def test_unreadable_roster_files_are_refused_clearly(kb, tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(RosterError) as raised:
        kb.roster(path)
    assert re.search(message, raised.value.render("en")), raised.value.render("en")


# ── invalid rows ─────────────────────────────────────────────────────────────────────────────

BAD = """name,town,employees,tech_staff,annual_revenue,tech_sme_registered,rd_expense
好企业甲,湖塘镇,50,10,30000000,true,900000
坏企业乙,湖塘镇,abc,10,30000000,true,900000
坏企业丙,火星镇,50,10,30000000,true,900000
坏企业丁,湖塘镇,50,60,30000000,true,900000
坏企业戊,湖塘镇,50,10,-5,true,900000
坏企业己,湖塘镇,50,10,30000000,maybe,900000
坏企业庚,湖塘镇,12.5,10,30000000,true,900000
好企业辛,湖塘镇,50,,,是,
"""


def test_invalid_rows_are_reported_by_row_fact_and_reason_and_the_others_go_on(kb, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD, encoding="utf-8")
    run = kb.roster(path, keep=True)
    errors = {e.row: e for e in run.summary.errors}
    assert run.summary.rows == 8
    assert run.summary.invalid == 6
    assert sorted(errors) == [3, 4, 5, 6, 7, 8]  # the header is row 1
    assert errors[3].facts == ("employees",)
    assert "'abc'" in errors[3].message
    assert errors[4].facts == ("town",)
    assert "火星镇" in errors[4].message
    assert "tech_staff" in errors[5].facts
    assert "employees" in errors[5].message
    assert errors[6].facts == ("annual_revenue",)
    assert "-5" in errors[6].message
    assert errors[7].facts == ("tech_sme_registered",)
    assert "maybe" in errors[7].message
    assert errors[8].facts == ("employees",)
    assert "12.5" in errors[8].message
    frame = pl.concat(run.frames)
    good = frame.filter(pl.col("error").is_null())
    assert good["row"].to_list() == [2, 9]
    assert good["KM2.hnte_priority"].to_list() == ["applies", "applies"]  # 是 reads as yes
    refused = frame.filter(pl.col("error").is_not_null())
    assert refused["KM2.hnte_priority"].null_count() == 6
    assert refused["precheck_qualifies"].null_count() == 6


GOOD_ROWS = [
    "好企业甲,湖塘镇,50,10,30000000,true,900000",
    "好企业乙,湖塘镇,80,20,50000000,false,2000000",
    "好企业丙,牛塘镇,50,,,是,",
]
SHORT = "短企业,湖塘镇,50,10,30000000,true"  # a cell missing
LONG = "长企业,湖塘镇,50,10,30000000,true,900000,1"  # one too many
HEADER = "name,town,employees,tech_staff,annual_revenue,tech_sme_registered,rd_expense"


def _by_row(run) -> dict[int, dict[str, Any]]:
    frame = pl.concat(run.frames)
    return {r["row"]: r for r in frame.iter_rows(named=True)}


@pytest.mark.parametrize("quoted", [False, True])
@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_a_row_of_the_wrong_number_of_cells_or_an_empty_line_is_refused_in_its_place(
    kb, tmp_path, quoted, end
):
    """A row with fewer or more cells than the header stopped the whole file with pyarrow's
    message and no row number; an empty line was skipped and every row after it got the number
    of the row before. Now each is refused on its own row, with its row number, and the other
    rows are read and keep their numbers — also in a file with a line end inside a quoted cell.
    Empty lines at the very end of the file are not rows."""
    first = '"好企业\n甲",湖塘镇,50,10,30000000,true,900000' if quoted else GOOD_ROWS[0]
    lines = [HEADER, first, SHORT, GOOD_ROWS[1], "", LONG, GOOD_ROWS[2]]
    path = tmp_path / "misshapen.csv"
    path.write_bytes((end.join(lines) + end * 3).encode("utf-8"))
    run = kb.roster(path, keep=True)
    rows = _by_row(run)
    assert sorted(rows) == [2, 3, 4, 5, 6, 7]  # the quoted line end does not make a row
    errors = {e.row: e for e in run.summary.errors}
    assert sorted(errors) == [3, 5, 6]
    assert errors[3].message_in("en") == (
        "the row has 6 cells where the header has 7: each cell must be under its column "
        "(a comma missing or one too many?)"
    )
    assert (
        errors[3].message
        == "该行有 6 个单元格，表头有 7 个：各列须与表头一一对应（缺了或多了逗号？）"
    )
    assert errors[5].message_in("en") == "the row is empty: no cell has a value"
    assert "8 cells where the header has 7" in errors[6].message_in("en")
    for row in (3, 5, 6):
        assert rows[row]["error"] is not None
        assert rows[row]["KM2.hnte_priority"] is None
    assert [rows[r]["name"] for r in (2, 4, 7)] == [
        "好企业\n甲" if quoted else "好企业甲",
        "好企业乙",
        "好企业丙",
    ]
    assert [rows[r]["KM2.hnte_priority"] for r in (2, 4, 7)] == [
        "applies",
        "does_not_apply",
        "applies",
    ]
    assert run.summary.rows == 6
    assert run.summary.invalid == 3


@pytest.mark.parametrize("block", [64, 1 << 20])
@pytest.mark.parametrize("wrapped", [False, True])
def test_misshapen_rows_read_by_the_streaming_reader_are_refused_in_their_place(
    kb, tmp_path, monkeypatch, block, wrapped
):
    """A file the slices cannot cut (here: every slice refused) goes to pyarrow's streaming
    reader; from its first misshapen row on it reads in order and puts each refused row back in
    its place — also when the file ends with refused rows and empty lines, across its blocks,
    and when quoted cells hold line ends (``wrapped``: the reader follows the quotes, and starts
    again after the rows given, not after as many lines)."""
    monkeypatch.setattr(_roster, "_rows_end", lambda scan, start, end: (None, True))
    monkeypatch.setattr(_roster, "CSV_STREAM_BLOCK", block)
    name = "企业\n{}" if wrapped else "企业{}"
    good = [f'"{name.format(i)}",湖塘镇,50,10,30000000,true,900000' for i in range(40)]
    lines = [HEADER, *good[:10], SHORT, *good[10:20], "", *good[20:40], LONG, SHORT]
    path = tmp_path / "streamed.csv"
    path.write_text("\n".join(lines) + "\n\n\n", encoding="utf-8")
    run = kb.roster(path, keep=True)
    rows = _by_row(run)
    assert sorted(rows) == list(range(2, 2 + 44))
    refused = {e.row: e.message_in("en") for e in run.summary.errors}
    assert sorted(refused) == [12, 23, 44, 45]
    assert "6 cells where the header has 7" in refused[12]
    assert refused[23] == "the row is empty: no cell has a value"
    assert "8 cells" in refused[44]
    assert "6 cells" in refused[45]
    names = [rows[r]["name"] for r in sorted(rows) if r not in refused]
    assert names == [name.format(i) for i in range(40)]
    assert {rows[r]["KM2.hnte_priority"] for r in sorted(rows) if r not in refused} == {"applies"}


def _stopped(kb, tmp_path, monkeypatch, streamed: bool, lines: list[str]) -> tuple[Path, str]:
    """A CSV of ``lines`` (read by the slices, or ``streamed`` by pyarrow's streaming reader)
    whose run must stop: the file and the error in English."""
    if streamed:
        monkeypatch.setattr(_roster, "_rows_end", lambda scan, start, end: (None, True))
    path = tmp_path / "stopped.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RosterError) as raised:
        kb.roster(path, keep=True)
    return path, raised.value.render("en")


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize(
    "broken",
    ['"坏企业,湖塘镇,50', '坏企业,湖塘镇,50,10,30000000,true,900000,"1'],
    ids=["short", "long"],
)
def test_a_quote_never_closed_stops_the_run_instead_of_swallowing_the_rows_after_it(
    kb, tmp_path, monkeypatch, streamed, broken
):
    """A quote never closed takes the rest of the file into one cell: that is not one row of the
    wrong number of cells to refuse — every later row would be lost without a word. The run
    stops, naming the row in the file."""
    lines = [HEADER, GOOD_ROWS[0], GOOD_ROWS[1], broken, GOOD_ROWS[1], GOOD_ROWS[2]]
    path, said = _stopped(kb, tmp_path, monkeypatch, streamed, lines)
    assert said == (
        f"{path}: row 4: a quote is never closed, so everything after it to the end of the file "
        "would be one cell; check the quotes in that row"
    )


@pytest.mark.parametrize("streamed", [False, True])
def test_a_misshapen_row_with_a_line_end_in_a_quoted_cell_stops_the_run_naming_it(
    kb, tmp_path, monkeypatch, streamed
):
    """A row of the wrong number of cells that runs over a line end cannot be told from a quote
    closed too late: the run stops, naming the row in the file (not pyarrow's row in a slice)."""
    lines = [HEADER, GOOD_ROWS[0], GOOD_ROWS[1], '"坏\n企业",湖塘镇,50', GOOD_ROWS[2]]
    path, said = _stopped(kb, tmp_path, monkeypatch, streamed, lines)
    assert said == (
        f"{path}: row 4: a quoted cell runs over a line end and the row does not have the "
        "header's number of cells (a quote never closed?); the file cannot be read from there"
    )


def test_a_quote_never_closed_in_a_row_of_the_right_width_stops_the_run_too(kb, tmp_path):
    """A row of the header's number of cells whose last cell opens a quote never closed took the
    rest of the file into that cell without a word (every later row lost)."""
    path = tmp_path / "open.csv"
    broken = '坏企业,湖塘镇,50,10,30000000,true,"900000'
    lines = [HEADER, GOOD_ROWS[0], broken, GOOD_ROWS[1], GOOD_ROWS[2]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RosterError) as raised:
        kb.roster(path)
    assert raised.value.render("en") == (
        f"{path}: row 3: a quote is never closed, so everything after it to the end of the file "
        "would be one cell; check the quotes in that row"
    )


def test_blank_lines_of_any_width_are_empty_rows_and_not_rows_at_the_end(kb, tmp_path):
    """A line of one space or of a few commas has the wrong number of cells, but no value: it is
    refused as empty, not as misshapen; such lines at the very end of the file (a spreadsheet
    saves rows formatted and left empty so) are not rows."""
    path = tmp_path / "blanks.csv"
    lines = [HEADER, GOOD_ROWS[0], " ", ",,", GOOD_ROWS[1], ",,,,,,", " , ", ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = kb.roster(path, keep=True)
    assert [(e.row, e.message_in("en")) for e in run.summary.errors] == [
        (3, "the row is empty: no cell has a value"),
        (4, "the row is empty: no cell has a value"),
    ]
    assert run.summary.rows == 4


def test_a_header_followed_by_empty_lines_only_has_no_rows(kb, tmp_path):
    path = tmp_path / "nothing.csv"
    path.write_text(HEADER + "\n\n\r\n\n", encoding="utf-8")
    run = kb.roster(path, keep=True)
    assert (run.summary.rows, run.summary.invalid) == (0, 0)


def test_a_row_of_one_cell_is_named_in_the_singular(kb, tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("\n".join([HEADER, "孤零零的企业", GOOD_ROWS[0]]) + "\n", encoding="utf-8")
    run = kb.roster(path)
    (error,) = run.summary.errors
    assert error.row == 2
    assert error.message_in("en") == (
        "the row has 1 cell where the header has 7: each cell must be under its column "
        "(commas missing?)"
    )
    assert error.message == "该行只有 1 个单元格，表头有 7 个：各列须与表头一一对应（缺了逗号？）"


def test_a_damaged_parquet_page_is_named_with_its_file(kb, tmp_path):
    """A Parquet file whose footer reads but whose pages do not was reported as "cannot read :
    ZSTD decompression failed" — no file named; it is a RosterError naming the file now."""
    path = tmp_path / "damaged.parquet"
    employees = pa.array([50 + i % 300 for i in range(20_000)], pa.int64())
    pq.write_table(pa.table({"employees": employees}), path, use_dictionary=False)
    page = pq.read_metadata(path).row_group(0).column(0).data_page_offset
    data = bytearray(path.read_bytes())
    data[page + 10 : page + 18] = b"\xff" * 8  # inside the data page's header
    path.write_bytes(bytes(data))
    with pytest.raises(RosterError) as raised:
        kb.roster(path, output=tmp_path / "answers.csv")
    said = raised.value.render("en")
    assert said.startswith(f"{path}: the Parquet file cannot be read (")
    assert not (tmp_path / "answers.csv").exists()


def test_empty_rows_of_a_workbook_keep_the_numbering_and_trailing_ones_are_not_rows(kb, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(GOOD_ROWS[0].split(","))
    sheet.append([None] * 7)
    sheet.append(GOOD_ROWS[1].split(","))
    for _ in range(5):  # formatted, left empty
        sheet.append(["  ", None, None, None, None, None, None])
    path = tmp_path / "gaps.xlsx"
    book.save(path)
    run = kb.roster(path, keep=True)
    rows = _by_row(run)
    assert sorted(rows) == [2, 3, 4]
    assert [e.row for e in run.summary.errors] == [3]
    assert rows[3]["error"] == "该行是空的：没有任何单元格有值"
    assert rows[4]["name"] == "好企业乙"


def _formula_book(path: Path, saved: str | None) -> None:
    """A sheet whose employees cell is the formula =10*3, with its result saved (as a
    spreadsheet saves it) or not (as a program writing the file leaves it)."""
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["name", "employees", "hnte_valid"])
    book.active.append(["好企业甲", "=10*3", True])
    book.save(path)
    if saved is None:
        return
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    assert b"<f>10*3</f><v />" in parts[sheet]
    parts[sheet] = parts[sheet].replace(b"<f>10*3</f><v />", f"<f>10*3</f><v>{saved}</v>".encode())
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def test_an_xlsx_formula_is_read_as_its_saved_result_and_refused_without_one(kb, tmp_path):
    """A formula cell is read as the result the file saved; a file written by a program holds
    no result, and such a cell is refused by name instead of read as an unknown fact."""
    saved = tmp_path / "saved.xlsx"
    _formula_book(saved, "30")
    (batch,) = list(_roster.open_roster(saved).batches())
    assert batch.to_pydict()["employees"] == ["30"]
    assert _by_row(kb.roster(saved, keep=True))[2]["error"] is None
    unsaved = tmp_path / "unsaved.xlsx"
    _formula_book(unsaved, None)
    output = tmp_path / "out.csv"
    with pytest.raises(RosterError) as raised:
        kb.roster(unsaved, output=output)
    assert raised.value.render("en") == (
        f"{unsaved}: cell B2 holds a formula (=10*3) whose result the file does not hold, so it"
        " cannot be read. Open the file in Excel or WPS and save it (saving computes the"
        " results), then read it again"
    )
    assert "单元格 B2 是公式（=10*3），但文件里没有保存它的计算结果" in raised.value.render("zh")
    assert not output.exists()


@pytest.mark.parametrize(
    "damage",
    [
        lambda xml: xml[: len(xml) // 2],  # cut short
        lambda xml: xml.replace(b"<v>30</v>", b"<v>&a8;</v>"),  # an entity never defined
        None,  # the sheet's part missing from the archive
    ],
)
def test_a_damaged_workbook_is_a_roster_error_not_an_internal_one(cli, tmp_path, damage):
    """A sheet whose XML is cut short, uses an undefined entity or lacks its part was reported as
    "意外错误（ParseError…）… 请报告此问题" (exit 1): it is a damaged file, said so (exit 2)."""
    import zipfile

    path = tmp_path / "damaged.xlsx"
    _formula_book(path, "30")
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    if damage is None:
        del parts[sheet]
    else:
        parts[sheet] = damage(parts[sheet])
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    output = tmp_path / "out.csv"
    run = cli("roster", str(path), "-o", str(output), "--lang", "en")
    assert run.returncode == 2, run.stderr
    assert f"{path}: the workbook cannot be read: the file is damaged" in run.stderr
    assert "Traceback" not in run.stderr
    assert "unexpected" not in run.stderr
    assert not output.exists()


def test_a_saved_empty_text_result_and_a_formula_on_another_sheet_are_read(kb, tmp_path):
    """A formula whose saved result is empty text (=IF(…,"x","") saved by Excel or WPS) has a
    result: it is read, not refused; a formula on another sheet does not concern the roster."""
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["name", "employees", "note"])
    book.active.append(["好企业甲", 30, '=IF(1>2,"x","")'])
    book.create_sheet("totals").append(["=COUNTA(Sheet!A:A)"])  # unsaved, but not read
    path = tmp_path / "saved_text.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    unsaved = b'<c r="C2"><f>IF(1&gt;2,"x","")</f><v /></c>'
    assert unsaved in parts[sheet]
    parts[sheet] = parts[sheet].replace(
        unsaved, b'<c r="C2" t="str"><f>IF(1&gt;2,"x","")</f><v></v></c>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    (batch,) = list(_roster.open_roster(path).batches())
    assert batch.to_pydict()["employees"] == ["30"]
    assert batch.to_pydict()["note"] == [None]
    run = kb.roster(path, keep=True, ignore_unknown_columns=True)
    assert _by_row(run)[2]["error"] is None
    # an array formula without a result is refused as any other formula is
    array = tmp_path / "array.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["name", "employees"])
    book.active.append(["好企业甲", None])
    book.active["B2"] = openpyxl.worksheet.formula.ArrayFormula("B2", "=SUM(10,20)")
    book.save(array)
    with pytest.raises(RosterError) as raised:
        kb.roster(array)
    assert "单元格 B2 是公式（=SUM(10,20)）" in raised.value.render("zh")


def test_a_parquet_row_with_every_cell_null_is_a_profile_with_every_fact_unknown(kb, tmp_path):
    """Empty rows are refused where a file has them by accident (an empty line, an empty row
    of a sheet); a typed table's row of nulls is read as Arrow means it: every fact unknown,
    answered as the profile ``{}`` is."""
    path = tmp_path / "holes.parquet"
    pq.write_table(
        pa.table({"name": ["好企业甲", None], "employees": [50, None], "hnte_valid": [True, None]}),
        path,
    )
    run = kb.roster(path, keep=True, lang="en")
    rows = _by_row(run)
    assert rows[3]["error"] is None
    assert {b.id: rows[3][b.id] for b in kb.evaluate({}).benefits} == {
        b.id: b.status.value for b in kb.evaluate({}).benefits
    }


def test_a_bad_cell_late_in_a_long_csv_is_caught_after_typed_parsing(kb, tmp_path, monkeypatch):
    # small blocks: the first blocks parse as numbers, then one cell does not and the rest of
    # the file is read as text; the row numbers must still be right
    monkeypatch.setattr(_roster, "CSV_BLOCK_BYTES", 4096)
    lines = ["name,employees,annual_revenue,hnte_valid"]
    lines += [
        f"企业{i},{10 + i % 500},{1_000_000 + i},{'true' if i % 2 else 'false'}"
        for i in range(3000)
    ]
    lines[2500] = "企业坏,十个,1000000,true"
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = kb.roster(path, keep=True)
    assert run.summary.rows == 3000
    assert run.summary.invalid == 1
    assert [(e.row, e.facts) for e in run.summary.errors] == [(2501, ("employees",))]
    frame = pl.concat(run.frames)
    assert frame["row"].to_list() == list(range(2, 3002))
    assert frame.filter(pl.col("row") == 2502)["name"].to_list() == ["企业2500"]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("slice_bytes", [64, 301, 4096])
def test_a_csv_is_cut_into_slices_only_between_rows(
    kb, tmp_path, monkeypatch, newline, slice_bytes
):
    """The CSV is parsed in slices of whole rows: a quoted name with line ends and quotes in it,
    longer than a slice, a byte-order mark and a last row without a line end all come through
    as one cell, with the same answers and row numbers as one slice of the whole file."""
    long_name = '很长的 ""企业""' + newline + "第二行," * 40 + newline + "末行"
    rows = ["\ufeffname,employees,annual_revenue,hnte_valid"]
    for i in range(60):
        name = f'"{long_name}{i}"' if i % 7 == 3 else f"企业{i}"
        rows.append(f"{name},{10 + i},{1_000_000 + i},{'true' if i % 2 else 'false'}")
    path = tmp_path / "sliced.csv"
    path.write_bytes(newline.join(rows).encode("utf-8"))  # no line end after the last row

    whole = pl.concat(kb.roster(path, keep=True).frames)
    monkeypatch.setattr(_roster, "CSV_BLOCK_BYTES", slice_bytes)
    sliced = pl.concat(kb.roster(path, keep=True).frames)
    assert sliced.equals(whole)
    assert sliced["row"].to_list() == list(range(2, 62))
    assert sliced["error"].null_count() == 60
    assert sliced.filter(pl.col("row") == 5)["name"].to_list() == [
        long_name.replace('""', '"') + "3"
    ]
    assert sliced.filter(pl.col("row") == 60)["name"].to_list() == ["企业58"]
    assert sliced.filter(pl.col("row") == 61)["name"].to_list() == [  # the last row, unended
        long_name.replace('""', '"') + "59"
    ]


_STRAY = (
    b'employees,annual_revenue,hnte_valid,name\n10,1000000,true,A 12" pipe co\n'
    + b"".join(b"%d,%d,false,co%d\n" % (10 + i, 1_000_000 + i, i) for i in range(5))
    + b'20,2000000,true,"Acme\n30,3000000,false,Acme branch"\n'
    + b"".join(b"%d,%d,false,co%d\n" % (15 + i, 1_000_005 + i, 5 + i) for i in range(5))
)


@pytest.mark.parametrize(
    ("content", "rows", "named"),
    [
        # a quote inside a plain cell is a plain character: it opens nothing
        (_STRAY, 12, {2: 'A 12" pipe co', 8: "Acme\n30,3000000,false,Acme branch"}),
        # a header whose name holds a line end
        (b'"name\n",employees\nA,10\nB,20\n', 2, {2: "A", 3: "B"}),
        # bare CR line ends (old Mac exports)
        (b'name,employees\r"A\r2",10\rB,20\r', 2, {2: "A\r2", 3: "B"}),
        # the header alone, no line end after it
        (b"name,employees,hnte_valid", 0, {}),
    ],
    ids=["stray-quote", "quoted-header", "bare-cr", "header-only"],
)
@pytest.mark.parametrize("slice_bytes", [16, 64, 32 * 1024 * 1024])
def test_a_csv_is_cut_only_where_the_parser_ends_a_row(
    kb, tmp_path, monkeypatch, content, rows, named, slice_bytes
):
    monkeypatch.setattr(_roster, "CSV_BLOCK_BYTES", slice_bytes)
    monkeypatch.setattr(_roster, "CSV_PARSE_BLOCK", 32)  # pyarrow's blocks cut inside cells too
    path = tmp_path / "odd.csv"
    path.write_bytes(content)
    run = kb.roster(path, keep=True)
    assert run.summary.rows == rows
    frame = pl.concat(run.frames) if run.frames else None
    if rows:
        assert frame is not None
        assert frame["row"].to_list() == list(range(2, 2 + rows))
        for row, name in named.items():
            assert frame.filter(pl.col("row") == row)["name"].to_list() == [name]


def test_a_quoted_line_end_at_a_parse_block_boundary_stays_in_its_cell(kb, tmp_path, monkeypatch):
    """pyarrow's parallel reader cuts its blocks at any line end unless told that cells may hold
    them: every multi-line name must come through whole, at any block size."""
    rows = ["name,employees"] + [
        (f'"企业{i}\n分公司",{10 + i}' if i % 2 else f"企业{i},{10 + i}") for i in range(40)
    ]
    path = tmp_path / "multiline.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    for block in (40, 100, 4096):
        monkeypatch.setattr(_roster, "CSV_PARSE_BLOCK", block)
        frame = pl.concat(kb.roster(path, keep=True).frames)
        assert frame["name"].to_list() == [
            f"企业{i}\n分公司" if i % 2 else f"企业{i}" for i in range(40)
        ], block
        assert frame["error"].null_count() == 40


# ── bounds: exact to the yuan ────────────────────────────────────────────────────────────────


def _bound_comparisons(kb) -> list[tuple[Comparison, Any]]:
    params = {n: pv.value for n, pv in kb.parameters_for_year(2021).items()}
    found = []
    conditions = [c.condition for c in kb.model.categories.values()]
    conditions += [b.condition for b in kb.model.benefits.values()]
    for condition in conditions:
        for comparison in comparisons_of(condition):
            if isinstance(comparison.left, FactRef) and not facts_in(comparison.right):
                bound = constant_value(comparison.right, params)
                if isinstance(bound, (int, float)) and not isinstance(bound, bool):
                    found.append((comparison, bound))
    return found


def test_every_bound_is_exact_in_the_column_engine(kb):
    """One yuan (or one person) over a limit never passes it; one under never passes a floor."""
    comparisons = _bound_comparisons(kb)
    assert len(comparisons) >= 6
    params = kb.parameters_for_year(2021)
    ops = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "==": lambda a, b: a == b,
    }
    for comparison, bound in comparisons:
        values = [bound - 1, bound, bound + 1]
        fact = comparison.left.name
        given = {fact: values}
        if (
            fact in kb.model.derived
        ):  # a derived fact is computed from its inputs: growth = this year − last
            given = {"rd_expense": values, "rd_expense_prior_year": [0, 0, 0]}
        columns = Columns(
            3,
            {f: Column(np.array(v, dtype=np.float64), np.ones(3, bool)) for f, v in given.items()},
        )
        true, false = evaluate_condition(kb.model, comparison, columns, params)
        expected = [ops[comparison.op](v, bound) for v in values]
        assert true.tolist() == expected, comparison.text
        assert false.tolist() == [not e for e in expected], comparison.text


def test_two_hundred_million_and_one_yuan_is_over_the_limit_in_a_roster_file(kb, tmp_path):
    """The float32 trap: 200,000,001 must not pass a '≤ 200,000,000' limit (sme_size)."""
    limits = [(c, b) for c, b in _bound_comparisons(kb) if c.op == "<=" and b >= 100_000_000]
    assert limits, "the policy has limits in the hundreds of millions of yuan"
    for comparison, bound in limits:
        fact = comparison.left.name
        path = tmp_path / f"{fact}.csv"
        path.write_text(f"name,{fact}\nat,{bound}\nover,{bound + 1}\n", encoding="utf-8")
        run = kb.roster(path, keep=True)
        frame = pl.concat(run.frames)
        for row, name in enumerate(["at", "over"]):
            profile = {fact: bound + row}
            ev = kb.evaluate(profile)
            got = frame.row(row, named=True)
            assert [got[b.id] for b in ev.benefits] == [b.status.value for b in ev.benefits], name
        # and the comparison itself, over the file's own column
        columns = columns_from_values(kb.model, 2, {fact: [bound, bound + 1]})
        true, _ = evaluate_condition(kb.model, comparison, columns, kb.parameters_for_year(2021))
        assert true.tolist() == [True, False], comparison.text


def _roster_rows(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    header = sorted({k for r in rows for k in r})
    path = tmp_path / "rows.csv"
    write_csv(path, rows, header)
    return path


def test_each_row_is_evaluated_in_its_own_year_as_a_profile_is(kb, tmp_path):
    """2022's super-deduction rate (200 %) and small-profit bands for a row that says 2022."""
    firm = {
        "tech_sme_registered": True,
        "rd_expense": 1_000_000,
        "employees": 100,
        "taxable_income": 2_000_000,
        "total_assets": 1_000_000,
        "restricted_industry": False,
    }
    rows = [{**firm, "year": 2022}, {**firm, "year": 2021}, firm]
    frame = pl.concat(kb.roster(_roster_rows(tmp_path, rows), keep=True).frames)
    for i, row in enumerate(rows):
        ev = kb.evaluate(row)
        for benefit in ("KM7.rd_super_deduction", "KM5.small_low_profit_tax"):
            assert frame[f"estimate:{benefit}"][i] == float(ev.estimate(benefit).amount)
    assert frame["estimate:KM7.rd_super_deduction"].to_list() == [1_000_000, 750_000, 750_000]
    # the year asked for wins over the rows' own, as for one profile
    asked = pl.concat(kb.roster(_roster_rows(tmp_path, rows), keep=True, year=2021).frames)
    assert asked["estimate:KM7.rd_super_deduction"].to_list() == [750_000] * 3


def test_a_row_of_a_year_the_parameters_do_not_cover_is_refused_and_the_others_go_on(kb, tmp_path):
    rows = [{"year": 1990, "employees": 10}, {"year": 2021, "employees": 10}]
    run = kb.roster(_roster_rows(tmp_path, rows), keep=True)
    assert run.summary.invalid == 1
    (error,) = run.summary.errors
    assert error.row == 2
    assert error.facts == ("year",)
    assert "1990" in error.render("zh")
    assert "1990" in error.render("en")
    frame = pl.concat(run.frames)
    assert frame["KM1.evaluation_mobilization"].to_list() == [None, "undetermined"]


def test_ratios_and_half_fen_amounts_are_exact_in_the_column_engine(kb, tmp_path):
    """A ratio of exactly 2 % with amounts in fen reaches the 2 % tier; …0.025 rounds up."""
    at_two_percent = {
        "registered_in_mainland": True,
        "employees": 10,
        "tech_staff": 3,
        "annual_revenue": 517515.0,
        "total_assets": 1_000_000,
        "total_costs": 1e9,
        "restricted_industry": False,
        "serious_violation": False,
        "hnte_valid": False,
        "national_award_top3": False,
        "provincial_rd_institution": False,
        "led_standard": False,
        "ip_class1": 1,
        "ip_class2": 0,
        "rd_expense": 10350.3,
    }
    half_fen = {"tech_sme_registered": True, "rd_expense": 20148998.7}
    frame = pl.concat(
        kb.roster(_roster_rows(tmp_path, [at_two_percent, half_fen]), keep=True).frames
    )
    first = kb.evaluate(at_two_percent).precheck
    assert (first.qualifies, first.score) == (True, 60)
    assert (frame["precheck_qualifies"][0], frame["precheck_score"][0]) == (True, 60)
    assert kb.evaluate(half_fen).estimate("KM7.rd_super_deduction").amount == Decimal("15111749.03")
    assert frame["estimate:KM7.rd_super_deduction"][1] == 15111749.03


def test_whole_number_ratios_at_and_beside_every_tier_score_as_one_profile_does(kb, tmp_path):
    """Whole-number columns score a ratio from its quotient (one division, not one comparison per
    tier): at each tier exactly, one below and one above, with denominators from 7 to 10**13 (as far as
    each fact goes) and
    a denominator of 0, every row's score bounds are the per-profile engine's."""
    tiers = {
        "rd_revenue_score_tiers": ("rd_expense", "annual_revenue"),
        "rd_costs_score_tiers": ("rd_expense", "total_costs"),
        "tech_staff_score_tiers": ("tech_staff", "employees"),
    }
    params = kb.parameters_for_year(2021)
    rows: list[dict[str, Any]] = []
    # every row gives every fact of the three ratios (the batch's columns are then whole and
    # known throughout); the ratios not under test stay far from their tiers
    fixed = {
        "tech_staff": 0,
        "employees": 10,
        "rd_expense": 0,
        "annual_revenue": 1,
        "total_costs": 1,
        "ip_class1": 1,
    }
    for table, (num, den) in tiers.items():
        others = dict(fixed)
        if num == "rd_expense":
            others.update(annual_revenue=10**15, total_costs=10**15)
        for tier in params[table].tiers:
            at = int(tier.at_least)
            most = kb.model.facts[den].maximum
            assert isinstance(most, int)
            for base in (7, 100, 12_345, 9_999_900, 10**13 + 3):
                exact = at * base // 100  # num · 100 = at · base when base is a multiple of 100
                for top in (exact - 1, exact, exact + 1, at * base * 100):
                    if base <= most and 0 <= top <= (base if num == "tech_staff" else most):
                        rows.append({**others, num: top, den: base})
        rows.append({**others, num: 0, den: 0})
    frame = pl.concat(kb.roster(_roster_rows(tmp_path, rows), keep=True).frames)
    assert len(rows) > 150
    for i, row in enumerate(rows):
        one = kb.evaluate(row).precheck
        got = (frame["precheck_score_low"][i], frame["precheck_score_high"][i])
        assert got == (one.score_low, one.score_high), row


def test_a_known_part_bounds_an_unknown_whole_in_both_engines(kb):
    """600 tech staff mean at least 600 employees: over the SME limit of 500 even unknown."""
    condition = kb.model.categories["sme_size"].condition
    columns = columns_from_values(
        kb.model,
        3,
        {
            "tech_staff": [600, 30, None],
            "employees": [None, None, None],
            "annual_revenue": [1, 1, 1],
            "total_assets": [1, 1, 1],
        },
    )
    true, false = evaluate_condition(kb.model, condition, columns, kb.parameters_for_year(2021))
    assert true.tolist() == [False, False, False]
    assert false.tolist() == [True, False, False]
    one = kb.evaluate({"tech_staff": 600, "annual_revenue": 1, "total_assets": 1})
    assert one.benefit("KM1.evaluation_mobilization").status.value == "does_not_apply"


def test_what_if_gives_an_unknown_bounded_fact_its_new_bound(kb):
    """Changing employees changes what an unknown tech_staff can be, and the steps reading it."""
    plan = kb.plan
    values = kb.validate_profile({"employees": 50}).values
    v = plan.run(values, kb.parameters_for_year(2021))
    w = plan.what_if(v, values, "employees", 10)
    assert w[plan.facts["tech_staff"]] == (0, 10)
    assert v[plan.facts["tech_staff"]] == (0, 50)


# ── output files ─────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_output_files_hold_one_typed_row_per_enterprise(kb, generated, tmp_path, suffix):
    rows, path = generated
    out = tmp_path / f"answers{suffix}"
    run = kb.roster(path, output=out, keep=True)
    expected = pl.concat(run.frames)
    if suffix == ".csv":
        got = pl.read_csv(out, infer_schema_length=0)
        assert got.height == ROWS
        assert (
            got["KM7.rd_super_deduction"].to_list() == expected["KM7.rd_super_deduction"].to_list()
        )
    elif suffix == ".parquet":
        got = pl.read_parquet(out)
        assert got.schema["precheck_qualifies"] == pl.Boolean
        assert got.schema["precheck_score"] == pl.Int64
        assert got.schema["estimate:KM7.rd_super_deduction"] == pl.Float64
        assert got.equals(expected)
    else:
        lines = out.read_text(encoding="utf-8").splitlines()
        assert len(lines) == ROWS
        first = json.loads(lines[0])
        assert first["row"] == 2
        assert first["name"] == rows[0]["name"]
        assert first["KM1.evaluation_mobilization"] in ("applies", "does_not_apply", "undetermined")


def test_an_unknown_output_extension_is_refused_before_reading(kb, generated, tmp_path):
    _, path = generated
    with pytest.raises(RosterError) as raised:
        kb.roster(path, output=tmp_path / "out.xlsx")
    assert re.search(
        r"the output is a \.csv, \.parquet or \.jsonl file", raised.value.render("en")
    ), raised.value.render("en")


def test_summary_counts_match_the_rows(kb, generated):
    _, path = generated
    run = kb.roster(path, keep=True)
    frame = pl.concat(run.frames)
    for benefit, counts in run.summary.statuses.items():
        column = frame[benefit]
        assert counts == [
            int((column == "applies").sum()),
            int((column == "does_not_apply").sum()),
            int((column == "undetermined").sum()),
        ]
    assert sum(run.summary.statuses["KM1.evaluation_mobilization"]) == ROWS
    assert run.summary.precheck[0] == int(frame["precheck_qualifies"].sum())


def test_the_column_engine_marks_applies_with_the_shared_code(kb):
    columns = columns_from_values(kb.model, 2, {"tech_sme_registered": [True, None]})
    result = evaluate_columns(kb.model, columns, kb.parameters_for_year(2021))
    assert result.statuses["KM2.hnte_priority"].tolist() == [APPLIES, UNDETERMINED]


def test_a_nan_cell_is_named_whatever_else_its_column_holds(kb, tmp_path):
    """With a word in the same column, the cells were read as text, 'NaN' became a float NaN,
    which the row's check took as unknown: the row was refused as 'the row could not be read'
    without naming a cell."""
    path = tmp_path / "r.csv"
    path.write_text("name,town,employees\nA,湖塘镇,NaN\nB,湖塘镇,x\nC,湖塘镇,1e400\n", "utf-8")
    run = kb.roster(path)
    assert [(e.row, e.message_in("en")) for e in run.summary.errors] == [
        (row, f"employees (Total employees): expected a whole number, got '{cell}'")
        for row, cell in ((2, "NaN"), (3, "x"), (4, "1e400"))
    ]


def test_two_columns_for_one_fact_are_both_named(kb, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("name,town,employees,职工总数\nA,湖塘镇,1,2\n", "utf-8")
    with pytest.raises(RosterError) as info:
        kb.roster(path)
    assert info.value.render("en") == (
        f"{path}: two columns give the fact employees: 'employees' and '职工总数' (keep one of them)"
    )


@pytest.mark.parametrize(("sep", "shown"), [(";", "';'"), ("\t", "'\\t'")])
def test_a_roster_saved_with_another_delimiter_is_named_so(kb, tmp_path, sep, shown):
    """It got 'did you mean employees?' for a header of one column 'name;town;employees'."""
    path = tmp_path / "r.csv"
    path.write_text(
        sep.join(["name", "town", "employees"]) + "\nA" + sep + "湖塘镇" + sep + "1\n", "utf-8"
    )
    with pytest.raises(RosterError) as info:
        kb.roster(path)
    assert info.value.render("en") == (
        f"{path}: the header is one column holding {shown}: the file seems separated by "
        f"{shown}; save it as comma-separated CSV (UTF-8)"
    )


def test_refused_rows_are_listed_in_row_order_whatever_refused_them(kb, tmp_path):
    """A repeated name (found after the cells are checked) and a bad cell: the rows are listed
    as they stand in the file, as a person goes down a sheet."""
    rows = [
        {"name": "甲公司", "employees": 10},
        {"name": "甲公司", "employees": 12},  # row 3: repeats row 2
        {"name": "乙公司", "employees": -1},  # row 4: a bad cell
        {"name": "丙公司", "employees": 5},
    ]
    run = kb.roster(_roster_rows(tmp_path, rows))
    assert [e.row for e in run.summary.errors] == [3, 4]


def test_a_kind_whose_every_amount_is_unknown_has_no_total_not_zero(kb, tmp_path):
    """Two enterprises whose HNTE relief applies, neither with its taxable income: the tax
    saving has no total (not 0), and the JSON and the table say how many amounts it lacks."""
    from policy_kb.views import document, tables

    rows = [{"name": "甲", "hnte_valid": True, "employees": 10}]
    rows.append({"name": "乙", "hnte_valid": True, "employees": 20})
    summary = kb.roster(_roster_rows(tmp_path, rows)).summary
    assert summary.unknown == {"tax_saving": 2}
    assert "tax_saving" not in summary.totals
    assert summary.totals["cash"] == 0  # nothing of this kind applies: a total of 0 is right
    data = document.roster_to_dict(summary, None, "en")
    assert "tax_saving" not in data["estimated_totals"]
    assert data["unknown_amounts"] == {"tax_saving": 2}
    text = tables.roster_table(summary, "r.csv", None, "en")
    assert "tax saving amount unknown (2 that apply have no amount that can be worked out)" in text


def test_a_cell_with_underscores_is_refused_by_name(kb, tmp_path):
    """'1_000' was refused as "row 2: the row could not be read": pyarrow refuses the cell and
    Python's int() reads it, so the check found nothing to name. It names the fact and cell."""
    path = tmp_path / "u.csv"
    path.write_text("name,employees,annual_revenue\nA,1_000,5\nB,5,1_0.5\n", "utf-8")
    rows = _by_row(kb.roster(path, keep=True))
    assert rows[2]["error"] == "employees（职工总数）：应为整数（人），实际为 '1_000'"
    assert "annual_revenue（年销售收入）" in rows[3]["error"]
    assert "'1_0.5'" in rows[3]["error"]


def test_a_name_with_control_characters_is_refused_as_a_profiles_is(kb, tmp_path):
    """Names holding an escape (recolours a terminal), a NUL or U+202E (shows 'evil' as 'live')
    were read and written raw into the answers, where a YAML profile refused a NUL (found by a
    hostile-input review): a roster and a profile refuse them alike, naming the cell."""
    path = tmp_path / "cc.csv"
    path.write_text(
        "name,employees\nA\x1b[31mred,5\nB\u202eevil,6\nC\x00nul,7\n好企业,8\n", "utf-8"
    )
    rows = _by_row(kb.roster(path, keep=True))
    shown = "应为可以显示的文字：不含控制字符（如 ESC、NUL）或改变文字方向的符号"
    for row, name in ((2, r"'A\x1b[31mred'"), (3, r"'B\u202eevil'"), (4, r"'C\x00nul'")):
        assert rows[row]["error"].startswith(f"name（企业名称）：{shown}")
        assert rows[row]["error"].endswith(f"实际为 {name}")
    assert rows[5]["error"] is None
    with pytest.raises(policy_kb.ProfileError):
        kb.evaluate({"name": "B\u202eevil"})
    # a dictionary-encoded name column (pandas' categoricals) is read by another path
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = pa.array(["A\x1b[31mred", "B\u202eevil", "好企业"]).dictionary_encode()
    parquet = tmp_path / "cc.parquet"
    pq.write_table(pa.table({"name": names, "employees": [5, 6, 8]}), parquet)
    rows = _by_row(kb.roster(parquet, keep=True))
    assert [rows[r]["error"] is None for r in (2, 3, 4)] == [False, False, True]
    assert rows[3]["error"].endswith(r"实际为 'B\u202eevil'")


def test_a_parquet_name_column_of_bytes_is_read_as_text(kb, tmp_path):
    """A binary name column with one cell that is not UTF-8 was written as Python's b'A' for
    every name (found by a hostile-input review): names are read as text, the cell that is
    not text is refused."""
    import pyarrow.parquet as pq

    names = pa.array([b"A", b"\xff\xfe", "好".encode()], pa.binary())
    parquet = tmp_path / "bytes.parquet"
    pq.write_table(pa.table({"name": names, "employees": [5, 6, 8]}), parquet)
    rows = _by_row(kb.roster(parquet, keep=True))
    assert [rows[r]["name"] for r in (2, 4)] == ["A", "好"]
    assert [rows[r]["error"] is None for r in (2, 3, 4)] == [True, False, True]
    assert rows[3]["error"].startswith("name（企业名称）")


def test_a_text_cell_no_float_holds_is_refused_not_read_as_zero(kb, tmp_path):
    """A text column's 1e-400 was cast to 0 (found by a review): refused as a profile's is."""
    path = tmp_path / "tiny.csv"
    path.write_text("name,tech_transfer_income\nA,1e-400\nB,0\nC,x\nD,0.0e-5\n", "utf-8")
    rows = _by_row(kb.roster(path, keep=True))
    assert rows[2]["error"].endswith("实际为 1e-400")
    assert (
        "应为可以精确表示的数（不会大到成为无穷大，不是 0 时也不会小到被读成 0，有效数字不超过 15 位）"
        in rows[2]["error"]
    )
    assert rows[3]["error"] is None
    assert rows[5]["error"] is None


@pytest.mark.parametrize("quote", ["", '"'])
def test_a_number_column_no_float_holds_is_refused_not_read_as_zero(kb, tmp_path, quote):
    """A column of numbers only was parsed typed, and pyarrow's parser reads 1e-400 (or a decimal
    with 400 zeros) as 0: the enterprise was refused "> 0" on a number its file does not say.
    Such rows are now read as text and that cell refused; small numbers that a double holds are
    read as written, and a name with "e-" in it changes nothing."""
    tiny = "0." + "0" * 400 + "1"
    path = tmp_path / "tiny.csv"
    path.write_text(
        f"name,tech_transfer_income,rd_expense\n{quote}e-commerce 1{quote},1e-400,5\n"
        f"B,1.5e-3,7\nC,{tiny},8\nD,2E-1,9\nE,0,10\n",
        "utf-8",
    )
    rows = _by_row(kb.roster(path, keep=True))
    assert rows[2]["error"].endswith("实际为 1e-400")
    assert "tech_transfer_income" in rows[2]["error"]
    assert "tech_transfer_income" in (rows[4]["error"] or "")
    assert [rows[r]["error"] for r in (3, 5, 6)] == [None, None, None]
    assert rows[3]["KM5.tech_transfer_tax"] != "does_not_apply"  # 0.0015 > 0
    assert rows[6]["KM5.tech_transfer_tax"] == "does_not_apply"  # a written 0 is 0


def test_a_number_column_of_more_digits_than_a_float_holds_is_refused_not_rounded(kb, tmp_path):
    """pyarrow's typed parse rounds 199999.99999999999999 to 200000 (the growth reward then
    applied); such rows are read as text and the cell refused (found by a hostile-input review)."""
    path = tmp_path / "digits.csv"
    path.write_text(
        "name,rd_expense,rd_expense_prior_year\nA,199999.99999999999999,0\n"
        "B,123456789012345.6,0\nC,250000,0\n",
        "utf-8",
    )
    rows = _by_row(kb.roster(path, keep=True))
    assert rows[2]["error"].endswith("有效数字不超过 15 位），实际为 199999.99999999999999")
    assert [rows[3]["error"], rows[4]["error"]] == [None, None]  # 16 digits a float holds


def test_a_roster_says_how_many_rows_the_year_asked_for_overrode(cli, tmp_path):
    """``--year 2021`` over rows of 2022 data evaluated them for 2021 without a word, where one
    profile's answer says so (found by a hostile-input review)."""
    path = tmp_path / "years.csv"
    path.write_text("name,employees,year\nA,5,2022\nB,6,2021\nC,7,\nD,x,2023\n", "utf-8")
    table = cli("roster", str(path), "--year", "2021")
    assert "1 行的数据年份不是 2021 年，按要求以 2021 年评价" in table.stdout  # D is refused
    data = json.loads(cli("roster", str(path), "--year", "2021", "--format", "json").stdout)
    assert data["rows_of_another_year"] == 1
    plain = json.loads(cli("roster", str(path), "--format", "json").stdout)
    assert plain["rows_of_another_year"] == 0
    assert "年份不是" not in cli("roster", str(path)).stdout


def test_columns_with_cells_and_no_header_are_named_by_their_letters(cli, tmp_path):
    """A stray cell beside the table said "unknown columns '', ''" — 16,000 times for a cell in
    column WPD (found by a hostile-input review)."""
    path = tmp_path / "stray.csv"
    path.write_text("name,employees,,,,x\nA,5,,1,,\n", "utf-8")
    run = cli("roster", str(path), "--lang", "en")
    assert run.returncode == 2
    assert run.stderr.strip() == (
        f"{path}: column C–E (3 in all) hold cells but no header: name them, or delete them "
        "(--ignore-unknown-columns leaves them out)"
    )
    wide = tmp_path / "wide.csv"
    wide.write_text("name" + "," * 16_002 + "\nA" + "," * 16_002 + "\n", "utf-8")
    run = cli("roster", str(wide))
    assert run.returncode == 2
    assert "第 B–WQM 列（共 16,002 列）有内容却没有表头" in run.stderr
    assert len(run.stderr) < 300
    names = tmp_path / "invisible.csv"
    names.write_text("name\u200b,employees\nA,5\n", "utf-8")
    assert r"unknown column 'name\u200b'" in cli("roster", str(names), "--lang", "en").stderr
