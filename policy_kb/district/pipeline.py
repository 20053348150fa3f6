"""Reading and writing beside the engine: a roster's file work on threads of its own.

pyarrow reads and writes Parquet and CSV in C++ without holding Python's lock, so a batch can be
read and the previous one written while the engine (one thread, numpy) evaluates the current
one. :func:`read_ahead` reads a few batches ahead; :class:`Behind` writes batches in the order
given on a thread of its own. Both keep at most ``depth`` batches waiting, so memory stays flat
however long the file; an error on either thread is raised where the batches are used, and an
abandoned run stops both threads before it returns.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_WAIT = 0.05  # seconds between looks at the stop flag while a queue is full or empty
_DONE = object()


def _put(into: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Put ``item`` unless ``stop`` is set first; whether it was put."""
    while not stop.is_set():
        try:
            into.put(item, timeout=_WAIT)
        except queue.Full:
            continue
        return True
    return False


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """The items of ``items``, produced on another thread up to ``depth`` ahead of their use."""
    waiting: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _put(waiting, item, stop):
                    return
        except BaseException as exc:  # handed to the reader, raised there
            _put(waiting, _Failed(exc), stop)
            return
        finally:  # the file is closed on this thread, before the reader goes on
            close = getattr(items, "close", None)
            if close is not None:
                close()
        _put(waiting, _DONE, stop)

    worker = threading.Thread(target=produce, name="policy-kb-read", daemon=True)
    worker.start()
    try:
        while True:
            item = waiting.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


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
        if self._worker.is_alive():
            _put(self._waiting, _DONE, self._stop)
        self._worker.join()
        self._raise()

    def cancel(self) -> None:
        """Stop writing; what was not written yet is dropped."""
        self._stop.set()
        self._worker.join()
        self._error = None


__all__ = ["Behind", "read_ahead"]
