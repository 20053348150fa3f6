"""Load-test POST /v1/evaluate on loopback and print requests per second and p50 / p99 latency.

    python benchmarks/bench_service.py [--workers 2] [--connections 50] [--seconds 10]

Starts ``policy-kb serve`` on a free loopback port, then drives it with ``wrk`` (Debian's ``wrk``
package) when installed, else with a small closed-loop Python client. Three runs:

- ``repeated``: the same full profile every time (answers come from the per-process cache);
- ``distinct``: 2,000 different full profiles in turn (every answer is computed);
- ``think``: distinct profiles, each of the 50 clients pausing 25 ms between its requests.

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
  return wrk.format("POST", "/v1/evaluate", {["Content-Type"] = "application/json"}, bodies[i])
end
%s
"""


def run_wrk(
    port: int, bodies: list[str], connections: int, seconds: int, think_ms: int
) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "bodies.jsonl"
        data.write_text("\n".join(bodies) + "\n", encoding="utf-8")
        delay = f"function delay() return {think_ms} end" if think_ms else ""
        script = Path(tmp) / "post.lua"
        script.write_text(WRK_SCRIPT % (data, delay), encoding="utf-8")
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}/v1/evaluate",
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
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
