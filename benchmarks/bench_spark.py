"""The roster kernel inside Apache Spark (local mode): rows per second per core.

    python benchmarks/bench_spark.py PATH.parquet [--cores 1] [--rounds 3]

Reads the roster with Spark, evaluates it with ``policy_kb.spark.evaluate`` (row numbers, the
whole-roster checks and the kernel on every partition) and writes the answers partitioned by
town to a temporary folder; prints the wall time of each round (after one warm-up round, which
starts the JVM and the Python workers) and rows per second per core. A province-scale estimate
is that figure multiplied out — an estimate: a real cluster adds its own network and storage.

Not a test: run it before quoting a figure.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import policy_kb
from policy_kb import spark as pk_spark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path")
    parser.add_argument("--cores", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    kb = policy_kb.load()
    spark = pk_spark.session(f"local[{args.cores}]", app="policy-kb-bench")
    spark.conf.set("spark.sql.shuffle.partitions", str(max(2, args.cores)))
    times = []
    rows = spark.read.parquet(args.path).count()
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.rounds + 1):
            t = time.perf_counter()
            answers = pk_spark.evaluate(spark.read.parquet(args.path), kb)
            answers.write.mode("overwrite").partitionBy("town").parquet(str(Path(tmp) / "out"))
            elapsed = time.perf_counter() - t
            if k:
                times.append(elapsed)
            print(f"round {k}{' (warm-up)' if not k else ''}: {elapsed:.2f} s", flush=True)
    spark.stop()
    median = statistics.median(times)
    per_core = rows / median / args.cores
    print(
        f"{rows:,} rows on local[{args.cores}]: median {median:.2f} s · {per_core:,.0f} rows/s per core"
    )
    for label, n in (("a province, 10⁶ enterprises", 1e6), ("a national programme, 5 × 10⁷", 5e7)):
        print(f"  estimate, {label}: {n / per_core / 60:.2f} core-minutes")


if __name__ == "__main__":
    main()
