"""The roster kernel at scale, side by side with the peer: 1,000,000 enterprises, one core.

    python benchmarks/bench_roster.py [--data DIR] [--peer /tmp/of-venv/bin/python] [--rounds 5]

``DIR`` holds ``roster.parquet`` and ``roster.csv`` as written by the peer's
``side_by_side/make_data.py`` (the same generated enterprises on both sides); without it the
files are made here with the peer's generator when ``--peer`` is given. Each round runs, in fresh
processes and alternately A B A B:

- **in memory, with validation**: the file already read into memory (not timed); timed: every
  cell checked and every benefit, the pre-check and the estimates evaluated — policy_kb's kernel
  (cells → evaluate) on each batch; the peer's ``build_default_simulation`` + ``set_input`` of
  every column + ``calculate`` of its 23 outputs; with the peak memory of the process. Both
  processes get the allocators policy_kb's roster commands choose (glibc's mmap and trim
  thresholds, jemalloc for Arrow: ``policy_kb.serve.allocators.environment()``), as environment
  variables, so neither kernel is timed against the other's allocator; the peer's is ~8 %
  faster with them too;
- **end to end from Parquet / CSV**: ``policy-kb roster IN -o answers.parquet`` against the peer's
  ``roster_e2e.py IN OUT`` (import, build, read, compute, write), wall time of the process.

It also prints the floor: reading every input column once at this machine's memory bandwidth.
The engine runs on one thread (``OMP_NUM_THREADS=1``, ``POLARS_MAX_THREADS=1``); the file readers
use pyarrow's threads on both sides, as the peer's script does, and policy_kb evaluates each batch
on a thread of its own while the next is read, and writes the answers on a third
(``district/pipeline.py``). Both sides run with compiled
bytecode, as an installed package does (``PYTHONPYCACHEPREFIX`` points at a temporary folder; a
first untimed run of each compiles). Ratios are of the medians.

Not a test: run it before quoting a figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT.parent / "shared" / "peers" / "openfisca" / "side_by_side"
ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "OMP_NUM_THREADS": "1",
    "POLARS_MAX_THREADS": "1",
    "PYTHONIOENCODING": "utf-8",
}

OURS_IN_MEMORY = r"""
import json, resource, sys, time
import pyarrow.parquet as pq
import policy_kb
from policy_kb.district.cells import convert_batch
from policy_kb.district.kernel import evaluate_batch
from policy_kb.district.roster import BATCH_ROWS, header_map
kb = policy_kb.load()
model, years = kb.model, kb._years(None)
table = pq.read_table(sys.argv[1])
batches = table.to_batches(BATCH_ROWS)
mapping = header_map(model, table.column_names, "bench", False)
# warm, as the peer's script warms its system on 100 rows: the year's parameters and the
# program compiled for the batches' layout (kept by `years` for the run, as a roster run keeps it)
evaluate_batch(model, convert_batch(model, batches[0].slice(0, 100), mapping, 2), years)
t = time.perf_counter()
first = 2
for raw in batches:
    evaluate_batch(model, convert_batch(model, raw, mapping, first), years)
    first += raw.num_rows
elapsed = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "peak_mb": peak, "rows": table.num_rows}))
"""

PEER_IN_MEMORY = r"""
import json, logging, resource, sys, time
import common
logging.getLogger("openfisca_core.taxbenefitsystems.tax_benefit_system").setLevel(logging.ERROR)
import pyarrow.parquet as pq
from openfisca_core.simulations import SimulationBuilder
from openfisca_sme import CountryTaxBenefitSystem
tbs = CountryTaxBenefitSystem()
table = pq.read_table(sys.argv[1])
columns = {name: table.column(name).to_numpy() for name in table.column_names}
warm = SimulationBuilder().build_default_simulation(tbs, 100)
for name, values in columns.items():
    warm.set_input(name, "2021", values[:100])
for o in common.OUTPUTS:
    warm.calculate(o, "2021")
t = time.perf_counter()
sim = SimulationBuilder().build_default_simulation(tbs, table.num_rows)
for name, values in columns.items():
    sim.set_input(name, "2021", values)
for o in common.OUTPUTS:
    sim.calculate(o, "2021")
elapsed = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "peak_mb": peak, "rows": table.num_rows}))
"""

FLOOR = r"""
import sys, time
import numpy as np, pyarrow.parquet as pq
table = pq.read_table(sys.argv[1])
arrays = [np.asarray(table.column(n).to_numpy(), dtype=np.float64) for n in table.column_names]
best = float("inf")
for _ in range(5):
    t = time.perf_counter()
    for a in arrays:
        a.sum()
    best = min(best, time.perf_counter() - t)
print(best, sum(a.nbytes for a in arrays) / 1e6)
"""


def _json(cmd: list[str], cwd: Path) -> dict[str, float]:
    from policy_kb.serve.allocators import environment

    env = {**ENV, **environment()}  # the same allocators on both sides
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=cwd, env=env)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _wall(cmd: list[str], cwd: Path) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True, cwd=cwd, env=ENV)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", help="a folder with roster.parquet and roster.csv")
    parser.add_argument("--peer", help="the Python of a venv with OpenFisca 46 (see its README)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data) if args.data else Path(tmp)
        if not args.data:
            if not args.peer:
                parser.error("give --data DIR, or --peer to generate the data with its generator")
            subprocess.run(
                [args.peer, "make_data.py", str(data), str(args.rows), "10"], check=True, cwd=PEER
            )
        parquet, csv = data / "roster.parquet", data / "roster.csv"
        out = Path(tmp) / "answers.parquet"
        floor, mb = (
            float(x)
            for x in subprocess.run(
                [sys.executable, "-c", FLOOR, str(parquet)],
                capture_output=True,
                text=True,
                check=True,
                env=ENV,
            ).stdout.split()
        )
        figures: dict[str, list[float]] = {}

        def note(key: str, value: float) -> None:
            figures.setdefault(key, []).append(value)

        ours_cli = [sys.executable, "-m", "policy_kb", "roster", "--quiet", "-o", str(out)]
        ENV["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        _wall([*ours_cli, str(parquet)], ROOT)  # compile both sides' modules, untimed
        if args.peer:
            _wall([args.peer, "roster_e2e.py", str(parquet), str(out)], PEER)
        for k in range(args.rounds):
            mine = _json([sys.executable, "-c", OURS_IN_MEMORY, str(parquet)], ROOT)
            note("memory_s", mine["seconds"])
            note("memory_mb", mine["peak_mb"])
            if args.peer:
                theirs = _json([args.peer, "-c", PEER_IN_MEMORY, str(parquet)], PEER)
                note("peer_memory_s", theirs["seconds"])
                note("peer_memory_mb", theirs["peak_mb"])
            for label, path in (("parquet", parquet), ("csv", csv)):
                note(label, _wall([*ours_cli, str(path)], ROOT))
                if args.peer:
                    note(
                        f"peer_{label}",
                        _wall([args.peer, "roster_e2e.py", str(path), str(out)], PEER),
                    )
            print(
                f"round {k + 1}: "
                + " · ".join(f"{key} {values[-1]:.3f}" for key, values in figures.items()),
                flush=True,
            )
    median = {key: statistics.median(values) for key, values in figures.items()}
    span = {key: (min(values), max(values)) for key, values in figures.items()}
    rows = f"{args.rows:,}" if not args.data else "the file's"
    print(f"\n{rows} rows · {args.rounds} rounds, fresh processes, interleaved · medians (range)")
    print(f"  floor: reading {mb:.0f} MB of input columns once: {floor * 1000:.1f} ms")
    lines = [
        ("in memory, with validation", "memory_s", "s"),
        ("peak memory, in memory", "memory_mb", "MB"),
        ("end to end from Parquet", "parquet", "s"),
        ("end to end from CSV", "csv", "s"),
    ]
    for label, key, unit in lines:
        lo, hi = span[key]
        text = f"  {label:<28} {median[key]:8.3f} {unit} ({lo:.3f}–{hi:.3f})"
        if f"peer_{key}" in median:
            plo, phi = span[f"peer_{key}"]
            text += f" · peer {median[f'peer_{key}']:8.3f} {unit} ({plo:.3f}–{phi:.3f})"
            text += f" · ÷ peer {median[key] / median[f'peer_{key}']:.2f}"
        print(text)


if __name__ == "__main__":
    main()
