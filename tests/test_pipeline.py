"""The roster's stages (reading, the engine, writing): order kept, errors raised where the
batches are handed over, no thread left running, no half-written file."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
from conftest import ROOT

import policy_kb
from policy_kb.district import roster as roster_module
from policy_kb.district.pipeline import Behind
from policy_kb.errors import OutputError

ROSTER = ROOT / "examples" / "roster" / "roster.csv"


def _threads(name: str) -> int:
    return sum(1 for t in threading.enumerate() if t.name == name)


def test_writing_behind_keeps_the_order_and_raises_the_writers_error():
    written: list[int] = []
    behind: Behind[int] = Behind(written.append)
    for i in range(100):
        behind.put(i)
    behind.finish()
    assert written == list(range(100))

    def fail(item: int) -> None:
        if item == 3:
            raise OSError("No space left on device")
        written.append(item)

    written.clear()
    failing: Behind[int] = Behind(fail)

    def produce() -> None:
        for i in range(100):
            failing.put(i)
        failing.finish()

    with pytest.raises(OSError, match="No space left"):
        produce()
    assert written == [0, 1, 2]
    assert _threads("policy-kb-write") == 0


def test_a_roster_whose_writing_fails_leaves_no_file(tmp_path, monkeypatch):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    kb = policy_kb.load()
    source = tmp_path / "in" / "roster.parquet"
    source.parent.mkdir()
    pq.write_table(pacsv.read_csv(ROSTER), source)
    out = tmp_path / "answers.parquet"
    calls = []
    real = roster_module._Writer._write

    def write(self, batch):
        calls.append(batch.num_rows)
        if len(calls) == 2:
            raise OSError("No space left on device")
        real(self, batch)

    monkeypatch.setattr(roster_module._Writer, "_write", write)
    with pytest.raises(OutputError, match=r"answers\.parquet：无法写入（No space left on device）"):
        roster_module.run_roster(kb.model, source, kb._years(None), output=out, batch_rows=500)
    assert len(calls) == 2
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in"]
    assert _threads("policy-kb-write") == 0


def test_a_roster_written_behind_equals_one_written_in_line(tmp_path):
    """The same answers, row for row, whatever the batch size (the writer keeps the order)."""
    import pyarrow.parquet as pq

    kb = policy_kb.load()
    years = kb._years(None)
    roster_module.run_roster(
        kb.model, ROSTER, years, output=tmp_path / "small.parquet", batch_rows=137
    )
    kb.roster(ROSTER, output=tmp_path / "large.parquet")
    small = pq.read_table(tmp_path / "small.parquet")
    large = pq.read_table(tmp_path / "large.parquet")
    assert small.num_rows == large.num_rows == 2000
    assert small.column("row").to_pylist() == list(range(2, 2002))
    assert small.to_pylist() == large.to_pylist()


def test_an_error_on_the_engines_thread_stops_the_run_and_leaves_no_file(tmp_path):
    """A callback (or the engine) that fails on the third batch: the caller gets the error, no
    answer file appears, no stage's thread is left, and the batches before were handled in
    order, each on the engine's thread while the calling thread read on."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    source = tmp_path / "in" / "roster.parquet"
    source.parent.mkdir()
    pq.write_table(pacsv.read_csv(ROSTER), source)  # read in batches of the size asked for
    kb = policy_kb.load()
    out = tmp_path / "answers.parquet"
    seen: list[tuple[int, str]] = []

    def each(batch, result) -> None:
        seen.append((batch.first_row, threading.current_thread().name))
        if len(seen) == 3:
            raise ValueError("a report that cannot go on")

    with pytest.raises(ValueError, match="cannot go on"):
        roster_module.run_roster(
            kb.model, source, kb._years(None), output=out, batch_rows=300, each=each
        )
    assert seen == [(2, "policy-kb-engine"), (302, "policy-kb-engine"), (602, "policy-kb-engine")]
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in"]
    assert _threads("policy-kb-engine") == 0
    assert _threads("policy-kb-write") == 0


def test_finishing_after_the_writer_failed_with_a_full_queue_raises_and_does_not_hang():
    go = threading.Event()

    def fail(item: int) -> None:
        go.wait(5)
        raise OSError("disk gone")

    behind: Behind[int] = Behind(fail, depth=2)
    behind.put(0)  # taken by the writer, which waits
    time.sleep(0.1)
    behind.put(1)
    behind.put(2)  # the queue is full now
    go.set()
    started = time.monotonic()
    with pytest.raises(OSError, match="disk gone"):
        behind.finish()
    assert time.monotonic() - started < 5
    assert _threads("policy-kb-write") == 0


_POOL = (
    "from policy_kb.serve import allocators; allocators.for_rosters(); "
    "import pyarrow as pa; print(pa.default_memory_pool().backend_name)"
)


@pytest.mark.parametrize(
    ("variable", "expected"), [(None, "jemalloc"), ("system", "system"), ("mimalloc", "mimalloc")]
)
def test_the_roster_commands_choose_jemalloc_unless_the_user_chose(variable, expected):
    """Arrow's default (mimalloc) faulted its pages in again on every batch of a Parquet read;
    the roster commands pick jemalloc, and a user's ARROW_DEFAULT_MEMORY_POOL wins."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if variable is not None:
        env["ARROW_DEFAULT_MEMORY_POOL"] = variable
    done = subprocess.run(
        [sys.executable, "-c", _POOL], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == expected


_WRITER_POOL = (
    "import io; from policy_kb.serve import allocators; allocators.for_rosters(); "
    "import pyarrow as pa, pyarrow.parquet as pq; "
    "t = pa.table({'a': pa.array(range(200_000))}); "
    "w = pq.ParquetWriter(io.BytesIO(), t.schema); w.write_table(t); w.close(); "
    "print(pa.mimalloc_memory_pool().max_memory(), pa.jemalloc_memory_pool().max_memory())"
)


def test_arrows_own_allocations_leave_mimalloc_too():
    """``pyarrow.set_memory_pool`` alone left Arrow's C++ allocations (the Parquet writer's
    pages) on mimalloc: the roster commands set ARROW_DEFAULT_MEMORY_POOL before pyarrow is
    imported, so the writer allocates nothing from mimalloc and its pages from jemalloc."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    done = subprocess.run(
        [sys.executable, "-c", _WRITER_POOL], capture_output=True, text=True, env=env, check=True
    )
    mimalloc, jemalloc = (int(x) for x in done.stdout.split())
    assert mimalloc == 0
    assert jemalloc > 1_000_000
    assert done.stderr == ""


def test_the_allocators_as_environment_give_another_process_the_same_choice():
    """What a benchmark hands its peer: the glibc thresholds the roster commands set, and a plain
    process (no for_rosters) started with ``environment()`` gets jemalloc for Arrow."""
    from policy_kb.serve import allocators

    chosen = allocators.environment()
    assert chosen["MALLOC_MMAP_THRESHOLD_"] == str(32 * 1024 * 1024)
    assert chosen["MALLOC_TRIM_THRESHOLD_"] == str(256 * 1024 * 1024)
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import pyarrow as pa; print(pa.default_memory_pool().backend_name)",
        ],
        capture_output=True,
        text=True,
        env={**env, **chosen},
        check=True,
    )
    assert done.stdout.strip() == "jemalloc"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_roster_of_a_header_alone_writes_a_table_of_no_rows(tmp_path, suffix):
    """It wrote a 0-byte file: a .parquet no reader can open, a .csv without its header."""
    import polars as pl

    header = ROSTER.read_text(encoding="utf-8").splitlines()[0]
    source = tmp_path / "header.csv"
    source.write_text(header + "\n", encoding="utf-8")
    out = tmp_path / f"answers{suffix}"
    run = policy_kb.load().roster(source, output=out)
    assert run.summary.rows == 0
    full = tmp_path / f"full{suffix}"
    policy_kb.load().roster(ROSTER, output=full)
    read = pl.read_parquet if suffix == ".parquet" else pl.read_csv
    empty, answers = read(out), read(full)
    assert empty.height == 0
    assert empty.columns == answers.columns
    if suffix == ".parquet":
        assert empty.schema == answers.schema
