"""Print the knowledge base's load time and the time to evaluate one full profile.

    python benchmarks/bench_evaluate.py [--repeat N]

Not a test: run it before quoting a figure. Times are wall-clock on this machine, one core.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "registered_hnte_first_above_scale.yaml"


def cold_start() -> float:
    """Seconds for a new interpreter to import policy_kb and load the shipped knowledge base."""
    code = "import time; t = time.perf_counter(); import policy_kb; policy_kb.load(); print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return float(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20_000)
    args = parser.parse_args()

    import policy_kb

    colds = [cold_start() for _ in range(3)]
    warm = []
    for _ in range(10):
        t = time.perf_counter()
        kb = policy_kb.load()
        warm.append(time.perf_counter() - t)
    t = time.perf_counter()
    _ = kb.graph
    graph_time = time.perf_counter() - t

    profile = kb.validate_profile(policy_kb.read_profile(str(EXAMPLE)))
    raw = dict(profile.values)
    kb.evaluate(raw)  # warm the per-year parameter table

    def per_call(fn, n: int) -> float:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t) / n

    n = args.repeat
    evaluate_validated = statistics.median(
        per_call(lambda: kb.evaluate(profile), n) for _ in range(5)
    )
    evaluate_raw = statistics.median(per_call(lambda: kb.evaluate(raw), n) for _ in range(5))
    to_json = statistics.median(
        per_call(lambda: kb.evaluate(raw).to_json(), max(n // 20, 100)) for _ in range(5)
    )

    print(f"profile: {EXAMPLE.name} ({len(raw)} facts), Python {sys.version.split()[0]}")
    print(
        f"cold start (new process: import + load measures.yaml): median {statistics.median(colds) * 1000:.0f} ms"
    )
    print(
        f"load() in a warm process:                               median {statistics.median(warm) * 1000:.1f} ms"
    )
    print(f"knowledge graph (TBox + ABox), built on first use:       {graph_time * 1000:.1f} ms")
    print(
        f"evaluate, validated profile:                             {evaluate_validated * 1e6:.0f} µs per profile"
    )
    print(
        f"evaluate, raw dict (validation included):                {evaluate_raw * 1e6:.0f} µs per profile"
    )
    print(
        f"evaluate + full JSON document (zh):                      {to_json * 1e6:.0f} µs per profile"
    )


if __name__ == "__main__":
    main()
