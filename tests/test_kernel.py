"""The roster kernel as a pure function: one Arrow batch of enterprises in, one of answers out."""

from __future__ import annotations

import pyarrow as pa
from test_roster import generate_rows


def _batch(kb, rows):
    facts = sorted({k for r in rows for k in r})
    arrays = {}
    for fact in facts:
        kind = kb.model.facts[fact].type.value
        arrow = {"bool": pa.bool_(), "text": pa.string(), "town": pa.string()}.get(
            kind, pa.float64()
        )
        arrays[fact] = pa.array([r.get(fact) for r in rows], type=arrow)
    return pa.RecordBatch.from_pydict(arrays)


def test_the_kernel_answers_each_row_as_evaluate_does(kb):
    rows = generate_rows(kb, 300, seed=5)
    out = kb.evaluate_arrow(_batch(kb, rows))
    assert out.num_rows == 300
    assert out.column("row").to_pylist() == list(range(2, 302))
    for i, profile in enumerate(rows):
        ev = kb.evaluate(profile)
        for b in ev.benefits:
            assert out.column(b.id)[i].as_py() == b.status.value, (i, b.id)
        assert out.column("precheck_qualifies")[i].as_py() == ev.precheck.qualifies
        for benefit, estimate in ev.estimates.items():
            if kb.benefit(benefit).estimate is None:
                continue
            got = out.column(f"estimate:{benefit}")[i].as_py()
            want = None if estimate.amount is None else float(estimate.amount)
            assert got == want, (i, benefit)


def test_the_kernel_writes_statuses_as_dictionaries_and_unknown_as_null(kb):
    batch = pa.RecordBatch.from_pydict(
        {
            "employees": pa.array([100, None, -1]),
            "annual_revenue": pa.array([10_000_000, None, None], type=pa.float64()),
        }
    )
    out = kb.evaluate_arrow(batch, lang="en", first_row=10)
    status = out.column("KM7.rd_super_deduction")
    assert pa.types.is_dictionary(status.type)
    assert status.dictionary.to_pylist() == ["applies", "does_not_apply", "undetermined"]
    # nothing known about R&D: undetermined, and no amount (null, not 0)
    assert status[1].as_py() == "undetermined"
    assert out.column("estimate:KM7.rd_super_deduction")[1].as_py() is None
    # the bad row: no status, its error in words, counted from first_row
    assert out.column("row").to_pylist() == [10, 11, 12]
    assert status[2].as_py() is None
    assert (
        out.column("error")[2].as_py()
        == "employees (Total employees): expected a number ≥ 0, got -1"
    )
    assert out.column("error")[0].as_py() is None


def test_the_kernel_names_a_column_that_is_not_a_fact(kb):
    import pytest

    import policy_kb

    batch = pa.RecordBatch.from_pydict({"employes": pa.array([1])})
    with pytest.raises(policy_kb.RosterError, match="employes"):
        kb.evaluate_arrow(batch)
    assert kb.evaluate_arrow(batch, ignore_unknown_columns=True).num_rows == 1


def test_the_roster_path_does_not_import_pandas(tmp_path):
    """pyarrow imports pandas on first ``pa.array`` / ``to_numpy`` when it is installed (0.2 s of
    every roster run); the kernel builds its arrays from buffers instead."""
    import subprocess
    import sys

    from conftest import ROOT

    code = (
        "import sys, policy_kb\n"
        "kb = policy_kb.load()\n"
        f"kb.roster({str(ROOT / 'examples' / 'roster' / 'roster.csv')!r},"
        f" output={str(tmp_path / 'out.parquet')!r})\n"
        "print('pandas' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_complete_integer_columns_are_checked_as_any_other(kb):
    """Integer columns without an empty cell take a shorter check (their smallest and largest
    value against the fact's bounds); a value past a bound is still refused on its own row, with
    the validator's message, and the other rows are answered as one profile is."""
    rows = [
        {"employees": 100, "tech_staff": 20, "year": 2021, "ip_class2": 2},
        {"employees": 10_000_001, "tech_staff": 20, "year": 2021, "ip_class2": 2},
        {"employees": 50, "tech_staff": 60, "year": 2021, "ip_class2": 2},
        {"employees": 50, "tech_staff": 5, "year": 1900, "ip_class2": -3},
        {"employees": 0, "tech_staff": 0, "year": 2022, "ip_class2": 0},
    ]
    batch = pa.RecordBatch.from_pydict(
        {f: pa.array([r[f] for r in rows], type=pa.int64()) for f in rows[0]}
    )
    out = kb.evaluate_arrow(batch, lang="en")
    errors = out.column("error").to_pylist()
    assert errors[0] is None
    assert errors[4] is None
    assert errors[1] == "employees (Total employees): expected at most 10,000,000, got 10000001"
    assert errors[2] == (
        "tech_staff (Science and technology staff): expected at most employees (Total employees)"
        " = 50, got 60"
    )
    assert errors[3].startswith("year (Year the data refer to): expected a year from 1949 to 2100")
    assert "ip_class2" in errors[3]
    assert errors[3].endswith("expected a number ≥ 0, got -3")
    for i in (0, 4):
        ev = kb.evaluate(rows[i])
        for b in ev.benefits:
            assert out.column(b.id)[i].as_py() == b.status.value, (i, b.id)
    for i in (1, 2, 3):
        assert out.column("KM1.evaluation_mobilization")[i].as_py() is None
    in_bounds = pa.RecordBatch.from_pydict(
        {f: pa.array([r[f] for r in (rows[0], rows[4])], type=pa.int64()) for f in rows[0]}
    )
    assert kb.evaluate_arrow(in_bounds).column("error").to_pylist() == [None, None]
