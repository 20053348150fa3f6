"""The roster engine at scale: 1,000,000 enterprises, on one core.

    python benchmarks/bench_roster.py [--rows 1000000] [--seed 7]

Generates rows with a fixed seed (values straddling every threshold of the policy, about 20 % of
facts unknown) and prints:

- evaluation of all benefits + pre-check + estimates from columns already in memory;
- end to end from a Parquet file and from a CSV file (import the readers, read, validate,
  evaluate, summarise), each the median of three fresh processes, with its peak memory;
- the speed-up over calling ``evaluate`` row by row (measured on a sample, extrapolated).

Not a test: run it before quoting a figure. Threads are limited to one (POLARS_MAX_THREADS=1,
pyarrow without threads; numpy's element-wise work is single-threaded).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

import policy_kb
from policy_kb.backends.columns import Column, Columns, evaluate_columns

TYPICAL = {  # ordinary values of each fact, to mix with the policy's own bounds
    "employees": [10, 100, 1500],
    "tech_staff": [0, 5, 10, 30],
    "annual_revenue": [2_000_000, 20_000_000, 400_000_000],
    "total_assets": [5_000_000, 120_000_000],
    "total_costs": [1_000_000, 10_000_000, 60_000_000],
    "taxable_income": [-100_000, 8_000_000],
    "rd_expense": [1, 300_000, 1_200_000, 6_000_000],
    "rd_expense_prior_year": [0, 1_000_000, 5_000_000],
    "ip_class1": [0, 1, 3],
    "ip_class2": [0, 1, 2, 3, 4, 9],
    "tech_transfer_income": [1, 2_000_000],
    "local_contribution": [500_000, 3_000_000],
    "local_contribution_prior_year": [400_000, 3_000_000],
}


def generate(
    kb: policy_kb.KnowledgeBase, rows: int, seed: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Columns of (values, known): each number near a bound of the policy (± 1) or ordinary."""
    rng = np.random.default_rng(seed)
    bounds = kb.thresholds()  # read from measures.yaml: no figure of the text is repeated here
    data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for fact, typical in TYPICAL.items():
        values = np.array([*typical, *bounds.get(fact, ())], dtype=np.float64)
        base = rng.choice(values, rows) + rng.choice(np.array([-1.0, 0.0, 0.0, 1.0]), rows)
        data[fact] = (
            np.maximum(base, 0) if fact != "taxable_income" else base,
            rng.random(rows) >= 0.2,
        )
    prior, _ = data["rd_expense_prior_year"]
    rd, rd_known = data["rd_expense"]
    growth = np.array(bounds.get("rd_expense_growth", (0,)), dtype=np.float64)
    at_growth_bound = rng.random(rows) < 0.3  # a growth exactly at, just under or over its bound
    rd = np.where(at_growth_bound, prior + rng.choice(growth, rows) + rng.integers(-1, 2, rows), rd)
    data["rd_expense"] = (rd, rd_known)
    employees, _known = data["employees"]
    tech, tech_known = data["tech_staff"]
    data["tech_staff"] = (np.minimum(tech, employees), tech_known)
    for fact in kb.model.facts.values():
        if fact.type.value == "bool":
            data[fact.id] = (rng.random(rows) < 0.5, rng.random(rows) >= 0.2)
    towns = np.array([t.name for t in kb.towns], dtype=object)
    data["town"] = (towns[rng.integers(0, len(towns), rows)], rng.random(rows) >= 0.2)
    return data


def to_columns(data: dict[str, tuple[np.ndarray, np.ndarray]], rows: int) -> Columns:
    return Columns(rows, {fact: Column(values, known) for fact, (values, known) in data.items()})


def write_files(data: dict[str, tuple[np.ndarray, np.ndarray]], folder: Path) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    arrays, names = [], []
    for fact, (values, known) in data.items():
        if values.dtype == object:
            arr = pa.array(values, type=pa.string(), mask=~known)
        elif values.dtype == bool:
            arr = pa.array(values, type=pa.bool_(), mask=~known)
        else:
            arr = pa.array(values.astype(np.int64), type=pa.int64(), mask=~known)
        arrays.append(arr)
        names.append(fact)
    table = pa.Table.from_arrays(arrays, names=names)
    parquet, csv = folder / "roster.parquet", folder / "roster.csv"
    pq.write_table(table, parquet)
    pacsv.write_csv(table, csv)
    return parquet, csv


END_TO_END = """
import os, resource, sys, time
os.environ.setdefault("POLARS_MAX_THREADS", "1")
import policy_kb
kb = policy_kb.load()
t = time.perf_counter()
import numpy, polars, pyarrow.csv, pyarrow.parquet  # what the roster path imports on first use
imports = time.perf_counter() - t
run = kb.roster(sys.argv[1])
elapsed = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{elapsed:.3f} {imports:.3f} {peak:.0f} {run.summary.rows} {run.summary.invalid}")
"""

RUNS = 3


def end_to_end(path: Path) -> tuple[float, float, float, int, int]:
    """Median over fresh processes of (seconds, of which importing, peak MB, rows, refused)."""
    env = {**os.environ, "POLARS_MAX_THREADS": "1", "OMP_NUM_THREADS": "1"}
    runs = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", END_TO_END, str(path)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.split()
        runs.append((float(out[0]), float(out[1]), float(out[2]), int(out[3]), int(out[4])))
    runs.sort()
    return runs[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    kb = policy_kb.load()
    params = kb.parameters_for_year(2021)
    data = generate(kb, args.rows, args.seed)
    timings = []
    for _ in range(3):
        columns = to_columns(data, args.rows)
        t = time.perf_counter()
        evaluate_columns(kb.model, columns, params)
        timings.append(time.perf_counter() - t)
    in_memory = min(timings)
    print(f"{args.rows:,} rows, 13 benefits + pre-check + estimates, one core")
    print(f"  from columns in memory:   {in_memory:6.3f} s   (best of 3)")
    with tempfile.TemporaryDirectory() as tmp:
        parquet, csv = write_files(data, Path(tmp))
        for label, path in (("Parquet", parquet), ("CSV", csv)):
            elapsed, imports, peak, rows, invalid = end_to_end(path)
            size = path.stat().st_size / 1e6
            print(
                f"  end to end from {label:<8} {elapsed:6.3f} s   (of which {imports:.2f} s importing"
                f" polars/pyarrow)   peak memory {peak:5.0f} MB   ({size:.0f} MB file,"
                f" {rows:,} rows, {invalid:,} refused; median of {RUNS} fresh processes)"
            )
    sample = 2000
    profiles = []
    for i in range(sample):
        profile = {}
        for fact, (values, known) in data.items():
            if known[i]:
                value = values[i]
                profile[fact] = (
                    bool(value)
                    if isinstance(value, np.bool_)
                    else (str(value) if isinstance(value, str) else int(value))
                )
        profiles.append(profile)
    t = time.perf_counter()
    for profile in profiles:
        kb.evaluate(profile)
    per_row = (time.perf_counter() - t) / sample
    print(
        f"  row by row with evaluate: {per_row * 1e6:6.0f} µs per row → {per_row * args.rows:8.1f} s for {args.rows:,} rows"
    )
    print(f"  speed-up of the column engine: {per_row * args.rows / in_memory:,.0f}×")


if __name__ == "__main__":
    main()
