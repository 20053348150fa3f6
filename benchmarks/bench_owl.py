"""Print the OWL (HermiT) engine's time for 1, 100 and 1,000 profiles next to the fast engine's.

    python benchmarks/bench_owl.py [--sizes 1 100 1000] [--batch 25]

Not a test: run it before quoting a figure. Needs Java. Profiles are generated with a fixed seed,
facts missing at random and values around the policy's thresholds. The OWL engine reasons over
them in batches (one HermiT call per batch); ``--batch`` changes the batch size.
"""

from __future__ import annotations

import argparse
import random
import time

import policy_kb
from policy_kb.backends.owl import classify


def profiles(kb: policy_kb.KnowledgeBase, count: int, seed: int = 7) -> list[policy_kb.Profile]:
    rng = random.Random(seed)
    flags = [f.id for f in kb.model.facts.values() if f.type.value == "bool"]
    numbers = {
        "employees": [299, 300, 301, 499, 500, 501],
        "annual_revenue": [199_999_999, 200_000_000, 200_000_001],
        "total_assets": [49_999_999, 50_000_000, 50_000_001, 200_000_000, 200_000_001],
        "taxable_income": [-5, 2_999_999, 3_000_000, 3_000_001],
        "rd_expense": [0, 1, 1_199_999, 1_200_000],
        "rd_expense_prior_year": [1_000_000],
        "tech_transfer_income": [0, 1],
    }
    out = []
    for _ in range(count):
        p: dict = {f: rng.random() < 0.5 for f in flags if rng.random() < 0.8}
        p.update({f: rng.choice(v) for f, v in numbers.items() if rng.random() < 0.8})
        out.append(kb.validate_profile(p))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--batch", type=int, default=25)
    args = parser.parse_args()
    kb = policy_kb.load()
    print(f"OWL engine: HermiT via owlready2, batches of {args.batch}; fast engine for comparison")
    for size in args.sizes:
        batch = profiles(kb, size)
        t = time.perf_counter()
        owl = classify(kb.plan, batch, 2021, kb.parameters_for_year(2021), batch=args.batch)
        owl_time = time.perf_counter() - t
        t = time.perf_counter()
        fast = kb.evaluate_many(batch)
        fast_time = time.perf_counter() - t
        disagree = sum(
            1
            for o, f in zip(owl, fast, strict=True)
            for b, s in o.items()
            if f.benefit(b).status is not s
        )
        print(
            f"{size:>6} profiles: owl {owl_time:8.2f} s ({owl_time / size * 1000:7.1f} ms/profile) · "
            f"fast {fast_time * 1000:8.1f} ms ({fast_time / size * 1e6:6.0f} µs/profile) · "
            f"speed-up {owl_time / fast_time:,.0f}× · disagreements {disagree}"
        )


if __name__ == "__main__":
    main()
