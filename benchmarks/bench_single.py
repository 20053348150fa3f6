"""One profile at a time, side by side with the peer: the answer object, JSON in → JSON out.

    python benchmarks/bench_single.py PROFILES.json [--peer /tmp/of-venv/bin/python] [--rounds 5]

``PROFILES.json`` is the list written by the peer's ``side_by_side/make_data.py`` (the same
generated enterprises on both sides). Each round runs, in fresh processes and alternately,
policy_kb (three figures: ``kb.evaluate`` of the parsed profile — the answer object; the bytes of
the request → the bytes of the full JSON document; the same with ``detail=summary``) and, with
``--peer``, the peer's ``single.py`` (its Web API handler, JSON in → JSON out). Each figure is
microseconds per profile, the median of three passes over every profile. The ratios printed at
the end are of the medians over the rounds.

Not a test: run it before quoting a figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT.parent / "shared" / "peers" / "openfisca" / "side_by_side"

OURS = r"""
import json, statistics, sys, time
import policy_kb
kb = policy_kb.load()
raws = [json.dumps(p).encode() for p in json.load(open(sys.argv[1]))]
def obj():
    for r in raws: kb.evaluate(json.loads(r))
def full():  # the service's path: Evaluation.to_bytes (kept parts shared, not copied)
    for r in raws: kb.evaluate(json.loads(r)).to_bytes("zh")
def summary():
    for r in raws: kb.evaluate(json.loads(r)).to_bytes("zh", detail="summary")
out = {}
for name, fn in (("object", obj), ("json_full", full), ("json_summary", summary)):
    fn()  # warm: the year's parameters, the plan's tables
    times = []
    for _ in range(3):
        t = time.perf_counter(); fn(); times.append((time.perf_counter() - t) / len(raws) * 1e6)
    out[name] = statistics.median(times)
print(json.dumps(out))
"""


def ours(profiles: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", OURS, profiles], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return dict(json.loads(done.stdout))


def peer(python: str, profiles: str) -> float:
    done = subprocess.run(
        [python, "single.py", profiles], capture_output=True, text=True, check=True, cwd=PEER
    )
    return float(json.loads(done.stdout.strip().splitlines()[-1])["us_per_profile"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profiles")
    parser.add_argument("--peer", help="the Python of a venv with OpenFisca 46 (see its README)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    profiles = str(Path(args.profiles).resolve())
    mine: dict[str, list[float]] = {"object": [], "json_full": [], "json_summary": []}
    theirs: list[float] = []
    for k in range(args.rounds):
        found = ours(profiles)
        for key, value in found.items():
            mine[key].append(value)
        line = " · ".join(f"{key} {value:7.1f} µs" for key, value in found.items())
        if args.peer:
            theirs.append(peer(args.peer, profiles))
            line += f" · peer {theirs[-1]:7.1f} µs"
        print(f"round {k + 1}: {line}")
    for key, values in mine.items():
        med = statistics.median(values)
        text = f"{key:>12}: median {med:7.1f} µs (range {min(values):.1f}–{max(values):.1f})"
        if theirs:
            text += f" · ÷ peer {med / statistics.median(theirs):.3f}"
        print(text)
    if theirs:
        print(
            f"{'peer':>12}: median {statistics.median(theirs):7.1f} µs"
            f" (range {min(theirs):.1f}–{max(theirs):.1f})"
        )


if __name__ == "__main__":
    main()
