"""Drop-folder files written in groups (``channels/drop_folder.py``): each file whole
under its final name or not at all, one failing file fails alone, a file an earlier
attempt wrote is not written again, and every file goes through the group's fsync."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from services.dispatch.channels import drop_folder
from services.dispatch.channels.drop_folder import GroupFile, temporary_name, write_group


def files(n: int) -> list[GroupFile]:
    return [GroupFile(f"finvoice-{k}.xml", f"<Finvoice n='{k}'/>".encode() * (k + 1)) for k in range(n)]


def test_a_group_is_written_whole_under_the_final_names_without_temporary_files(tmp_path: Path) -> None:
    group = files(5)
    assert write_group(tmp_path, group) == [None] * 5
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f.name for f in group)
    for f in group:
        assert (tmp_path / f.name).read_bytes() == f.content


def test_one_file_that_cannot_be_renamed_fails_alone_and_leaves_nothing_behind(tmp_path: Path) -> None:
    group = files(4)
    (tmp_path / group[2].name).mkdir()  # its final name is taken by a folder: the rename fails
    errors = write_group(tmp_path, group)
    assert [e is None for e in errors] == [True, True, False, True]
    assert isinstance(errors[2], OSError)
    assert (tmp_path / group[2].name).is_dir()  # untouched
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # its temporary file is gone
    for k in (0, 1, 3):
        assert (tmp_path / group[k].name).read_bytes() == group[k].content


def test_a_file_whose_fsync_fails_is_not_renamed_into_place(tmp_path: Path) -> None:
    group = files(3)
    seen: list[int] = []

    def failing_second(fsync: Callable[[int], OSError | None], fds: Iterable[int]) -> Iterator[OSError | None]:
        for k, fd in enumerate(fds):
            seen.append(fd)
            yield OSError(5, "I/O error") if k == 1 else fsync(fd)

    errors = write_group(tmp_path, group, failing_second)
    assert len(seen) == 3  # every file of the group goes through the group's fsyncs
    assert [e is None for e in errors] == [True, False, True]
    assert not (tmp_path / group[1].name).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([group[0].name, group[2].name])


def test_when_the_folder_cannot_be_flushed_no_file_of_the_group_counts_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(folder: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(drop_folder, "_fsync_folder", broken)
    errors = write_group(tmp_path, files(3))
    assert all(isinstance(e, OSError) for e in errors)


def test_a_file_an_earlier_attempt_wrote_is_kept_and_still_synced(tmp_path: Path) -> None:
    there = tmp_path / "finvoice-0.xml"
    there.write_bytes(b"written by the attempt that died")
    inode = there.stat().st_ino
    synced: list[int] = []

    def recording(fsync: Callable[[int], OSError | None], fds: Iterable[int]) -> Iterator[OSError | None]:
        for fd in fds:
            synced.append(os.fstat(fd).st_ino)
            yield fsync(fd)

    group = [
        GroupFile("finvoice-0.xml", b"<new/>", keep_existing=True),
        GroupFile("finvoice-1.xml", b"<one/>", keep_existing=True),  # resumed, but not there: written
    ]
    assert write_group(tmp_path, group, recording) == [None, None]
    assert there.read_bytes() == b"written by the attempt that died"
    assert there.stat().st_ino == inode  # not replaced
    assert inode in synced  # made durable with the group all the same
    assert (tmp_path / "finvoice-1.xml").read_bytes() == b"<one/>"


def test_without_keep_existing_a_file_replaces_itself(tmp_path: Path) -> None:
    (tmp_path / "finvoice-0.xml").write_bytes(b"old")
    assert write_group(tmp_path, [GroupFile("finvoice-0.xml", b"new")]) == [None]
    assert (tmp_path / "finvoice-0.xml").read_bytes() == b"new"
    assert not (tmp_path / temporary_name("finvoice-0.xml")).exists()


def test_when_the_folder_cannot_be_flushed_the_groups_files_are_taken_back_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reported failed, the documents go back to the queue and are written again later:
    their files must not wait in the folder meanwhile for the pick-up to take twice."""
    (tmp_path / "finvoice-0.xml").write_bytes(b"an earlier attempt's")  # kept, then taken out too
    calls: list[Path] = []

    def broken(folder: Path) -> None:
        calls.append(folder)
        raise OSError(5, "I/O error")

    monkeypatch.setattr(drop_folder, "_fsync_folder", broken)
    group = [GroupFile("finvoice-0.xml", b"<0/>", keep_existing=True), *files(3)[1:]]
    errors = write_group(tmp_path, group)
    assert all(isinstance(e, OSError) for e in errors)
    assert list(tmp_path.iterdir()) == []  # no final name, no temporary file
    assert calls and calls[0] == tmp_path


def test_a_folder_that_cannot_be_created_fails_every_file_and_raises_nothing(tmp_path: Path) -> None:
    (tmp_path / "taken").write_bytes(b"a file where the folder should be")
    errors = write_group(tmp_path / "taken" / "drop", files(3))
    assert len(errors) == 3 and all(isinstance(e, OSError) for e in errors)


def test_a_close_that_reports_a_deferred_write_error_fails_that_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = files(4)
    closed: list[int] = []
    real_close = os.close

    def close(fd: int) -> None:
        real_close(fd)  # the descriptor is released all the same (as the kernel does)
        closed.append(fd)
        if len(closed) == 2:
            raise OSError(122, "Disk quota exceeded")

    before = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(drop_folder, "_close", close)
    errors = write_group(tmp_path, group)
    monkeypatch.undo()
    assert [e is None for e in errors] == [True, False, True, True]
    assert isinstance(errors[1], OSError)
    assert len(closed) == 4  # every descriptor closed despite the error
    assert len(os.listdir("/proc/self/fd")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(group[k].name for k in (0, 2, 3))
