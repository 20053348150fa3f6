"""The roster kernel inside Apache Spark (local mode): the same answers as on one machine.

Needs the ``spark`` extra (PySpark) and Java 17; ``.ci/run`` installs both and sets
``POLICY_KB_REQUIRE_SPARK=1`` so that a missing PySpark fails the run instead of skipping.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from conftest import ROOT
from test_roster import ROWS, generate_rows, write_csv, write_parquet

import policy_kb

if os.environ.get("POLICY_KB_REQUIRE_SPARK") == "1":
    import pyspark  # noqa: F401 - CI: a missing extra is a failure, not a skip
else:
    pytest.importorskip("pyspark")

from policy_kb import spark as pk_spark

EXAMPLE = ROOT / "examples" / "roster" / "roster.csv"


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = pk_spark.session("local[2]", app="policy-kb-tests")
    session.conf.set("spark.sql.shuffle.partitions", "4")
    yield session
    session.stop()


def _plain(table: pa.Table) -> pa.Table:
    """Statuses as text, columns in a fixed order, rows by row number."""
    columns = [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in table.columns]
    return pa.table(columns, names=table.column_names).sort_by("row")


def _differences(expected: pa.Table, got: pa.Table) -> list[str]:
    expected, got = _plain(expected), _plain(got.select(expected.column_names))
    found = []
    assert got.num_rows == expected.num_rows
    for name in expected.column_names:
        want, have = expected.column(name).to_pylist(), got.column(name).to_pylist()
        found += [
            f"row {expected.column('row')[i]} {name}: {have[i]!r} != {want[i]!r}"
            for i in range(len(want))
            if have[i] != want[i]
        ]
    return found


@pytest.fixture(scope="module")
def planted(kb, tmp_path_factory) -> Path:
    """The 5,000-row generated roster with bad rows and a repeated enterprise planted in it."""
    rows = generate_rows(kb, ROWS, seed=11)
    rows[10]["employees"] = "abc"  # not a number
    rows[2500]["tech_staff"] = -3  # below its minimum
    rows[4000]["name"] = rows[30]["name"]  # the same enterprise twice: the later row refused
    rows[4999]["town"] = "火星镇"  # not a town of 附件2
    path = tmp_path_factory.mktemp("spark") / "planted.csv"
    header = ["name", "town", *sorted({k for r in rows for k in r} - {"name", "town"})]
    write_csv(path, rows, header)
    return path


def test_spark_answers_equal_the_single_process_engine_on_5000_rows(kb, spark, planted):
    expected = pl.concat(kb.roster(planted, keep=True).frames).to_arrow()
    frame = spark.read.option("header", True).csv(str(planted))
    got = pk_spark.evaluate(frame, kb).toArrow()
    assert _differences(expected, got) == []
    # the planted rows are answers with their error, not a failed job
    errors = {
        r: e for r, e in zip(got["row"].to_pylist(), got["error"].to_pylist(), strict=True) if e
    }
    assert sorted(errors) == [12, 2502, 4002, 5001]
    assert "与第 32 行是同一家企业" in errors[4002]
    assert "employees" in errors[12]


def test_spark_summary_equals_the_single_process_summary(kb, spark, planted):
    single = kb.roster(planted).summary
    frame = spark.read.option("header", True).csv(str(planted))
    found = pk_spark.summarise(kb.model, pk_spark.evaluate(frame, kb, tally=True))
    assert (found.rows, found.invalid) == (single.rows, single.invalid) == (ROWS, 4)
    assert found.statuses == single.statuses
    assert found.precheck == single.precheck
    assert found.fen == single.fen  # whole fen, exactly
    # and the amounts left out of them, unknown where their benefit applies: never 0
    assert (found.known, found.unknown) == (single.known, single.unknown)
    assert single.unknown
    assert [(e.row, e.facts, e.message_in("zh")) for e in found.errors] == sorted(
        (e.row, e.facts, e.message_in("zh")) for e in single.errors
    )


def test_spark_reads_typed_parquet_and_a_given_year(kb, spark, tmp_path):
    rows = generate_rows(kb, 600, seed=3)
    path = tmp_path / "typed.parquet"
    write_parquet(path, rows, kb)
    expected = pl.concat(kb.roster(path, keep=True, year=2022).frames).to_arrow()
    got = pk_spark.evaluate(spark.read.parquet(str(path)), kb, year=2022).toArrow()
    assert _differences(expected, got) == []


def test_spark_progress_equals_the_progress_report(kb, spark):
    report = {t.name: t for t in kb.progress(EXAMPLE).towns}
    frame = spark.read.option("header", True).csv(str(EXAMPLE))
    towns = {r["town"]: r for r in pk_spark.progress(frame, kb).collect()}
    for name, town in report.items():
        row = towns[name]
        assert (row["enterprises"], row["registered"], row["pool"]) == (
            town.enterprises,
            town.registered,
            town.pool,
        ), name
        assert row["pool_registration_unknown"] == town.pool_registration_unknown


def test_spark_refuses_a_roster_in_wan_yuan_as_the_file_engine_does(kb, spark, tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    amounts = [i for i, h in enumerate(header) if kb.model.facts[h].unit == "元"]
    lines = [text[0]]
    for line in text[1:]:
        cells = line.split(",")
        for i in amounts:
            if cells[i]:
                cells[i] = str(round(float(cells[i]) / 10_000, 2))
        lines.append(",".join(cells))
    path = tmp_path / "wan.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(policy_kb.RosterError) as single:
        kb.roster(path)
    frame = spark.read.option("header", True).csv(str(path))
    with pytest.raises(policy_kb.RosterError) as distributed:
        pk_spark.evaluate(frame, kb, source=str(path))
    assert str(distributed.value) == str(single.value)


def test_policy_kb_roster_engine_spark_writes_the_same_answers(tmp_path):
    """The command line, as a district office would run it (a fresh process, its own JVM)."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    spark_out, arrow_out = tmp_path / "spark.parquet", tmp_path / "arrow.parquet"
    cli = [sys.executable, "-m", "policy_kb", "roster", str(EXAMPLE), "--quiet"]
    one = subprocess.run(
        [*cli, "--engine", "spark", "--master", "local[2]", "-o", str(spark_out)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run([*cli, "-o", str(arrow_out)], capture_output=True, text=True, env=env)
    assert two.returncode == 0, two.stderr
    # the same summary on the terminal, the answers partitioned by town
    assert one.stdout.replace(str(spark_out), "OUT") == two.stdout.replace(str(arrow_out), "OUT")
    assert sorted(p.name for p in spark_out.iterdir() if p.is_dir())[0].startswith("town=")
    got = ds.dataset(spark_out, format="parquet", partitioning="hive").to_table()
    expected = ds.dataset(arrow_out, format="parquet").to_table()
    assert _differences(expected, got) == []


def test_engine_spark_refuses_what_it_cannot_write_before_starting(cli, tmp_path):
    run = cli("roster", str(EXAMPLE), "--engine", "spark", "-o", str(tmp_path / "answers.csv"))
    assert run.returncode == 2
    assert "按镇分区的 Parquet 文件夹" in run.stderr
    assert not (tmp_path / "answers.csv").exists()


def test_spark_reads_a_csv_saved_by_excel_with_a_byte_order_mark(kb, spark, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.read_bytes())
    frame = pk_spark.read(spark, path)
    assert frame.columns[0] == "name"
    expected = pl.concat(kb.roster(path, keep=True).frames).to_arrow()
    assert _differences(expected, pk_spark.evaluate(frame, kb).toArrow()) == []
