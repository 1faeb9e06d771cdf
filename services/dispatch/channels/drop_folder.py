"""Files written to a drop folder in groups: each one atomically (a hidden temporary
file, flushed to disk, renamed over its final name, as
:func:`~services.dispatch.channels.base.write_atomically` does for one), and the folder
flushed *once* for the whole group instead of once per file.

A file's content and its name in the folder are both on disk when :func:`write_group`
returns it as written: its own fsync before the rename, the folder's fsync after the
last rename. Only then may the caller record it delivered. The fsyncs of a group's
files run side by side (``sync``: e.g. a thread pool's ``map``): the disk's journal
takes them in fewer commits than one after the other.

One file failing (its own write, fsync or rename) fails that file alone; the folder's
fsync failing fails every file of the group (their names may not be on disk), and the
files already renamed into place are taken back out (best effort): the documents go
back to the queue and are written again by a later attempt, so a file left in the
folder could be picked up now and again after that attempt. The fsync is not retried:
after a failed fsync a second one can succeed although the data was not written (the
kernel reports a writeback error once), and a document recorded delivered whose file
then vanishes is worse than one sent twice. What remains is the pick-up taking a file
in the moment between its rename and its removal (README, "E-invoices in groups").
A folder that cannot be created fails every file, and so does a close that reports a
deferred write error (NFS, quotas) its own file. A failed file leaves no temporary file
behind; its final name is untouched.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

Sync = Callable[[Callable[[int], "OSError | None"], Iterable[int]], Iterator["OSError | None"]]
"""How a group's fsyncs run: ``map``-like (``map`` itself: one after the other)."""


@dataclass(frozen=True)
class GroupFile:
    name: str
    """The final name in the folder."""
    content: bytes
    keep_existing: bool = False
    """A file of that name already there stays as it is (an earlier attempt of the
    document wrote it and died before recording it): it is not written a second time,
    only made durable with the group."""


def temporary_name(name: str) -> str:
    """The hidden name a file is written under before it is renamed (an operator's
    pick-up skips dot files)."""
    return f".{name}.{os.getpid()}.tmp"


def write_group(folder: Path, files: Sequence[GroupFile], sync: Sync = map) -> list[OSError | None]:
    """Write ``files`` into ``folder`` durably (see the module); per file, in order:
    None (written and durable) or the error that failed it. Raises nothing for the
    folder's own errors (it cannot be created, flushed): they fail every file."""
    errors: list[OSError | None] = [None] * len(files)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return [exc] * len(files)
    handles: dict[int, int] = {}  # index -> open descriptor
    kept: set[int] = set()  # files already there, not written again
    try:
        for i, f in enumerate(files):
            try:
                if f.keep_existing and (fd := _existing(folder / f.name)) is not None:
                    kept.add(i)
                    handles[i] = fd
                else:
                    handles[i] = _written(folder / temporary_name(f.name), f.content)
            except OSError as exc:
                errors[i] = exc
                _discard(folder, f)
        order = list(handles)
        for i, failed in zip(order, sync(_fsync_or_error, [handles[i] for i in order]), strict=True):
            if failed is not None:
                errors[i] = failed
    except BaseException:
        _close_all(handles, errors)
        for f in files:
            _discard(folder, f)
        raise
    _close_all(handles, errors)  # a close may report a deferred write error: that file failed
    placed: list[int] = []  # the files under their final names now
    for i, f in enumerate(files):
        if errors[i] is not None:
            _discard(folder, f)
            continue
        if i in kept:
            placed.append(i)
            continue
        try:
            os.replace(folder / temporary_name(f.name), folder / f.name)
        except OSError as exc:
            errors[i] = exc
            _discard(folder, f)
        else:
            placed.append(i)
    try:
        _fsync_folder(folder)
    except OSError as exc:
        # Not retried: after a failed fsync a second one may succeed without the names
        # being on disk (the kernel reports a writeback error once). The documents go
        # back to the queue and are written again later, so their files are taken
        # back out now rather than left for the pick-up to take twice.
        for i in placed:
            with contextlib.suppress(OSError):
                (folder / files[i].name).unlink(missing_ok=True)
        return [e or exc for e in errors]
    return errors


def _close_all(handles: dict[int, int], errors: list[OSError | None]) -> None:
    """Close every descriptor, each on its own: a failed close fails its file."""
    for i, fd in handles.items():
        try:
            _close(fd)
        except OSError as exc:
            errors[i] = errors[i] or exc
    handles.clear()


_close = os.close


def _existing(path: Path) -> int | None:
    """A descriptor of the file at ``path`` to fsync; None when there is none."""
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None


def _written(tmp: Path, content: bytes) -> int:
    """The temporary file, written with ``content`` (not yet fsynced): its descriptor."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        raise
    return fd


def _fsync_or_error(fd: int) -> OSError | None:
    try:
        os.fsync(fd)
    except OSError as exc:
        return exc
    return None


def _discard(folder: Path, f: GroupFile) -> None:
    (folder / temporary_name(f.name)).unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
