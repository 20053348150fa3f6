"""Memory allocators for a command that owns its process and streams a roster.

A roster run allocates and frees the same few megabytes per batch, thousands of times. Two
default allocators turn that into page faults:

- Arrow's wheels default to mimalloc, which here spent most of a 1,000,000-row Parquet read
  giving pages back to the system and faulting them in again (1.1–1.3 s against 0.33 s with
  jemalloc or the system's malloc). The command chooses jemalloc, else the system allocator —
  unless ``ARROW_DEFAULT_MEMORY_POOL`` already says which one to use. Arrow's C++ reads that
  variable once, when pyarrow is imported, and its own allocations (the Parquet writer's pages,
  for one) follow it and nothing else: ``pyarrow.set_memory_pool`` changes only the pool pyarrow's
  Python calls pass. So when pyarrow is not imported yet and its build has jemalloc, the command
  sets the variable; that cut the CPU time of a 1,000,000-row Parquet run by 18 % (perf: 1.52 s
  → 1.25 s, the kernel zeroing fresh pages 12 % → 3 % of it). Otherwise it sets the pool pyarrow
  passes, as before.
- glibc's malloc serves numpy's batch-sized arrays (0.4–1 MB) with ``mmap`` and trims the top of
  its heap after each free, so every batch faults its arrays in afresh. The command raises the
  mmap threshold to glibc's maximum (32 MB) and keeps up to 256 MB of freed memory for reuse
  (``mallopt``); the peak is unchanged (measured: 222 MB either way on 1,000,000 rows) and the
  run is ~15 % faster. Skipped off glibc, or when a ``MALLOC_*`` variable already sets them.
- numpy's OpenBLAS starts a thread per core that spins waiting for work; a roster run makes no
  BLAS call, and that spinning took 7 % of a Parquet run's CPU samples from the reader and the
  writer. The command asks for one BLAS thread (``OPENBLAS_NUM_THREADS=1``) when numpy is not
  imported yet and neither that variable nor ``OMP_NUM_THREADS`` is set.

A program that imports policy_kb keeps whatever allocators it has: only :func:`for_rosters`,
called by the command line, changes them.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_GLIBC_SETTINGS = (
    (_M_MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_", 32 * 1024 * 1024),
    (_M_TRIM_THRESHOLD, "MALLOC_TRIM_THRESHOLD_", 256 * 1024 * 1024),
    (_M_TOP_PAD, "MALLOC_TOP_PAD_", 64 * 1024 * 1024),
)

_ARROW_POOLS = ("jemalloc", "system")  # Arrow's allocators, first choice first


def for_rosters() -> None:
    """Choose the allocators a roster run is fastest with (see the module's docstring)."""
    _glibc()
    _arrow()
    _blas()


def environment() -> dict[str, str]:
    """The choices :func:`for_rosters` makes, as the environment variables glibc and Arrow read
    at start-up: to give another process (a benchmark's peer) the same allocators."""
    chosen = {variable: str(value) for _, variable, value in _GLIBC_SETTINGS}
    chosen["ARROW_DEFAULT_MEMORY_POOL"] = _ARROW_POOLS[0]
    return chosen


def _glibc() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:  # the process's own symbols: glibc's, or another C library's without these names
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - glibc only: musl and others have no such name
    except (OSError, AttributeError):
        return
    for parameter, variable, value in _GLIBC_SETTINGS:
        if variable not in os.environ:
            libc.mallopt(ctypes.c_int(parameter), ctypes.c_int(value))


def _arrow() -> None:
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    if "pyarrow" not in sys.modules and _built_with(_ARROW_POOLS[0]):
        # read by Arrow's C++ when pyarrow is imported: every allocation follows it
        os.environ["ARROW_DEFAULT_MEMORY_POOL"] = _ARROW_POOLS[0]
        return
    import pyarrow as pa

    for name in _ARROW_POOLS:
        try:
            pa.set_memory_pool(getattr(pa, f"{name}_memory_pool")())
            return
        except NotImplementedError:  # a build without that allocator
            continue


def _blas() -> None:
    if "numpy" in sys.modules or {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"} & set(os.environ):
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # read by OpenBLAS when numpy loads it


def _built_with(pool: str) -> bool:
    """Whether the installed pyarrow was built with ``pool`` (its ``arrow/util/config.h`` says),
    found without importing it: Arrow warns on stderr when the variable names a pool it lacks."""
    import importlib.util

    spec = importlib.util.find_spec("pyarrow")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        try:
            config = (Path(folder) / "include" / "arrow" / "util" / "config.h").read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        return f"#define ARROW_{pool.upper()}\n" in config
    return False
