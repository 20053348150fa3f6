"""Peak memory of `policy-kb serve` while it answers 1,000-profile batches (prints figures).

Run: .venv/bin/python benchmarks/bench_batch_memory.py
Starts the server on a free port, posts three batches, samples the server's resident memory
every 20 ms from /proc, prints each answer's size and time and the peak, then stops the server.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return 0


def main() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "policy_kb", "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(150):
            try:
                httpx.get(url + "/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.2)
        samples = [rss_mb(server.pid)]
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                samples.append(rss_mb(server.pid))
                time.sleep(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        profiles = [
            {"employees": 50 + i, "annual_revenue": 1_000_000 * (i % 50), "hnte_valid": i % 2 == 0}
            for i in range(1000)
        ]
        body = json.dumps(profiles)
        for _ in range(3):
            start = time.perf_counter()
            answer = httpx.post(
                url + "/v1/evaluate/batch",
                content=body,
                headers={"content-type": "application/json"},
                timeout=120,
            )
            print(
                f"status {answer.status_code}  {len(answer.content):,} bytes  "
                f"{time.perf_counter() - start:.2f} s"
            )
        done.set()
        watcher.join()
        print(f"server memory: {samples[0]} MB at rest, {max(samples)} MB at peak")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
