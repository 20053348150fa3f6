"""Files the program writes: never over one of its inputs, never half-written under the final name.

Every output goes to a temporary file in the folder of the target and is renamed onto the target
only once it is complete (``os.replace`` is atomic on one file system). An interrupted or failed
run therefore leaves the old file, or no file, under the final name — never a truncated one. An
output that is one of the inputs (the same file, also through a symlink or a hard link) is refused
before anything is read.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError, os_reason
from .text import Msg

PathLike = str | os.PathLike[str]


def check_output(
    output: PathLike, inputs: Iterable[PathLike | None] = (), suffixes: tuple[str, ...] = ()
) -> Path:
    """``output`` as a path, once it is known not to be an input, to have a folder to go in and,
    when ``suffixes`` are given, to end in one of them (a list written as CSV under .xlsx)."""
    text = os.fspath(output)
    if not text.strip():
        raise OutputError(Msg("output.empty"))
    if text.endswith(("/", os.sep)):  # a folder's name: Path() drops the slash
        raise OutputError(Msg("output.is_folder", output=text))
    path = Path(output)
    if suffixes and path.suffix.lower() not in suffixes:
        raise OutputError(
            Msg("output.suffix", output=text, suffix=path.suffix or "''", wanted=" ".join(suffixes))
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(Msg("output.no_folder", folder=str(folder), output=str(output)))
    if path.is_dir():
        raise OutputError(Msg("output.is_folder", output=str(output)))
    for given in inputs:
        if given is None or str(given) == "-":
            continue
        if _same_file(path, Path(given)):
            raise OutputError(Msg("output.same_as_input", output=str(output), input=str(given)))
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they point
        return a.resolve() == b.resolve()


@contextmanager
def atomic_path(output: PathLike, inputs: Iterable[PathLike | None] = ()) -> Iterator[Path]:
    """A temporary path beside ``output``, renamed onto it when the ``with`` block ends normally.

    On any exception (``KeyboardInterrupt`` included) the temporary file is removed and the
    target is left as it was.
    """
    path = check_output(output, inputs)
    mode = path.stat().st_mode & 0o777 if path.exists() else _new_file_mode()
    try:
        tmp = _part_file(path)
    except OSError as exc:  # a read-only folder, no permission: said of the output, not the part
        raise _unwritable(output, exc) from None
    try:
        yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:  # a full disk while writing: said as a write, with the output's name
        tmp.unlink(missing_ok=True)
        raise _unwritable(output, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _unwritable(output: PathLike, exc: OSError) -> OutputError:
    """The output could not be written: said with its own name (a failed write named the
    temporary file, or nothing, and said it could not be *read*; found by a hostile-input
    review)."""
    return OutputError(Msg("output.cannot_write", output=os.fspath(output), reason=os_reason(exc)))


def _new_file_mode() -> int:
    """The mode a new file gets from ``open()`` under the user's umask (0o644 under the usual
    022, 0o600 under 077): a roster's answers carry enterprises' finances, and a user who keeps
    their files private expects the answers to be private too."""
    try:  # Linux says it without changing it (setting it, even for a moment, is process-wide)
        with open("/proc/self/status", encoding="ascii") as status:
            line = next(x for x in status if x.startswith("Umask:"))
        mask = int(line.split()[1], 8)
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0o077)  # elsewhere: read by setting it, then put it back
        os.umask(mask)
    return 0o666 & ~mask


def _part_file(path: Path) -> Path:
    """A new, empty file beside ``path``, ``.NAME.<random>.part``, made with O_EXCL and mode
    0600 as ``tempfile.mkstemp`` makes one (without importing tempfile, random and shutil: 5 ms
    of a roster run's start)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        candidate = path.with_name(f".{path.name}.{os.urandom(6).hex()}.part")
        try:
            fd = os.open(candidate, flags, 0o600)
        except FileExistsError:
            continue  # taken: another name
        os.close(fd)
        return candidate
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def write_text(output: PathLike, text: str, inputs: Iterable[PathLike | None] = ()) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``output`` through a temporary file."""
    with atomic_path(output, inputs) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula in a CSV cell (OWASP, CSV injection)."""


def safe_cell(value: object) -> object:
    """A text cell that would start a formula gets a leading ``'``; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
