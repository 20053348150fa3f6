"""Writing behind the engine: a roster's answers written on a thread of their own.

pyarrow writes Parquet and CSV in C++ without holding Python's lock, so the answers of one batch
are written while the engine (one thread, numpy) evaluates the next. :class:`Behind` writes the
batches in the order given, keeps at most ``depth`` of them waiting (memory stays flat however
long the file), raises an error of the writing thread where the next batch is handed over, and
stops the thread before a run that ends early returns.

Reading is not moved to a thread: a pyarrow CSV reader driven from a second thread crashed the
interpreter at exit after Ctrl-C (1 run in 4 on a loaded machine), and pyarrow's readers already
decode on their own threads.
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

    :meth:`finish` waits for every item to be written; :meth:`cancel` drops what is waiting.
    Either raises the error the writing thread met, if any (a full disk, a closed file)."""

    def __init__(self, write: Callable[[T], None], depth: int = 2) -> None:
        self._write = write
        self._waiting: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._worker = threading.Thread(target=self._consume, name="policy-kb-write", daemon=True)
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
