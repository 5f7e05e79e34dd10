"""Safe extraction: the public layout extracts; traversal, absolute paths, links and devices are refused."""

import io
import tarfile
import zipfile

import pytest
from archive_server import pairs_archive, split_pairs
from bad_inputs import sparse_tar, tar_bomb, zip_bomb

from i2i.data.archive import (MAX_BYTES_ENV, MAX_RATIO_ENV, ArchiveTooLargeError, UnsafeArchiveError, extract,
                         find_split_root)
from i2i.core.errors import ConfigError, DataError


def tar_with(path, *members):
    """A tar.gz holding a good file, then ``members`` given as (TarInfo, data or None)."""
    with tarfile.open(path, "w:gz") as tar:
        good = tarfile.TarInfo("facades/train/1.jpg")
        good.size = 3
        tar.addfile(good, io.BytesIO(b"abc"))
        for info, data in members:
            info.size = len(data or b"")
            tar.addfile(info, io.BytesIO(data) if data else None)
    return path


def member(name, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


def test_public_layout_extracts_and_the_split_root_is_found(tmp_path):
    archive = tmp_path / "facades.tar.gz"
    archive.write_bytes(pairs_archive("facades", split_pairs()))
    out = extract(archive, tmp_path / "out")
    assert sorted(p.name for p in (out / "facades" / "train").iterdir()) == ["1.jpg", "2.jpg", "3.jpg"]
    assert find_split_root(out, ("train", "val", "test")) == out / "facades"
    with pytest.raises(DataError, match="no train/, val/, test/ folder"):
        find_split_root(out / "facades" / "train", ("train", "val", "test"))


def test_zip_extracts(tmp_path):
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("set/val/1.jpg", b"abc")
    assert (extract(archive, tmp_path / "out") / "set" / "val" / "1.jpg").read_bytes() == b"abc"


@pytest.mark.parametrize("bad, reason", [
    (member("../evil"), "points outside"),
    (member("facades/../../evil"), "points outside"),
    (member("ABSOLUTE"), "points outside"),
    (member("facades/link", tarfile.SYMTYPE, "../../evil"), "is a link"),
    (member("facades/hard", tarfile.LNKTYPE, "/etc/passwd"), "is a link"),
    (member("facades/fifo", tarfile.FIFOTYPE), "is a fifo"),
    (member("facades/dev", tarfile.CHRTYPE), "is a device"),
])
def test_unsafe_tar_members_are_refused_and_nothing_lands_outside(tmp_path, bad, reason):
    if bad.name == "ABSOLUTE":
        bad.name = str(tmp_path / "evil")
    archive = tar_with(tmp_path / "bad.tar.gz", (bad, b"pwned" if bad.isreg() else None))
    target = tmp_path / "deep" / "out"
    with pytest.raises(UnsafeArchiveError, match=reason):
        extract(archive, target)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["bad.tar.gz", "deep"]


@pytest.mark.parametrize("name", ["../evil", "/evil", "C:/evil"])
def test_unsafe_zip_paths_are_refused(tmp_path, name):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(name, b"pwned")
    with pytest.raises(UnsafeArchiveError, match="points outside"):
        extract(archive, tmp_path / "out")
    assert [p.name for p in tmp_path.iterdir()] == ["bad.zip"]


def test_zip_symlinks_are_refused(tmp_path):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        link = zipfile.ZipInfo("set/link")
        link.external_attr = 0o120777 << 16
        zipped.writestr(link, "../../evil")
    with pytest.raises(UnsafeArchiveError, match="not a regular file"):
        extract(archive, tmp_path / "out")


def test_not_an_archive_and_a_truncated_one_are_data_errors(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive at all")
    with pytest.raises(DataError, match="not a tar or zip archive"):
        extract(junk, tmp_path / "a")
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(pairs_archive("facades", split_pairs())[:-200])
    with pytest.raises(DataError, match="cannot extract"):
        extract(truncated, tmp_path / "b")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("make", [tar_bomb, zip_bomb])
def test_bombs_are_refused_by_total_and_by_ratio_before_filling_the_disk(tmp_path, monkeypatch, make):
    archive = make(tmp_path / f"bomb.{make.__name__}", 8 << 20, members=3)  # 24 MB of zeros in ~25 KB
    with pytest.raises(ArchiveTooLargeError, match=f"100 times the archive's size.*{MAX_RATIO_ENV}"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    monkeypatch.setenv(MAX_RATIO_ENV, "1e6")
    monkeypatch.setenv(MAX_BYTES_ENV, str(20 << 20))
    with pytest.raises(ArchiveTooLargeError, match="25,165,824 bytes, more than the limit of 20,971,520 bytes"):
        extract(archive, tmp_path / "out")
    monkeypatch.setenv(MAX_BYTES_ENV, "1e9")
    assert len(list((extract(archive, tmp_path / "out") / "set" / "train").iterdir())) == 3
    monkeypatch.setenv(MAX_BYTES_ENV, "many")
    with pytest.raises(ConfigError, match=MAX_BYTES_ENV):
        extract(archive, tmp_path / "again")


def test_a_gnu_sparse_member_is_refused(tmp_path):
    archive = sparse_tar(tmp_path / "sparse.tar", apparent_size=10 * 2**30)
    with pytest.raises(UnsafeArchiveError, match="sparse file"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
