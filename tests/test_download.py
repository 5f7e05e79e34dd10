"""HTTP downloads against a local server: resume with Range, size and SHA-256 checks, clean failures."""

import hashlib
import socket

import pytest
from archive_server import FileServer

from i2i.data.download import ChecksumError, DownloadError, download

DATA = bytes(range(256)) * 400  # 102,400 bytes
SHA = hashlib.sha256(DATA).hexdigest()


def test_download_verifies_and_renames_only_when_complete(tmp_path):
    dest = tmp_path / "sub" / "file.tar.gz"
    with FileServer({"/file.tar.gz": DATA}) as server:
        digest = download(server.url + "/file.tar.gz", dest, sha256=SHA, size=len(DATA), progress=False)
    assert digest == SHA and dest.read_bytes() == DATA
    assert sorted(p.name for p in dest.parent.iterdir()) == ["file.tar.gz"]
    assert server.requests[0]["user-agent"].startswith("i2i/")


def test_interrupted_download_resumes_with_range(tmp_path):
    dest = tmp_path / "file.tar.gz"
    with FileServer({"/file.tar.gz": DATA}) as server:
        server.cut_after = 30_000
        download(server.url + "/file.tar.gz", dest, sha256=SHA, progress=False)
    first, second = server.gets("/file.tar.gz")
    assert "range" not in first and second["range"] == "bytes=30000-"
    assert server.sent == len(DATA) and dest.read_bytes() == DATA


def test_a_later_call_resumes_the_part_file(tmp_path):
    dest = tmp_path / "file.tar.gz"
    url_path = "/file.tar.gz"
    with FileServer({url_path: DATA}) as server:
        server.cut_after = 12_345
        with pytest.raises(DownloadError, match="broke off at 12345 bytes.*run again to resume"):
            download(server.url + url_path, dest, progress=False, retries=0)
        assert not dest.exists() and (tmp_path / "file.tar.gz.part").stat().st_size == 12_345
        assert download(server.url + url_path, dest, progress=False) == SHA
    assert server.gets(url_path)[1]["range"] == "bytes=12345-"
    assert server.sent == len(DATA) and not (tmp_path / "file.tar.gz.part").exists()


def test_a_server_without_range_support_restarts_from_zero(tmp_path):
    dest = tmp_path / "file.tar.gz"
    (tmp_path / "file.tar.gz.part").write_bytes(b"stale bytes from elsewhere")
    with FileServer({"/file.tar.gz": DATA}, ranges=False) as server:
        assert download(server.url + "/file.tar.gz", dest, sha256=SHA, progress=False) == SHA
    assert dest.read_bytes() == DATA


@pytest.mark.parametrize("check", [{"sha256": "0" * 64}, {"size": len(DATA) + 1}])
def test_bad_checksum_or_size_deletes_the_file_and_says_so(tmp_path, check):
    dest = tmp_path / "file.tar.gz"
    with FileServer({"/file.tar.gz": DATA}) as server:
        with pytest.raises(ChecksumError, match="deleted the download") as caught:
            download(server.url + "/file.tar.gz", dest, progress=False, **check)
    assert list(tmp_path.iterdir()) == [] and "\n" not in str(caught.value)


def test_unreachable_server_and_http_errors_are_one_line_naming_the_url(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/file.tar.gz"
    with pytest.raises(DownloadError, match=f"cannot download {closed}: ") as caught:
        download(closed, tmp_path / "file.tar.gz", progress=False)
    assert "\n" not in str(caught.value)
    with FileServer({}) as server, pytest.raises(DownloadError, match="HTTP 404"):
        download(server.url + "/missing.tar.gz", tmp_path / "missing.tar.gz", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_changed_before_the_resume_is_fetched_whole(tmp_path):
    dest = tmp_path / "file.tar.gz"
    new = bytes(reversed(DATA))
    with FileServer({"/file.tar.gz": DATA}) as server:
        server.cut_after = 20_000
        with pytest.raises(DownloadError, match="broke off"):
            download(server.url + "/file.tar.gz", dest, progress=False, retries=0)
        server.files["/file.tar.gz"] = new  # the upstream file changes in between
        download(server.url + "/file.tar.gz", dest, progress=False)
    second = server.gets("/file.tar.gz")[1]
    assert second["range"] == "bytes=20000-" and second["if-range"].startswith('"')
    assert dest.read_bytes() == new  # not the old first 20,000 bytes spliced onto the new file
    assert not (tmp_path / "file.tar.gz.part.validator").exists()
