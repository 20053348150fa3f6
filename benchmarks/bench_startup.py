"""Start-up, side by side with the peer: a fresh ``policy-kb match`` and ``load()``.

    python benchmarks/bench_startup.py [--peer /tmp/of-venv/bin/python] [--rounds 7]

Each round runs, in fresh processes and alternately, ``policy-kb match EXAMPLE`` (read a
profile, load the knowledge base, evaluate, print the table) and the peer's ``match.py`` (read a
profile, build the system, compute, print), timing the wall clock of the whole process. Both run
with compiled bytecode, as an installed package does (``PYTHONPYCACHEPREFIX`` points at a
temporary folder, so neither tree is written to; a first untimed run compiles). Then, in one
process each, the median of twenty ``policy_kb.load()`` against twenty builds of the peer's
``CountryTaxBenefitSystem()``. The figures printed are medians with their ranges and the ratios.

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
PEER = ROOT.parent / "shared" / "peers" / "openfisca"
EXAMPLE = ROOT / "examples" / "registered_hnte_first_above_scale.yaml"

OUR_LOAD = """
import json, statistics, time, policy_kb
policy_kb.load()
times = []
for _ in range(20):
    t = time.perf_counter(); policy_kb.load(); times.append(time.perf_counter() - t)
print(json.dumps(statistics.median(times) * 1000))
"""

PEER_BUILD = """
import json, logging, statistics, time
logging.getLogger("openfisca_core.taxbenefitsystems.tax_benefit_system").setLevel(logging.ERROR)
from openfisca_sme import CountryTaxBenefitSystem
CountryTaxBenefitSystem()
times = []
for _ in range(20):
    t = time.perf_counter(); CountryTaxBenefitSystem(); times.append(time.perf_counter() - t)
print(json.dumps(statistics.median(times) * 1000))
"""


def wall(command: list[str], env: dict[str, str], cwd: Path) -> float:
    t = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - t) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--peer", help="the Python of a venv with OpenFisca 46 (see its README)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        ours = [sys.executable, "-m", "policy_kb", "match", str(EXAMPLE)]
        theirs = [args.peer, "side_by_side/match.py", str(EXAMPLE)] if args.peer else None
        peer_env = {**env, "PYTHONPATH": str(PEER)}
        wall(ours, env, ROOT)  # compile, and let the loader remember the file is sound
        if theirs:
            wall(theirs, peer_env, PEER)
        mine: list[float] = []
        peer: list[float] = []
        for k in range(args.rounds):
            mine.append(wall(ours, env, ROOT))
            line = f"round {k + 1}: policy-kb match {mine[-1]:6.1f} ms"
            if theirs:
                peer.append(wall(theirs, peer_env, PEER))
                line += f" · peer match.py {peer[-1]:6.1f} ms"
            print(line)
        load = json.loads(
            subprocess.run(
                [sys.executable, "-c", OUR_LOAD], env=env, cwd=ROOT, capture_output=True, check=True
            ).stdout
        )
        print(
            f"policy-kb match: median {statistics.median(mine):.1f} ms (range {min(mine):.1f}–{max(mine):.1f})"
        )
        print(f"policy_kb.load() in a warm process: median {load:.2f} ms")
        if theirs:
            build = json.loads(
                subprocess.run(
                    [args.peer, "-c", PEER_BUILD],
                    env=peer_env,
                    cwd=PEER,
                    capture_output=True,
                    check=True,
                ).stdout
            )
            print(
                f"peer match.py:   median {statistics.median(peer):.1f} ms (range {min(peer):.1f}–{max(peer):.1f})"
            )
            print(f"peer CountryTaxBenefitSystem(): median {build:.2f} ms")
            print(
                f"ratios: match {statistics.median(mine) / statistics.median(peer):.2f} · load {load / build:.2f}"
            )


if __name__ == "__main__":
    main()
