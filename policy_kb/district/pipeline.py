"""A roster run in three stages that overlap: reading, the engine, writing.

The calling thread reads the file; the batch it read before is converted and evaluated on the
engine's thread; the answers of the batch before that are written on the writer's. pyarrow reads
and writes CSV and Parquet in C++ without holding Python's lock, and numpy lets it go in its
loops, so on two cores the three stages run side by side instead of taking turns.
:class:`Behind` is one stage: it handles the items in the order given on a thread of its own,
keeps at most ``depth`` of them waiting (memory stays flat however long the file), raises an
error of its thread where the next item is handed over, and stops its thread before a run that
ends early returns.

Reading stays on the calling thread: a pyarrow CSV reader driven from a second thread crashed the
interpreter at exit after Ctrl-C (1 run in 4 on a loaded machine); pyarrow's readers decode on
their own threads anyway.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

_WAIT = 0.05  # seconds between looks at the stop flag while a queue is full or empty
_DONE = object()


class Behind(Generic[T]):
    """Calls ``write`` on each item given to :meth:`put`, in order, on a thread of its own.

    :meth:`finish` waits for every item to be handled; :meth:`cancel` drops what is waiting.
    :meth:`put` and :meth:`finish` raise the error the thread met, if any (a full disk, a closed
    file, a roster refused on its first batch)."""

    def __init__(
        self, write: Callable[[T], None], depth: int = 2, name: str = "policy-kb-write"
    ) -> None:
        self._write = write
        self._waiting: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._worker = threading.Thread(target=self._consume, name=name, daemon=True)
        self._worker.start()

    def _consume(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._waiting.get(timeout=_WAIT)
            except queue.Empty:
                continue
            if item is _DONE:
                return
            try:
                self._write(item)  # type: ignore[arg-type]
            except BaseException as exc:  # raised in the caller's thread
                self._error = exc
                return

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, item: T) -> None:
        """Queue ``item`` to be written (waits while ``depth`` items are already waiting)."""
        while True:
            self._raise()
            try:
                self._waiting.put(item, timeout=_WAIT)
            except queue.Full:
                if self._worker.is_alive():
                    continue
                self._raise()
            return

    def finish(self) -> None:
        """Wait until every item put is written."""
        while self._worker.is_alive():  # a writer that failed takes nothing more
            try:
                self._waiting.put(_DONE, timeout=_WAIT)
            except queue.Full:
                continue
            break
        self._worker.join()
        self._raise()

    def cancel(self) -> None:
        """Stop writing; what was not written yet is dropped."""
        self._stop.set()
        self._worker.join()
        self._error = None


__all__ = ["Behind"]
