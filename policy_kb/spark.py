"""policy_kb on Apache Spark: the roster kernel inside ``mapInArrow``.

Install the extra (``pip install 'policy-kb[spark]'``). A Spark DataFrame of enterprises — read
from Parquet, CSV, a Hive table, anything Spark reads — becomes a DataFrame of answers with the
same columns as ``policy-kb roster -o answers.parquet``, computed by the same kernel
(:func:`policy_kb.district.kernel.answers` of
:func:`~policy_kb.district.kernel.evaluate_batch` of
:func:`~policy_kb.district.cells.convert_batch`) on each Arrow batch Spark hands to Python.
Nothing here evaluates a rule.

- The validated policy model is broadcast once (a 50 KB pickle); each Python worker unpickles it
  once and keeps it.
- Rows are numbered as in the file (the header is row 1) unless the DataFrame brings its own
  ``row`` column.
- What the single-process engine checks across the whole file is checked across the whole
  DataFrame: an enterprise named twice is counted once (a first pass finds the repeats), and a
  roster in 万元 is refused from its first batch of rows, as in a file.
- A bad row is an answer with its ``error``, never a failed job.

From Python::

    from pyspark.sql import SparkSession
    import policy_kb, policy_kb.spark

    spark = SparkSession.builder.getOrCreate()
    answers = policy_kb.spark.evaluate(spark.read.parquet("enterprises.parquet"), year=2021)
    towns = policy_kb.spark.progress(spark.read.parquet("enterprises.parquet"))

From the command line: ``policy-kb roster PATH --engine spark [--master local[2]] -o OUT.parquet``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

try:
    import pyspark  # noqa: F401 - the optional extra
except ImportError as exc:  # pragma: no cover - the CLI says it in words
    from .text import Msg

    # an ImportError still, so that ``try: import policy_kb.spark`` works as for any extra; no
    # language was asked for: Chinese first, English beside
    words = Msg("spark.not_installed")
    raise ImportError(f"{words.render('zh')} — {words.render('en')}") from exc

from .api import KnowledgeBase, default_kb
from .backends.columns import APPLIES, DOES_NOT_APPLY, STATUS_WORDS, UNDETERMINED
from .district.cells import convert_batch
from .district.kernel import Years, answers, evaluate_batch
from .district.roster import (
    BATCH_ROWS,
    DEFAULT_READING,
    Reading,
    RosterSummary,
    header_map,
    name_key,
    refuse_repeats,
    refuse_wan_amounts,
)
from .errors import RosterError
from .policy.model import FactType, PolicyModel
from .reason import evaluate as reason
from .text import Msg

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

ROW = "row"  # the spreadsheet row number of each enterprise (the header is row 1)
_FIRST = "_first_row"  # the row an enterprise's name first appears on, where it repeats
_KEY = "_name_key"


def session(master: str | None = None, app: str = "policy-kb") -> SparkSession:
    """A Spark session; ``master`` as ``spark-submit --master`` takes it (``local[2]``,
    ``spark://host:7077``, ``yarn``), or the one already configured. Python workers run this
    interpreter unless ``PYSPARK_PYTHON`` says otherwise."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app)
    if master is not None:
        builder = builder.master(master)
    if master is not None and master.startswith("local"):
        builder = builder.config("spark.ui.enabled", "false")  # no web UI for a local run
    spark = builder.config("spark.ui.showConsoleProgress", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# ── the kernel on each partition ─────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class _Job:
    """What every task needs, shipped with the function: small (the model is broadcast)."""

    model: Any  # a Spark Broadcast of the PolicyModel
    mapping: Mapping[str, str]
    year: int | None
    lang: str
    tally: bool


def _years(model: PolicyModel, year: int | None) -> Years:
    """In which year each row is evaluated; each year's parameter values computed once."""
    return Years(cache(lambda y: reason.parameters_for_year(model, y)), model.document.year, year)


def _strings(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Dictionary columns as plain text (Spark has no dictionary type)."""
    return pa.RecordBatch.from_arrays(
        [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in batch.columns],
        names=batch.schema.names,
    )


def _answer(job: _Job, model: PolicyModel, years: Years, raw: pa.RecordBatch) -> pa.RecordBatch:
    """The kernel on one Arrow batch whose rows carry their row numbers (and repeats)."""
    rows = raw.column(ROW).to_numpy(zero_copy_only=False).astype(np.int64)
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1  # the kernel numbers rows first_row + i
    if len(breaks):
        starts = [0, *breaks.tolist()]
        ends = [*breaks.tolist(), len(rows)]
        parts = [
            _answer(job, model, years, raw.slice(a, b - a))
            for a, b in zip(starts, ends, strict=True)
        ]
        return pa.Table.from_batches(parts).combine_chunks().to_batches()[0]
    first = int(rows[0]) if len(rows) else 2
    batch = convert_batch(model, raw, job.mapping, first)
    if _FIRST in raw.schema.names:
        seen = {
            name_key(name): int(at)
            for name, at in zip(batch.names.tolist(), raw.column(_FIRST).to_pylist(), strict=True)
            if name is not None and at is not None
        }
        refuse_repeats(model, batch, seen)
    result = evaluate_batch(model, batch, years)
    return _strings(answers(model, batch, result, job.lang, tally=job.tally))


def _kernel(job: _Job) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        model = job.model.value
        years = _years(model, job.year)  # one per task: its parameter values computed once
        for raw in batches:
            yield _answer(job, model, years, raw)

    return run


def _keys(job: _Job) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """First pass: each valid row's name, spaces folded (what a repeat is judged by)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        model = job.model.value
        for raw in batches:
            rows = raw.column(ROW).to_numpy(zero_copy_only=False).astype(np.int64)
            batch = convert_batch(model, raw, job.mapping, int(rows[0]) if len(rows) else 2)
            valid = batch.columns.rows_valid
            keys = [
                name_key(name) if name is not None and ok else None
                for name, ok in zip(batch.names.tolist(), valid.tolist(), strict=True)
            ]
            yield pa.RecordBatch.from_pydict(
                {ROW: pa.array(rows), _KEY: pa.array(keys, type=pa.string())}
            )

    return run


# ── row numbers, repeats and the 万元 check ─────────────────────────────────────────────────


def numbered(df: DataFrame) -> DataFrame:
    """``df`` with a ``row`` column: 2, 3, … in the order of its partitions and their rows (for a
    file, the order of the file), as a spreadsheet numbers them. Two cheap passes: the count of
    each partition, then an offset per partition."""
    from pyspark.sql import functions as F

    if ROW in df.columns:
        return df
    tagged = df.withColumn("_pid", F.spark_partition_id()).withColumn(
        "_mid", F.monotonically_increasing_id()
    )
    counts = {
        r["_pid"]: r["n"] for r in tagged.groupBy("_pid").agg(F.count("*").alias("n")).collect()
    }
    offsets, total = {}, 0
    for pid in sorted(counts):
        offsets[pid] = total
        total += counts[pid]
    offset = F.lit(0)
    for pid, start in offsets.items():
        offset = F.when(F.col("_pid") == pid, F.lit(start)).otherwise(offset)
    within = F.col("_mid").bitwiseAND(F.lit((1 << 33) - 1))  # the record index in its partition
    return tagged.withColumn(ROW, (within + offset + 2).cast("long")).drop("_pid", "_mid")


def _with_repeats(df: DataFrame, job: _Job, model: PolicyModel) -> DataFrame:
    """``df`` with ``_first_row`` on the rows whose enterprise name appears on several valid rows
    (the earliest of them), found across the whole DataFrame."""
    from pyspark.sql import functions as F

    name = model.fact_of_type(FactType.TEXT)
    if name is None or name not in job.mapping.values():
        return df
    keys = df.mapInArrow(_keys(job), f"{ROW} long, {_KEY} string").where(F.col(_KEY).isNotNull())
    repeats = (
        keys.groupBy(_KEY)
        .agg(F.min(ROW).alias(_FIRST), F.count("*").alias("_n"))
        .where(F.col("_n") > 1)
        .drop("_n")
    )
    marked = keys.join(repeats, _KEY).select(ROW, _FIRST).cache()
    if marked.isEmpty():
        return df
    # the repeated rows are few: a broadcast join keeps every partition's rows in their order
    return df.join(F.broadcast(marked), ROW, "left")


def _refuse_wan(df: DataFrame, job: _Job, model: PolicyModel, source: str) -> None:
    """The 万元 check of a file, on the same rows: the first batch (200,000 rows)."""
    from pyspark.sql import functions as F

    head = df.where(F.col(ROW) < BATCH_ROWS + 2).orderBy(ROW).toArrow()
    if head.num_rows:
        batch = convert_batch(model, head.combine_chunks().to_batches()[0], job.mapping, 2)
        refuse_wan_amounts(model, batch, source)


# ── the public functions ─────────────────────────────────────────────────────────────────────


def _schema(job: _Job, model: PolicyModel, columns: list[str]) -> Any:
    """The answers' Spark schema: the kernel's own output on an empty batch."""
    from pyspark.sql.pandas.types import from_arrow_schema

    empty = pa.RecordBatch.from_pydict(
        {c: pa.array([], type=pa.string()) for c in columns if c != _FIRST}
        | {ROW: pa.array([], type=pa.int64())}
    )
    return from_arrow_schema(_answer(job, model, _years(model, job.year), empty).schema)


def evaluate(
    df: DataFrame,
    kb: KnowledgeBase | None = None,
    *,
    year: int | None = None,
    lang: str = "zh",
    reading: Reading = DEFAULT_READING,
    source: str = "DataFrame",
    tally: bool = False,
) -> DataFrame:
    """The answers for every enterprise of ``df``, as a Spark DataFrame.

    ``df``'s columns are fact ids or their Chinese / English labels (as in a roster file);
    ``year`` evaluates every row in that year (else each row's own ``year``, else the policy's);
    ``lang`` is the language of the ``error`` column. The columns are those of
    ``policy-kb roster -o answers.parquet`` (statuses as text).
    """
    kb = kb or default_kb()
    model = kb.model
    if year is not None:
        year = reason.check_year(model, year)
    given = [c for c in df.columns if c not in (ROW, _FIRST)]
    mapping = header_map(model, given, source, reading.ignore_unknown_columns)
    spark = df.sparkSession
    job = _Job(spark.sparkContext.broadcast(model), mapping, year, lang, tally)
    df = numbered(df.select(*[f"`{c}`" for c in mapping], *([ROW] if ROW in df.columns else [])))
    if not reading.amounts_are_yuan:
        _refuse_wan(df, job, model, source)
    df = _with_repeats(df, job, model)
    return df.mapInArrow(_kernel(job), _schema(job, model, df.columns))


def progress(
    df: DataFrame, kb: KnowledgeBase | None = None, *, year: int | None = None
) -> DataFrame:
    """Per town of the roster: enterprises (valid rows), those registered as tech SMEs, and the
    应评尽评 pool (the pre-check passes, not registered; and of those, how many have no
    registration fact) — the figures of ``policy-kb progress``, as a Spark aggregation of the
    kernel's answers. Rows without a town are grouped under a null town."""
    from pyspark.sql import functions as F

    kb = kb or default_kb()
    found = evaluate(df, kb, year=year, reading=Reading(ignore_unknown_columns=True), tally=True)
    if "_registered" not in found.columns:
        raise RosterError(Msg("district.no_establishes"))
    counted = found.where(F.col("error").isNull())
    return counted.groupBy("town").agg(
        F.count("*").alias("enterprises"),
        F.sum(F.col("_registered").cast("long")).alias("registered"),
        F.sum(F.col("_pool").cast("long")).alias("pool"),
        F.sum(F.col("_pool_unknown").cast("long")).alias("pool_registration_unknown"),
    )


# ── the command line: a roster file in, answers partitioned by town out ─────────────────────


@dataclass(frozen=True)
class SparkRowError:
    """A refused row as the Spark run reports it. Its message is the error column the executors
    wrote, in the run's language: :meth:`message_in` gives that text whatever language is
    asked (the words of another language were never written)."""

    row: int
    facts: tuple[str, ...]
    message: str

    def message_in(self, lang: str) -> str:
        return self.message

    def render(self, lang: str = "zh") -> str:
        return Msg("roster.row", row=self.row, message=self.message).render(lang)


def read(spark: SparkSession, path: str | os.PathLike[str]) -> DataFrame:
    """A roster file as a DataFrame: Parquet as typed, CSV as text (every cell is then checked
    by the kernel exactly as in a CSV read on one machine)."""
    text = str(path)
    suffix = Path(text).suffix.lower()
    if suffix == ".parquet" or Path(text).is_dir():
        return spark.read.parquet(text)
    if suffix in (".xlsx", ".xlsm"):
        raise RosterError(Msg("spark.no_xlsx", path=text))
    if suffix == ".csv":
        df = spark.read.option("header", True).option("encoding", "UTF-8").csv(text)
        first = df.columns[0] if df.columns else ""
        if first.startswith("\ufeff"):  # Excel's "CSV UTF-8" starts with a byte-order mark
            df = df.withColumnRenamed(first, first[1:])
        return df
    raise RosterError(Msg("spark.format", path=text, suffix=suffix or Msg("roster.no_extension")))


def summarise(model: PolicyModel, answers_df: DataFrame) -> RosterSummary:
    """The counts and totals of ``policy-kb roster`` from answers computed with ``tally=True``."""
    from pyspark.sql import functions as F

    benefits = list(model.benefits)
    estimates = [b for b in benefits if model.benefits[b].estimate is not None]
    valid = F.col("error").isNull()
    aggs = [F.count("*").alias("rows"), F.sum((~valid).cast("long")).alias("invalid")]
    words = {code: STATUS_WORDS[code] for code in (APPLIES, DOES_NOT_APPLY, UNDETERMINED)}
    for i, b in enumerate(benefits):
        for code, word in words.items():
            hit = valid & (F.col(f"`{b}`") == word)
            aggs.append(F.sum(hit.cast("long")).alias(f"s{i}_{code}"))
    pre = F.col("precheck_qualifies")
    aggs += [
        F.sum((valid & pre).cast("long")).alias("q1"),
        F.sum((valid & ~pre).cast("long")).alias("q0"),
        F.sum((valid & pre.isNull()).cast("long")).alias("q_"),
    ]
    for i, b in enumerate(estimates):
        amount = F.col(f"`estimate:{b}`")
        fen = F.round(amount * 100).cast("long")
        counted = F.col(f"`_counted:{b}`")
        open_ = valid & (F.col(f"`{b}`") == words[APPLIES]) & amount.isNull()
        aggs.append(F.sum(F.when(counted, fen)).alias(f"e{i}"))
        aggs.append(F.sum(counted.cast("long")).alias(f"k{i}"))
        aggs.append(F.sum(open_.cast("long")).alias(f"u{i}"))
    found = answers_df.agg(*aggs).collect()[0]
    summary = RosterSummary(
        rows=int(found["rows"] or 0),
        invalid=int(found["invalid"] or 0),
        overridden=None,  # the rows of another year than --year are not counted here
    )
    for i, b in enumerate(benefits):
        summary.statuses[b] = [int(found[f"s{i}_{code}"] or 0) for code in words]
    summary.precheck = [int(found["q1"] or 0), int(found["q0"] or 0), int(found["q_"] or 0)]
    for i, b in enumerate(estimates):
        spec = model.benefits[b].estimate
        assert spec is not None
        known = int(found[f"k{i}"] or 0)  # rows counted: none when none has a known amount
        summed = int(found[f"e{i}"]) if known else 0
        summary.count_amounts(spec.kind, summed, known, int(found[f"u{i}"] or 0))
    for r in answers_df.where(~valid).select(ROW, "_facts", "error").orderBy(ROW).collect():
        facts = tuple(str(r["_facts"]).split(",")) if r["_facts"] else ()
        summary.errors.append(SparkRowError(int(r[ROW]), facts, str(r["error"])))  # type: ignore[arg-type]
    return summary


def run_roster(
    kb: KnowledgeBase,
    path: str | os.PathLike[str],
    *,
    output: str | os.PathLike[str] | None = None,
    master: str | None = None,
    year: int | None = None,
    lang: str = "zh",
    reading: Reading = DEFAULT_READING,
) -> RosterSummary:
    """``policy-kb roster --engine spark``: evaluate a roster with Spark, write the answers
    (Parquet, partitioned by town) and return the summary the default engine prints.

    A local ``output`` is written to a temporary folder beside it and renamed when complete, so
    an interrupted run leaves the previous answers (or nothing) under the name.
    """
    from pyspark import StorageLevel

    target = _output_folder(output, path) if output is not None else None
    spark = session(master)
    answers_df = evaluate(
        read(spark, path), kb, year=year, lang=lang, reading=reading, source=str(path), tally=True
    ).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        if target is not None:
            hidden = [c for c in answers_df.columns if c.startswith("_")]
            _write(answers_df.drop(*hidden), target)
        return summarise(kb.model, answers_df)
    finally:
        answers_df.unpersist()


def _output_folder(output: str | os.PathLike[str], source: str | os.PathLike[str]) -> Path | str:
    text = str(output)
    if "://" in text:  # hdfs://, s3a://: Spark's own committer makes the write atomic
        return text
    path = Path(text)
    if path.suffix.lower() != ".parquet":
        raise RosterError(Msg("spark.output", path=text))
    if path.resolve() == Path(source).resolve():
        raise RosterError(Msg("spark.output_is_input", path=text))
    return path


def _write(answers_df: DataFrame, target: Path | str) -> None:
    if isinstance(target, str):
        answers_df.write.mode("overwrite").partitionBy("town").parquet(target)
        return
    parent = target.resolve().parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=parent))
    try:
        answers_df.write.mode("overwrite").partitionBy("town").parquet(str(tmp))
        if target.is_dir():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            os.replace(target, old / "answers")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            if target.exists():
                target.unlink()
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


__all__ = ["evaluate", "numbered", "progress", "read", "run_roster", "session", "summarise"]
