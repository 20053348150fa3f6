"""Load-test POST /v1/evaluate on loopback and print requests per second and p50 / p99 latency.

    python benchmarks/bench_service.py [--workers 2] [--connections 50] [--seconds 10]
    python benchmarks/bench_service.py --profiles /tmp/sbs/profiles.json \
        --peer /tmp/of-venv/bin/python --rounds 5 [--detail summary]

Starts ``policy-kb serve`` on a free loopback port, then drives it with ``wrk`` (Debian's ``wrk``
package) when installed, else with a small closed-loop Python client. Three runs:

- ``repeated``: the same full profile every time (answers come from the per-process cache);
- ``distinct``: 2,000 different full profiles in turn (every answer is computed);
- ``think``: distinct profiles, each of the 50 clients pausing 25 ms between its requests.

With ``--peer PYTHON`` (the interpreter of a venv holding OpenFisca, see
``../shared/peers/openfisca``), the same generated profiles (``--profiles``, from the peer's
``make_data.py``) are sent to ``openfisca serve`` (POST /calculate, the same worker count) and to
policy-kb, alternately for ``--rounds`` rounds, and the ratios of the medians are printed. Before
each run both servers are let settle (:func:`settle`: their workers' CPU time stops growing), so
that neither is measured while the other still answers the last run's queued requests.

Not a test: run it before quoting a figure. Bounded in time and loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def full_profile(rng: random.Random) -> dict:
    import yaml

    base = yaml.safe_load(
        (ROOT / "examples" / "registered_hnte_first_above_scale.yaml").read_text(encoding="utf-8")
    )
    base["employees"] = rng.randint(20, 600)
    base["tech_staff"] = rng.randint(0, base["employees"])
    base["rd_expense"] = rng.randint(0, 9_000_000)
    base["rd_expense_prior_year"] = rng.randint(0, 9_000_000)
    base["taxable_income"] = rng.randint(-500_000, 20_000_000)
    base["hnte_valid"] = rng.random() < 0.5
    base["tech_sme_registered"] = rng.random() < 0.5
    return base


def wait_until_up(proc: subprocess.Popen[bytes], url: str) -> subprocess.Popen[bytes]:
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"the server did not start ({url})")


def start_peer(python: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    peer = ROOT.parent / "shared" / "peers" / "openfisca"
    serve = Path(python).parent / "openfisca"
    proc = subprocess.Popen(
        [str(serve), "serve", "-c", "openfisca_sme", "-p", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(peer)},
    )
    return wait_until_up(proc, f"http://127.0.0.1:{port}/spec")


def peer_bodies(python: str, profiles: list[dict]) -> list[str]:
    """The peer's Web API request for each profile: every fact for 2021, every output asked."""
    side = ROOT.parent / "shared" / "peers" / "openfisca" / "side_by_side"
    outputs = json.loads(
        subprocess.run(
            [python, "-c", "import common, json; print(json.dumps(common.OUTPUTS))"],
            capture_output=True,
            text=True,
            check=True,
            cwd=side,
        ).stdout
    )
    return [
        json.dumps(
            {
                "enterprises": {
                    "e": {
                        **{k: {"2021": v} for k, v in p.items()},
                        **{o: {"2021": None} for o in outputs},
                    }
                }
            }
        )
        for p in profiles
    ]


def start_server(port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "POLICY_KB_SPARQL_WORKERS": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "policy_kb",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not start")


WRK_SCRIPT = """
local bodies = {}
local f = io.open("%s", "rb")
for line in f:lines() do bodies[#bodies + 1] = line end
f:close()
local i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "%s", {["Content-Type"] = "application/json"}, bodies[i])
end
%s
"""


def run_wrk(
    port: int,
    bodies: list[str],
    connections: int,
    seconds: int,
    think_ms: int,
    path: str = "/v1/evaluate",
) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "bodies.jsonl"
        data.write_text("\n".join(bodies) + "\n", encoding="utf-8")
        delay = f"function delay() return {think_ms} end" if think_ms else ""
        script = Path(tmp) / "post.lua"
        script.write_text(WRK_SCRIPT % (data, path, delay), encoding="utf-8")
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rps = float(
        next(line for line in out.splitlines() if line.startswith("Requests/sec")).split()[1]
    )
    latency = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "99%"):
            value = parts[1]
            unit = 1e-3 if value.endswith("us") else 1.0 if value.endswith("ms") else 1000.0
            latency[parts[0]] = float(value.rstrip("usm")) * unit
    return rps, latency["50%"], latency["99%"]


async def run_python(
    port: int, bodies: list[str], connections: int, seconds: int, think_ms: int
) -> tuple[float, float, float]:
    times: list[float] = []
    stop = time.perf_counter() + seconds

    async def client(k: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = k
        while time.perf_counter() < stop:
            body = bodies[i % len(bodies)].encode()
            i += connections
            head = f"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            t = time.perf_counter()
            writer.write(head.encode() + body)
            await writer.drain()
            length = 0
            while True:
                line = await reader.readline()
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                if line in (b"\r\n", b""):
                    break
            await reader.readexactly(length)
            times.append(time.perf_counter() - t)
            if think_ms:
                await asyncio.sleep(think_ms / 1000)
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(connections)))
    elapsed = time.perf_counter() - start
    times.sort()
    return (
        len(times) / elapsed,
        statistics.median(times) * 1000,
        times[int(len(times) * 0.99)] * 1000,
    )


def _cpu_seconds(root: int) -> float:
    """CPU time so far of a process and all its descendants (Linux /proc; 0 elsewhere)."""
    try:
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", encoding="ascii") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    except OSError:
        return 0.0
    family, ticks = {root}, 0
    grew = True
    while grew:  # children, grandchildren …
        grew = False
        for pid, (ppid, _) in stats.items():
            if ppid in family and pid not in family:
                family.add(pid)
                grew = True
    for pid in family:
        ticks += stats.get(pid, (0, 0))[1]
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(proc: subprocess.Popen[bytes], most: float = 15.0) -> None:
    """Wait until a server has worked off what a finished load left it (its workers keep
    answering the requests still queued when the load generator stops): measured here, the peer's
    sync workers went on for long enough that the first requests of policy-kb's run, started at
    once, waited for a shared CPU — p99 = 4.6–7.3 × p50 then, 2.2–2.7 × p50 three seconds later."""
    deadline = time.time() + most
    before = _cpu_seconds(proc.pid)
    while time.time() < deadline:
        time.sleep(0.5)
        now = _cpu_seconds(proc.pid)
        if now - before < 0.02:  # idle: under 4 % of a core over the half second
            return
        before = now


def side_by_side(args: argparse.Namespace) -> None:
    """policy-kb and the peer on the same profiles, alternately, ratios of the medians."""
    if not shutil.which("wrk"):
        raise SystemExit("the side-by-side run needs wrk (apt-get install wrk)")
    profiles = json.loads(Path(args.profiles).read_text(encoding="utf-8"))
    ours = [json.dumps(p, ensure_ascii=False) for p in profiles]
    theirs = peer_bodies(args.peer, profiles)
    path = "/v1/evaluate" + (f"?detail={args.detail}" if args.detail != "full" else "")
    port, peer_port = free_port(), free_port()
    server = start_server(port, args.workers)
    peer = start_peer(args.peer, peer_port, args.workers)
    print(
        f"{len(profiles):,} profiles, {args.connections} connections, {args.workers} workers each,"
        f" wrk {args.seconds} s per run, {args.rounds} rounds A B (policy-kb {path}, peer /calculate)"
    )
    found: dict[str, list[tuple[float, float, float]]] = {"policy-kb": [], "peer": []}
    try:
        run_wrk(port, ours, args.connections, 2, 0, path)
        run_wrk(peer_port, theirs, args.connections, 2, 0, "/calculate")
        for k in range(args.rounds):
            for name, p, bodies, route in (
                ("policy-kb", port, ours, path),
                ("peer", peer_port, theirs, "/calculate"),
            ):
                for proc in (server, peer):  # neither still busy with the last run's queue
                    settle(proc)
                rps, p50, p99 = run_wrk(p, bodies, args.connections, args.seconds, 0, route)
                found[name].append((rps, p50, p99))
                print(
                    f"round {k + 1} {name:>9}: {rps:8.0f} req/s · p50 {p50:7.2f} ms · p99 {p99:7.2f} ms"
                )
    finally:
        for proc in (server, peer):
            proc.terminate()
            proc.wait(timeout=10)
    med = {
        n: [statistics.median(r[i] for r in runs) for i in range(3)] for n, runs in found.items()
    }
    for n, (rps, p50, p99) in med.items():
        lo = min(r[0] for r in found[n])
        hi = max(r[0] for r in found[n])
        print(
            f"median {n:>9}: {rps:8.0f} req/s (range {lo:.0f}–{hi:.0f}) · p50 {p50:.2f} ms · p99 {p99:.2f} ms · p99/p50 {p99 / p50:.1f}"
        )
    print(f"req/s policy-kb ÷ peer: {med['policy-kb'][0] / med['peer'][0]:.1f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--profiles", help="profiles.json from the peer's make_data.py")
    parser.add_argument("--peer", help="the Python of a venv with OpenFisca (side by side)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--detail", choices=("full", "summary"), default="full")
    args = parser.parse_args()
    if args.peer:
        if not args.profiles:
            raise SystemExit("--peer needs --profiles (the same profiles on both sides)")
        side_by_side(args)
        return
    rng = random.Random(2021)
    distinct = [json.dumps(full_profile(rng), ensure_ascii=False) for _ in range(2000)]
    repeated = distinct[:1]
    port = free_port()
    server = start_server(port, args.workers)
    tool = "wrk" if shutil.which("wrk") else "python client"
    print(
        f"policy-kb serve --workers {args.workers} on 127.0.0.1:{port}; load from {tool}, {args.connections} connections, {args.seconds} s each"
    )
    try:
        for name, bodies, think in (
            ("repeated", repeated, 0),
            ("distinct", distinct, 0),
            ("think", distinct, 25),
        ):
            if tool == "wrk":
                rps, p50, p99 = run_wrk(port, bodies, args.connections, args.seconds, think)
            else:
                rps, p50, p99 = asyncio.run(
                    run_python(port, bodies, args.connections, args.seconds, think)
                )
            print(f"{name:>9}: {rps:8.0f} requests/s · p50 {p50:7.2f} ms · p99 {p99:7.2f} ms")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
